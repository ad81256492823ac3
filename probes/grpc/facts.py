"""The fact names of the gRPC family and what its gatherers and checks both read of their values."""

from __future__ import annotations

# The endpoint gatherer (probes.grpc.gather).
EXPECTED = "grpc.expected"  # what the inventory says about the endpoint
TRANSPORT = "grpc.transport"
HEALTH_OVERALL = "grpc.health.overall"
HEALTH_SERVICES = "grpc.health.services"
HEALTH_WATCH = "grpc.health.watch"
HEALTH_LIST = "grpc.health.list"
LATENCY = "grpc.health.latency"
REFLECTION = "grpc.reflection"
DESCRIPTORS = "grpc.reflection.descriptors"
UNKNOWN_METHOD = "grpc.unimplemented.method"
UNKNOWN_SERVICE = "grpc.unimplemented.service"
IDENTITY = "grpc.identity"

# The interop gatherer (probes.grpc.interop.gather): whether grpc.testing.TestService
# is served, then one fact per case, named by ``interop_case``.
INTEROP_SERVED = "grpc.interop.test_service_served"


def interop_case(name: str) -> str:
    return f"grpc.interop.{name}"


# Reflection APIs in the order the probe asks for them (v1alpha is deprecated).
REFLECTION_APIS_PREFERRED = ("v1", "v1alpha")
SUMMARY_SERVICES = 64  # service names shown in evidence and summaries


def outcome_text(outcome: dict[str, str]) -> str:
    """A health answer in one word: the serving status, the status code, or the error."""
    return outcome.get("status") or outcome.get("code") or f"error: {outcome.get('error', '?')}"

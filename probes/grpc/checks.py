"""The checks of the gRPC endpoint over what ``probes.grpc.gather`` observes.

Each check is a pure function of the facts (named in ``probes.grpc.facts``)
and of its parameters.
"""

from __future__ import annotations

from typing import Any

from probes import registry
from probes.errors import MissingExpectation, NotApplicable
from probes.facts import Facts
from probes.grpc.facts import (
    DESCRIPTORS,
    EXPECTED,
    HEALTH_LIST,
    HEALTH_OVERALL,
    HEALTH_SERVICES,
    HEALTH_WATCH,
    IDENTITY,
    LATENCY,
    REFLECTION,
    REFLECTION_APIS_PREFERRED,
    SUMMARY_SERVICES,
    TRANSPORT,
    UNKNOWN_METHOD,
    UNKNOWN_SERVICE,
    outcome_text,
)
from probes.model import Status, Verdict

check = registry.family("grpc")

HEALTH_DOC = "https://github.com/grpc/grpc/blob/master/doc/health-checking.md"
REFLECTION_DOC = "https://github.com/grpc/grpc/blob/master/doc/server-reflection.md"
STATUS_DOC = "https://github.com/grpc/grpc/blob/master/doc/statuscodes.md"
IDENTITY_DOC = "protos/spbe/interop/v1/service_info.proto"
SPBE_REGULATION = "Peraturan Presiden No. 95 Tahun 2018 tentang Sistem Pemerintahan Berbasis Elektronik"

# What a status answer means for each health call: knowledge as data.
HEALTH_REFUSALS = {
    "UNIMPLEMENTED": "the server has no grpc.health.v1.Health service",
    "NOT_FOUND": "the service is not registered with the health service",
    # The server, or a proxy in front of it (nginx's 502 when the backend is
    # down), says the service cannot take calls: it is not serving.
    "UNAVAILABLE": "the service is not serving",
}


def _health_verdict(outcome: dict[str, str], subject: str) -> Verdict:
    evidence = registry.evidence(outcome_text(outcome), "SERVING")
    if outcome.get("status") == "SERVING":
        return Verdict(Status.PASS, f"{subject} is SERVING", evidence)
    if "status" in outcome:
        return Verdict(Status.FAIL, f"{subject} is {outcome['status']}", evidence)
    explained = [HEALTH_REFUSALS.get(outcome["code"]), outcome.get("details")]
    meaning = ": ".join(part for part in explained if part) or "no further detail"
    return Verdict(Status.FAIL, f"{subject}: answered {outcome['code']} ({meaning})", evidence)


@check(
    "GRPC-HLTH-001",
    title="Health service reports the server as SERVING",
    category="health",
    severity="high",
    rationale="Load balancers, orchestrators and the national operator decide whether to route to an "
    "endpoint from grpc.health.v1.Health; without it, or with NOT_SERVING, the endpoint is either "
    "invisible to them or out of service.",
    remediation="Register grpc.health.v1.Health (grpcio-health-checking, grpc-go health, …) and set the "
    "status of the empty service name \"\" to SERVING once the application is ready.",
    references=(HEALTH_DOC,),
    facts=(HEALTH_OVERALL,),
)
def check_server_health(facts: Facts, params: dict[str, Any]) -> Verdict:
    return _health_verdict(facts[HEALTH_OVERALL], 'health of the server ("")')


@check(
    "GRPC-HLTH-002",
    title="Every declared service reports SERVING",
    category="health",
    severity="high",
    rationale="Each service the inventory lists for the endpoint is what other agencies call; its own "
    "health status tells whether it, not just the process, is ready.",
    remediation="Set a health status for every service the application serves (health.set(name, SERVING)) "
    "and keep it current.",
    references=(HEALTH_DOC,),
    facts=(EXPECTED, HEALTH_SERVICES),
)
def check_declared_health(facts: Facts, params: dict[str, Any]) -> Verdict:
    outcomes: dict[str, dict[str, str]] = facts[HEALTH_SERVICES]
    observed = {service: outcome_text(outcome) for service, outcome in outcomes.items()}
    evidence = registry.evidence(observed, "SERVING")
    failing = {s: t for s, t in observed.items() if t != "SERVING" and "error" not in outcomes[s]}
    undetermined = {s: outcomes[s]["error"] for s in outcomes if "error" in outcomes[s]}
    if failing:
        listed = ", ".join(f"{service} ({text})" for service, text in failing.items())
        return Verdict(Status.FAIL, f"not SERVING: {listed}", evidence)
    if undetermined:
        listed = ", ".join(f"{service}: {reason}" for service, reason in undetermined.items())
        return Verdict(Status.ERROR, f"no health answer for {listed}", evidence)
    return Verdict(Status.PASS, f"all {len(outcomes)} declared services are SERVING", evidence)


@check(
    "GRPC-HLTH-003",
    title="Health Watch streams the current status",
    category="health",
    severity="medium",
    rationale="Client-side health checking in gRPC and many proxies use Watch, not Check; a server "
    "without it is treated as unhealthy or never re-admitted.",
    remediation="Use a health implementation that provides Watch (every reference implementation does) "
    "and make sure the empty service name is SERVING.",
    references=(HEALTH_DOC,),
    facts=(HEALTH_WATCH,),
)
def check_watch(facts: Facts, params: dict[str, Any]) -> Verdict:
    return _health_verdict(facts[HEALTH_WATCH], 'first Watch message for ""')


@check(
    "GRPC-HLTH-004",
    title="Health List, where implemented, shows the declared services SERVING",
    category="health",
    severity="low",
    rationale="List (added to the health protocol in 2024) gives operators every status at once; when a "
    "server offers it, it must agree with Check.",
    remediation="Keep List consistent with Check: every served service present with SERVING.",
    references=(HEALTH_DOC,),
    facts=(EXPECTED, HEALTH_LIST),
)
def check_list(facts: Facts, params: dict[str, Any]) -> Verdict:
    answer = facts[HEALTH_LIST]
    if answer.get("code") == "UNIMPLEMENTED":
        raise NotApplicable("Health.List is not implemented (it is optional)")
    if "code" in answer:
        return Verdict(
            Status.FAIL, f"Health.List answered {answer['code']}",
            registry.evidence(answer, "a list of statuses"),
        )
    statuses: dict[str, str] = answer["statuses"]
    declared = facts[EXPECTED]["services"]
    missing = [service for service in declared if service not in statuses]
    not_serving = {name: status for name, status in statuses.items() if status != "SERVING"}
    evidence = registry.evidence(statuses, {"SERVING": declared or "every listed service"})
    if missing or not_serving:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"not SERVING: {', '.join(f'{n or chr(34) * 2} ({s})' for n, s in not_serving.items())}"]
            if not_serving else []
        )
        return Verdict(Status.FAIL, "Health.List " + "; ".join(parts), evidence)
    return Verdict(Status.PASS, f"Health.List shows {answer['count']} statuses, all SERVING", evidence)


@check(
    "GRPC-REFL-001",
    title="Server reflection is available",
    category="reflection",
    severity="medium",
    rationale="Reflection lets the operator and the consuming agencies discover the services and their "
    "schemas (grpcurl, Postman, gateways) without shipping .proto files around.",
    remediation="Enable server reflection (grpc.reflection.v1, or v1alpha in grpcio-reflection) on the "
    "endpoint, listing every served service.",
    references=(REFLECTION_DOC,),
    facts=(REFLECTION,),
)
def check_reflection(facts: Facts, params: dict[str, Any]) -> Verdict:
    reflection = facts[REFLECTION]
    if reflection["api"] is None:
        tried = ", ".join(f"{api}: {answer['code']}" for api, answer in reflection["attempts"].items())
        return Verdict(
            Status.FAIL, f"no server reflection ({tried})",
            registry.evidence(reflection["attempts"], list(REFLECTION_APIS_PREFERRED)),
        )
    return Verdict(
        Status.PASS,
        f"reflection {reflection['api']} lists {reflection['count']} services",
        registry.evidence(reflection["api"], services=reflection["services"][:SUMMARY_SERVICES]),
    )


def _reflection_available(facts: Facts) -> dict[str, Any]:
    reflection = facts[REFLECTION]
    if reflection["api"] is None:
        raise NotApplicable("the server offers no reflection (see GRPC-REFL-001)")
    return reflection


@check(
    "GRPC-REFL-002",
    title="Reflection lists every declared service",
    category="reflection",
    severity="medium",
    rationale="A declared service missing from reflection is either not served on this endpoint or "
    "hidden from discovery; both break consumers that rely on the inventory.",
    remediation="Serve the declared services on this endpoint and include them in the service names "
    "given to reflection; or correct the inventory.",
    references=(REFLECTION_DOC,),
    facts=(EXPECTED, REFLECTION),
)
def check_reflection_lists_declared(facts: Facts, params: dict[str, Any]) -> Verdict:
    declared = facts[EXPECTED]["services"]
    if not declared:
        raise MissingExpectation("services")
    listed = set(_reflection_available(facts)["services"])
    missing = [service for service in declared if service not in listed]
    evidence = registry.evidence(sorted(listed)[:SUMMARY_SERVICES], declared, missing=missing)
    if missing:
        return Verdict(Status.FAIL, f"not listed by reflection: {', '.join(missing)}", evidence)
    return Verdict(Status.PASS, f"all {len(declared)} declared services are listed", evidence)


@check(
    "GRPC-REFL-003",
    title="Reflection resolves a descriptor for each service",
    category="reflection",
    severity="medium",
    rationale="A listed service whose file descriptor cannot be fetched cannot be called by generic "
    "clients or gateways: discovery stops at the name.",
    remediation="Register the generated descriptors of every served service in the descriptor pool the "
    "reflection service reads (import the *_pb2 modules / link the descriptors).",
    references=(REFLECTION_DOC,),
    facts=(REFLECTION, DESCRIPTORS),
)
def check_descriptors(facts: Facts, params: dict[str, Any]) -> Verdict:
    _reflection_available(facts)
    descriptors = facts[DESCRIPTORS]
    services: dict[str, dict[str, Any]] = descriptors["services"]
    unresolved = {name: result["reason"] for name, result in services.items() if not result["resolved"]}
    evidence = registry.evidence(
        {name: result.get("file") or result["reason"] for name, result in services.items()},
        "a FileDescriptorProto defining each service",
        unchecked=descriptors["unchecked"],
    )
    if unresolved:
        listed = "; ".join(f"{name}: {reason}" for name, reason in unresolved.items())
        return Verdict(Status.FAIL, f"no usable descriptor for {listed}", evidence)
    if not services:
        # Reflection answered with an empty list and the inventory declares nothing: a definite
        # answer that leaves nothing to resolve (GRPC-REFL-001 reports the list itself).
        raise NotApplicable("reflection lists no service and none is declared for this endpoint")
    return Verdict(Status.PASS, f"descriptors resolved for {len(services)} services", evidence)


@check(
    "GRPC-REFL-004",
    title="Reflection offers the stable v1 API",
    category="reflection",
    severity="info",
    rationale="grpc.reflection.v1alpha is deprecated; current clients ask for v1 first and some no "
    "longer fall back.",
    remediation="Serve grpc.reflection.v1 (alongside v1alpha for older clients).",
    references=(REFLECTION_DOC,),
    facts=(REFLECTION,),
)
def check_reflection_v1(facts: Facts, params: dict[str, Any]) -> Verdict:
    reflection = _reflection_available(facts)
    evidence = registry.evidence(reflection["api"], "v1")
    if reflection["api"] == "v1":
        return Verdict(Status.PASS, "reflection v1 is served", evidence)
    return Verdict(Status.WARN, f"only the deprecated reflection {reflection['api']} is served", evidence)


def _unimplemented_verdict(answer: dict[str, str], subject: str) -> Verdict:
    evidence = registry.evidence(answer["code"], "UNIMPLEMENTED", path=answer["path"])
    if answer["code"] == "UNIMPLEMENTED":
        return Verdict(Status.PASS, f"{subject} answered UNIMPLEMENTED", evidence)
    detail = f" ({answer['details']})" if answer.get("details") else ""
    return Verdict(Status.FAIL, f"{subject} answered {answer['code']}{detail}", evidence)


@check(
    "GRPC-UNIM-001",
    title="An unknown method on a served service returns UNIMPLEMENTED",
    category="protocol",
    severity="medium",
    rationale="Clients detect version skew by UNIMPLEMENTED; a server that answers OK, INTERNAL or "
    "hangs on a method it does not have misleads them into retrying or accepting garbage.",
    remediation="Let the gRPC framework answer unknown methods (do not install catch-all handlers that "
    "answer every path).",
    references=(STATUS_DOC,),
    facts=(UNKNOWN_METHOD,),
)
def check_unknown_method(facts: Facts, params: dict[str, Any]) -> Verdict:
    return _unimplemented_verdict(facts[UNKNOWN_METHOD], "an unknown method")


@check(
    "GRPC-UNIM-002",
    title="An unknown service returns UNIMPLEMENTED",
    category="protocol",
    severity="medium",
    rationale="A call to a service the endpoint does not serve must fail cleanly with UNIMPLEMENTED so "
    "that misrouted calls are visible.",
    remediation="Do not route unknown services to a default handler; let the framework answer "
    "UNIMPLEMENTED.",
    references=(STATUS_DOC,),
    facts=(UNKNOWN_SERVICE,),
)
def check_unknown_service(facts: Facts, params: dict[str, Any]) -> Verdict:
    return _unimplemented_verdict(facts[UNKNOWN_SERVICE], "an unknown service")


IDENTITY_REQUIRED = ("agency_code", "application_id")
IDENTITY_EXPECTED = ("service_version", "contact")


@check(
    "GRPC-IDEN-001",
    title="The SPBE ServiceInfo identity contract is implemented",
    category="identity",
    severity="high",
    rationale="Under the SPBE baseline every registered gRPC endpoint says which agency and application "
    "it is (spbe.interop.v1.ServiceInfo/Describe), so misregistrations and orphaned servers are found.",
    remediation="Serve spbe.interop.v1.ServiceInfo (protos/spbe/interop/v1/service_info.proto) with the "
    "inventory's agency code and application id, the deployed version and a contact address.",
    references=(IDENTITY_DOC, SPBE_REGULATION),
    facts=(IDENTITY,),
)
def check_identity_present(facts: Facts, params: dict[str, Any]) -> Verdict:
    identity = facts[IDENTITY]
    if not identity["implemented"]:
        return Verdict(
            Status.FAIL, f"ServiceInfo.Describe answered {identity['code']}",
            registry.evidence(identity["code"], "a DescribeResponse"),
        )
    fields = {name: identity[name] for name in (*IDENTITY_REQUIRED, *IDENTITY_EXPECTED)}
    evidence = registry.evidence(fields, "non-empty " + ", ".join(fields))
    empty_required = [name for name in IDENTITY_REQUIRED if not identity[name].strip()]
    empty_expected = [name for name in IDENTITY_EXPECTED if not identity[name].strip()]
    if empty_required:
        return Verdict(Status.FAIL, f"Describe leaves {', '.join(empty_required)} empty", evidence)
    if empty_expected:
        return Verdict(Status.WARN, f"Describe leaves {', '.join(empty_expected)} empty", evidence)
    return Verdict(
        Status.PASS, f"Describe: agency {identity['agency_code']}, application {identity['application_id']}",
        evidence,
    )


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


@check(
    "GRPC-IDEN-002",
    title="The endpoint is the agency and application the inventory registers",
    category="identity",
    severity="high",
    rationale="An endpoint that identifies as another agency or application is misregistered: results, "
    "metrics and remediation would go to the wrong owner, and consumers may be talking to the wrong system.",
    remediation="Correct the inventory entry, or the endpoint's ServiceInfo answer, so both name the same "
    "agency code and application id.",
    references=(IDENTITY_DOC, SPBE_REGULATION),
    facts=(EXPECTED, IDENTITY),
)
def check_identity_matches(facts: Facts, params: dict[str, Any]) -> Verdict:
    expected = facts[EXPECTED]
    wanted = {
        field: value
        for field, value in (("agency_code", expected["agency"]), ("application_id", expected["application"]))
        if value
    }
    if not wanted:
        raise MissingExpectation("identity")
    identity = facts[IDENTITY]
    if not identity["implemented"]:
        return Verdict(
            Status.FAIL,
            f"cannot confirm the endpoint's identity: ServiceInfo.Describe answered {identity['code']}",
            registry.evidence(identity["code"], wanted),
        )
    observed = {field: identity[field] for field in wanted}
    evidence = registry.evidence(observed, wanted)
    mismatched = [field for field, value in wanted.items() if not _same(observed[field], value)]
    if mismatched:
        listed = ", ".join(f"{f} {observed[f]!r} (expected {wanted[f]!r})" for f in mismatched)
        return Verdict(Status.FAIL, f"misregistered endpoint: {listed}", evidence)
    return Verdict(Status.PASS, "identity matches the expected agency and application", evidence)


@check(
    "GRPC-IDEN-003",
    title="ServiceInfo declares the services the inventory lists",
    category="identity",
    severity="low",
    rationale="The inventory and the endpoint's own declaration drift apart when services are added or "
    "retired; the difference tells which one to update.",
    remediation="List every served service in DescribeResponse.declared_services, or update the inventory.",
    references=(IDENTITY_DOC,),
    facts=(EXPECTED, IDENTITY),
)
def check_identity_services(facts: Facts, params: dict[str, Any]) -> Verdict:
    declared = facts[EXPECTED]["services"]
    if not declared:
        raise MissingExpectation("services")
    identity = facts[IDENTITY]
    if not identity["implemented"]:
        raise NotApplicable("the endpoint does not implement ServiceInfo (see GRPC-IDEN-001)")
    missing = [service for service in declared if service not in identity["declared_services"]]
    evidence = registry.evidence(identity["declared_services"], declared, missing=missing)
    if missing:
        return Verdict(Status.WARN, f"not declared by the endpoint: {', '.join(missing)}", evidence)
    return Verdict(Status.PASS, "the endpoint declares every expected service", evidence)


@check(
    "GRPC-LAT-001",
    title="Health check latency is within the threshold",
    category="performance",
    severity="low",
    rationale="A health check is the cheapest call a server answers; when it is slow, every call to the "
    "endpoint is, and callers' deadlines start to expire.",
    remediation="Look at the server's load and the network path (regional links, gateways); keep health "
    "handlers free of blocking work.",
    references=(HEALTH_DOC,),
    facts=(LATENCY,),
    params={"threshold_ms": 500},
)
def check_latency(facts: Facts, params: dict[str, Any]) -> Verdict:
    latency = facts[LATENCY]
    threshold = float(params.get("threshold_ms", 500))
    evidence = registry.evidence(
        latency["median_ms"],
        f"<= {threshold:g} ms",
        samples_ms=latency["samples_ms"],
        answer=latency["answer"],
    )
    if latency["median_ms"] > threshold:
        reason = f"median health check round trip {latency['median_ms']:g} ms > {threshold:g} ms"
        return Verdict(Status.WARN, reason, evidence)
    return Verdict(Status.PASS, f"median health check round trip {latency['median_ms']:g} ms", evidence)


@check(
    "GRPC-TLS-001",
    title="gRPC traffic is carried over verified TLS",
    category="transport",
    severity="high",
    rationale="Data exchanged between government systems crosses networks the agencies do not control; "
    "plaintext gRPC exposes it and lets anyone on the path alter it.",
    remediation="Serve gRPC over TLS (1.2 or later) with a certificate for the registered name and "
    "register the endpoint as grpcs:// in the inventory.",
    references=("NIST SP 800-52 Rev. 2", SPBE_REGULATION),
    facts=(TRANSPORT,),
)
def check_transport(facts: Facts, params: dict[str, Any]) -> Verdict:
    transport = facts[TRANSPORT]
    if transport["tls"]:
        evidence = registry.evidence("verified tls", "verified tls")
        return Verdict(Status.PASS, "gRPC channel established over TLS with a verified certificate", evidence)
    if "failure" in transport:
        evidence = registry.evidence(transport["failure"], "verified tls")
        return Verdict(Status.FAIL, f"no verified TLS channel: {transport['failure']}", evidence)
    evidence = registry.evidence("plaintext", "verified tls")
    return Verdict(Status.FAIL, "the endpoint is reached over plaintext gRPC", evidence)

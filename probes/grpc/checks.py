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
from probes.messages import Message
from probes.model import Status, Verdict

check = registry.family("grpc")

HEALTH_DOC = "https://github.com/grpc/grpc/blob/master/doc/health-checking.md"
REFLECTION_DOC = "https://github.com/grpc/grpc/blob/master/doc/server-reflection.md"
STATUS_DOC = "https://github.com/grpc/grpc/blob/master/doc/statuscodes.md"
IDENTITY_DOC = "protos/spbe/interop/v1/service_info.proto"
SPBE_REGULATION = "Peraturan Presiden No. 95 Tahun 2018 tentang Sistem Pemerintahan Berbasis Elektronik"

# What a status answer means for each health call (a phrase of probes.messages): knowledge as data.
HEALTH_REFUSALS = {
    "UNIMPLEMENTED": "grpc.refusal.no_health",
    "NOT_FOUND": "grpc.refusal.not_registered",
    # The server, or a proxy in front of it (nginx's 502 when the backend is down), says
    # the service cannot take calls: it is not serving.
    "UNAVAILABLE": "grpc.refusal.not_serving",
}
# (services missing, services not SERVING) in a Health.List answer -> its reason's frame.
LIST_FRAMES = {
    (True, False): "grpc.list_missing",
    (False, True): "grpc.list_not_serving",
    (True, True): "grpc.list_missing_not_serving",
}


def _health_verdict(outcome: dict[str, str], subject: Message) -> Verdict:
    evidence = registry.evidence(outcome_text(outcome), "SERVING")
    if "status" in outcome:
        status = Status.PASS if outcome["status"] == "SERVING" else Status.FAIL
        return Verdict.of(status, evidence, "grpc.status_is", subject=subject, status=outcome["status"])
    refusal, details = HEALTH_REFUSALS.get(outcome["code"]), outcome.get("details")
    meaning: Message | str
    if refusal and details:
        meaning = Message("grpc.refusal_detail", {"refusal": Message(refusal), "detail": details})
    else:
        meaning = Message(refusal) if refusal else details or Message("grpc.no_detail")
    return Verdict.of(
        Status.FAIL,
        evidence,
        "grpc.health_answered",
        subject=subject,
        code=outcome["code"],
        meaning=meaning,
    )


@check(
    "GRPC-HLTH-001",
    title="Health service reports the server as SERVING",
    category="health",
    severity="high",
    rationale="Load balancers, orchestrators and the national operator decide whether to route to an "
    "endpoint from grpc.health.v1.Health; without it, or with NOT_SERVING, the endpoint is either "
    "invisible to them or out of service.",
    remediation="Register grpc.health.v1.Health (grpcio-health-checking, grpc-go health, …) and set the "
    'status of the empty service name "" to SERVING once the application is ready.',
    references=(HEALTH_DOC,),
    facts=(HEALTH_OVERALL,),
)
def check_server_health(facts: Facts, params: dict[str, Any]) -> Verdict:
    return _health_verdict(facts[HEALTH_OVERALL], Message("grpc.subject.server_health"))


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
        listed = [f"{service} ({text})" for service, text in failing.items()]
        return Verdict.of(Status.FAIL, evidence, "grpc.not_serving", services=listed)
    if undetermined:
        reasons = ", ".join(f"{service}: {reason}" for service, reason in undetermined.items())
        return Verdict(Status.ERROR, f"no health answer for {reasons}", evidence)
    return Verdict.of(Status.PASS, evidence, "grpc.all_serving", count=len(outcomes))


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
    return _health_verdict(facts[HEALTH_WATCH], Message("grpc.subject.first_watch"))


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
        raise NotApplicable(message=Message("grpc.list_unimplemented"))
    if "code" in answer:
        evidence = registry.evidence(answer, "a list of statuses")
        return Verdict.of(Status.FAIL, evidence, "grpc.answered", subject="Health.List", code=answer["code"])
    statuses: dict[str, str] = answer["statuses"]
    declared = facts[EXPECTED]["services"]
    missing = [service for service in declared if service not in statuses]
    not_serving = {name: status for name, status in statuses.items() if status != "SERVING"}
    evidence = registry.evidence(statuses, {"SERVING": declared or "every listed service"})
    if missing or not_serving:
        entries = [f"{name or chr(34) * 2} ({status})" for name, status in not_serving.items()]
        frame = LIST_FRAMES[bool(missing), bool(not_serving)]
        return Verdict.of(Status.FAIL, evidence, frame, services=missing, entries=entries)
    return Verdict.of(Status.PASS, evidence, "grpc.list_all_serving", count=answer["count"])


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
        tried = [f"{api}: {answer['code']}" for api, answer in reflection["attempts"].items()]
        evidence = registry.evidence(reflection["attempts"], list(REFLECTION_APIS_PREFERRED))
        return Verdict.of(Status.FAIL, evidence, "grpc.no_reflection", tried=tried)
    evidence = registry.evidence(reflection["api"], services=reflection["services"][:SUMMARY_SERVICES])
    return Verdict.of(
        Status.PASS,
        evidence,
        "grpc.reflection_lists",
        api=reflection["api"],
        count=reflection["count"],
    )


def _reflection_available(facts: Facts) -> dict[str, Any]:
    reflection: dict[str, Any] = facts[REFLECTION]
    if reflection["api"] is None:
        raise NotApplicable(message=Message("grpc.reflection_absent"))
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
        return Verdict.of(Status.FAIL, evidence, "grpc.not_listed", services=missing)
    return Verdict.of(Status.PASS, evidence, "grpc.all_listed", count=len(declared))


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
        raise NotApplicable(message=Message("grpc.nothing_to_resolve"))
    return Verdict.of(Status.PASS, evidence, "grpc.descriptors_resolved", count=len(services))


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
        return Verdict.of(Status.PASS, evidence, "grpc.reflection_v1")
    return Verdict.of(Status.WARN, evidence, "grpc.reflection_deprecated", api=reflection["api"])


def _unimplemented_verdict(answer: dict[str, str], subject: Message) -> Verdict:
    evidence = registry.evidence(answer["code"], "UNIMPLEMENTED", path=answer["path"])
    code = answer["code"]
    if code == "UNIMPLEMENTED":
        return Verdict.of(Status.PASS, evidence, "grpc.answered", subject=subject, code=code)
    if answer.get("details"):
        said = {"subject": subject, "code": code, "detail": answer["details"]}
        return Verdict.of(Status.FAIL, evidence, "grpc.answered_detail", **said)
    return Verdict.of(Status.FAIL, evidence, "grpc.answered", subject=subject, code=code)


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
    return _unimplemented_verdict(facts[UNKNOWN_METHOD], Message("grpc.subject.unknown_method"))


@check(
    "GRPC-UNIM-002",
    title="An unknown service returns UNIMPLEMENTED",
    category="protocol",
    severity="medium",
    rationale="A call to a service the endpoint does not serve must fail cleanly with UNIMPLEMENTED so "
    "that misrouted calls are visible.",
    remediation="Do not route unknown services to a default handler; let the framework answer UNIMPLEMENTED.",
    references=(STATUS_DOC,),
    facts=(UNKNOWN_SERVICE,),
)
def check_unknown_service(facts: Facts, params: dict[str, Any]) -> Verdict:
    return _unimplemented_verdict(facts[UNKNOWN_SERVICE], Message("grpc.subject.unknown_service"))


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
        evidence = registry.evidence(identity["code"], "a DescribeResponse")
        return Verdict.of(
            Status.FAIL,
            evidence,
            "grpc.answered",
            subject="ServiceInfo.Describe",
            code=identity["code"],
        )
    fields = {name: identity[name] for name in (*IDENTITY_REQUIRED, *IDENTITY_EXPECTED)}
    evidence = registry.evidence(fields, "non-empty " + ", ".join(fields))
    empty_required = [name for name in IDENTITY_REQUIRED if not identity[name].strip()]
    empty_expected = [name for name in IDENTITY_EXPECTED if not identity[name].strip()]
    for status, empty in ((Status.FAIL, empty_required), (Status.WARN, empty_expected)):
        if empty:
            return Verdict.of(status, evidence, "grpc.identity_empty", fields=empty)
    agency, application = identity["agency_code"], identity["application_id"]
    return Verdict.of(Status.PASS, evidence, "grpc.identity", agency=agency, application=application)


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
        evidence = registry.evidence(identity["code"], wanted)
        return Verdict.of(Status.FAIL, evidence, "grpc.identity_unconfirmed", code=identity["code"])
    observed = {field: identity[field] for field in wanted}
    evidence = registry.evidence(observed, wanted)
    mismatched = [field for field, value in wanted.items() if not _same(observed[field], value)]
    if mismatched:
        fields = [
            Message("grpc.identity_field", {"field": f, "observed": observed[f], "expected": wanted[f]})
            for f in mismatched
        ]
        return Verdict.of(Status.FAIL, evidence, "grpc.misregistered", fields=fields)
    return Verdict.of(Status.PASS, evidence, "grpc.identity_matches")


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
        raise NotApplicable(message=Message("grpc.no_service_info"))
    missing = [service for service in declared if service not in identity["declared_services"]]
    evidence = registry.evidence(identity["declared_services"], declared, missing=missing)
    if missing:
        return Verdict.of(Status.WARN, evidence, "grpc.not_declared", services=missing)
    return Verdict.of(Status.PASS, evidence, "grpc.declares_all")


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
        return Verdict.of(
            Status.WARN,
            evidence,
            "grpc.latency_over",
            median=latency["median_ms"],
            threshold=threshold,
        )
    return Verdict.of(Status.PASS, evidence, "grpc.latency", median=latency["median_ms"])


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
        return Verdict.of(Status.PASS, evidence, "grpc.tls_verified")
    if "failure" in transport:
        evidence = registry.evidence(transport["failure"], "verified tls")
        failure = transport.get("meaning") or transport["failure"]  # its phrase in probes.messages, if known
        return Verdict.of(Status.FAIL, evidence, "grpc.tls_unverified", failure=failure)
    evidence = registry.evidence("plaintext", "verified tls")
    return Verdict.of(Status.FAIL, evidence, "grpc.plaintext")

"""The interop gatherer: EmptyCall decides whether the TestService is served, then the wanted cases run."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc

from probes.errors import Undetermined
from probes.facts import ProbeContext
from probes.grpc.channel import CHANNEL, answered, probe_channel
from probes.grpc.facts import INTEROP_SERVED
from probes.grpc.gather import confirm_listening, tls_refusal
from probes.grpc.interop.cases import CASES, CASES_BY_NAME, Case, Session, case_params
from protos.grpc.testing import test_pb2_grpc


def settings_for(case: Case, ctx: ProbeContext) -> dict[str, Any]:
    return {**case_params(case), **ctx.params.get(case.check_id, {})}


def status_codes(observed: dict[str, Any]) -> dict[str, str]:
    return {key: value for key, value in observed.items() if key.endswith("code")}


# grpcio times a deadline on its own clock: a status this close to ours counts as ours (an error).
CLOCK_SLACK_S = 0.05


def unanswered(case: Case, observed: dict[str, Any], elapsed_s: float, timeout_s: float) -> str | None:
    """Why the case got no answer, or None when every status it saw is the server's.

    A status the case expects is an answer whoever made it. CANCELLED is the
    server's or a cut we made after seeing enough (an endless stream): an
    answer either way. DEADLINE_EXCEEDED is ours only once our deadline has
    passed (no call of a case starts before it, and each gets ``timeout_s``):
    earlier, the server sent it. Any other code is the server's unless
    grpcio's wording says the call was lost.
    """
    expected = set(status_codes(case.expected).values()) | {"CANCELLED"}
    for key, code in status_codes(observed).items():
        if code in expected:
            continue
        if code == "DEADLINE_EXCEEDED":
            if elapsed_s >= timeout_s - CLOCK_SLACK_S:
                return f"no complete answer within {timeout_s:g} s"
            continue
        details = observed.get(key.removesuffix("code") + "details", "")
        if not answered(grpc.StatusCode[code], details):
            return f"no answer: {code}" + (f": {details}" if details else "")
    return None


# Cases that spend their time waiting (a grace period before a cancel, a deadline) rather than
# exchanging messages: they run side by side, after the others.
WAITING = frozenset({"cancel_after_begin", "cancel_after_first_response", "timeout_on_sleeping_server"})


async def run_case(case: Case, session: Session) -> dict[str, Any]:
    """One case within its timeout (plus a margin for the status to arrive)."""
    started = time.monotonic()
    async with asyncio.timeout(session.timeout_s + 1.0):
        observed = await case.run(session)
    reason = unanswered(case, observed, time.monotonic() - started, session.timeout_s)
    if reason is not None:
        raise Undetermined(f"{case.name}: {reason}")
    return observed


# Every fact this gatherer can gather: a probe that wants none of them costs nothing more here.
FACTS = frozenset({INTEROP_SERVED, *(case.fact for case in CASES)})


async def gather(ctx: ProbeContext) -> None:
    if not ctx.wants(*FACTS):
        return
    cases = [case for case in CASES if ctx.wants(case.fact)]
    if not cases and not ctx.wants(INTEROP_SERVED):
        return

    def session(case: Case) -> Session:
        channel = probe_channel(ctx)  # the gRPC gatherer's connection, when it made one
        stubs = test_pb2_grpc.TestServiceStub(channel), test_pb2_grpc.UnimplementedServiceStub(channel)
        return Session(*stubs, params=settings_for(case, ctx))

    empty = CASES_BY_NAME["empty_unary"]
    async with ctx.facts.collecting(INTEROP_SERVED, *(case.fact for case in cases)):
        try:
            first = await run_case(empty, session(empty))
        except Undetermined as exc:
            await confirm_listening(ctx)
            refusal = tls_refusal(str(exc), ctx.target.uses_tls)
            if refusal is not None:
                raise Undetermined(message=refusal) from None
            raise
        served = first["code"] != "UNIMPLEMENTED"
        ctx.facts.set(INTEROP_SERVED, served)
        ctx.facts.summary["grpc_interop"] = {"test_service_served": served, "cases": {}}
    if not ctx.facts.has(INTEROP_SERVED) or not served:
        return
    ctx.facts.set(empty.fact, first)
    outcomes = ctx.facts.summary["grpc_interop"]["cases"]
    outcomes[empty.name] = status_codes(first)

    async def answered_case(case: Case) -> bool:
        async with ctx.facts.collecting(case.fact):
            started = time.perf_counter()
            observed = await run_case(case, session(case))
            ctx.facts.set(case.fact, observed, time.perf_counter() - started)
            outcomes[case.name] = status_codes(observed)
        return ctx.facts.has(case.fact)

    for case in cases:
        if case is empty or case.name in WAITING:
            continue
        if not await answered_case(case):
            # The case got no answer: its connection may be dying under grpcio's feet, and a call
            # started now could ride it down. The cases after it get a connection of their own.
            await ctx.release(CHANNEL)
    # Each on its own stream of the channel: their waits overlap instead of adding up.
    await asyncio.gather(*(answered_case(case) for case in cases if case.name in WAITING))

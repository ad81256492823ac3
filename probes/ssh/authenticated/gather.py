"""The authenticated SSH gatherer: log in (pins first), run the allowlisted commands, record facts."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from probes.errors import Unreachable
from probes.facts import Facts, ProbeContext
from probes.ssh.authenticated.parsers import (
    ClockSample,
    clock_offset,
    parse_os_release,
    parse_sshd_t,
    sync_status,
)
from probes.ssh.authenticated.session import (
    AuthenticatedSession,
    CommandOutput,
    ConnectFailed,
    SessionError,
    exit_text,
    usable_pins,
    validated_path,
)
from probes.ssh.facts import CLOCK, SSHD_CONFIG

OWN_FACTS = (SSHD_CONFIG, CLOCK)

NO_PINS = "no pinned host key: refusing to send credentials"


def _sshd_config_path(params: dict[str, dict[str, Any]]) -> str | None:
    """The ``sshd_config`` parameter shared by the SSH-CONF checks (one value, validated)."""
    paths = {
        settings.get("sshd_config")
        for check_id, settings in params.items()
        if check_id.startswith("SSH-CONF-")
    } - {None, ""}
    if len(paths) > 1:
        raise ValueError("SSH-CONF checks name different sshd_config paths")
    return validated_path(paths.pop()) if paths else None


async def gather_authenticated(ctx: ProbeContext) -> None:
    wanted = [name for name in OWN_FACTS if ctx.wants(name)]
    if not wanted:
        return
    facts = ctx.facts
    credentials = ctx.target.credentials
    if credentials is None:
        for name in wanted:
            facts.missing_expectation(name, "credentials")
        return
    pins = usable_pins(ctx.target.pins)
    refusal = None
    if not pins:
        refusal = NO_PINS
    elif not credentials.key_path and not credentials.password_env:
        refusal = "credentials name neither key_path nor password_env"
    if refusal:
        for name in wanted:
            facts.fail(name, refusal)
        return

    commands: list[tuple[str, str | None]] = [("os_release", None)]
    if SSHD_CONFIG in wanted:
        try:
            commands.append(("sshd_config", _sshd_config_path(ctx.params)))
        except (ValueError, TypeError) as exc:
            facts.fail(SSHD_CONFIG, f"invalid check parameter: {exc}")
    want_clock = CLOCK in wanted
    if want_clock:
        commands.append(("clock_sync", None))
    elif len(commands) == 1:
        return  # nothing left worth logging in for

    session = AuthenticatedSession(
        ctx.target.host,
        ctx.target.port,
        credentials,
        pins,
        ctx.connect_timeout_s,
        ctx.read_timeout_s,
    )
    started = time.perf_counter()
    try:
        result = await asyncio.to_thread(session.run, commands, want_clock)
    except asyncio.CancelledError:
        session.abort()
        raise
    except ConnectFailed as exc:
        # The unauthenticated gatherer connects first when any of its facts is wanted;
        # otherwise this was the target's first connection.
        if set(ctx.wanted) <= set(OWN_FACTS):
            raise Unreachable(str(exc)) from None
        for name in wanted:
            facts.fail(name, str(exc))
        return
    except SessionError as exc:
        for name in wanted:
            facts.fail(name, str(exc))
        return
    elapsed = time.perf_counter() - started

    os_release = _os_release(result.outputs.get("os_release"))
    sync = _sync(result.outputs.get("clock_sync"))
    if SSHD_CONFIG in wanted and "sshd_config" in result.outputs:
        _record_sshd_config(facts, result.outputs["sshd_config"], elapsed)
    if want_clock:
        _record_clock(facts, result.clock, sync, elapsed)
    summary: dict[str, Any] = {
        "host_key": result.host_key,
        "os": os_release.get("PRETTY_NAME"),
    }
    if want_clock:
        summary["clock_synchronized"] = sync
    facts.summary["ssh_authenticated"] = summary


def _os_release(output: CommandOutput | str | None) -> dict[str, str]:
    if isinstance(output, CommandOutput) and output.exit_status == 0:
        return parse_os_release(output.stdout)
    return {}


def _sync(output: CommandOutput | str | None) -> str:
    if isinstance(output, CommandOutput):
        return sync_status(output.exit_status, output.stdout)
    return "unknown"


def _record_sshd_config(facts: Facts, output: CommandOutput | str, elapsed: float) -> None:
    if isinstance(output, str):
        facts.fail(SSHD_CONFIG, output)
        return
    if output.exit_status != 0:
        facts.fail(SSHD_CONFIG, f"{output.command} failed{exit_text(output)}")
        return
    config = parse_sshd_t(output.stdout)
    if not config:
        facts.fail(SSHD_CONFIG, f"{output.command} printed no settings")
        return
    facts.set(SSHD_CONFIG, {"source": output.command, "settings": config}, elapsed)


def _record_clock(facts: Facts, samples: list[ClockSample] | str, sync: str, elapsed: float) -> None:
    if isinstance(samples, str):
        facts.fail(CLOCK, samples)
        return
    best = clock_offset(samples)
    facts.set(
        CLOCK,
        {
            "offset_s": round(best.offset_s, 3),
            "uncertainty_s": round(best.uncertainty_s, 3),
            "synchronized": sync,
            "samples": len(samples),
        },
        elapsed,
    )

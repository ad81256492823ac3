"""Documentation generated from the registry, so it cannot drift from the code."""

from __future__ import annotations

from itertools import groupby

from orchestrator.profiles import builtin_names, load_profile
from probes import registry

PROTOCOL_TITLES = {"ssh": "SSH", "tls": "TLS", "grpc": "gRPC"}


def checks_markdown() -> str:
    checks = list(registry.checks().values())
    profiles = {name: load_profile(name) for name in builtin_names()}
    lines = [
        "# Check reference",
        "",
        "Generated from the check registry by `interop checks docs --out docs/checks.md`;"
        " a test fails when this file is stale. Severities are the defaults; a profile may change them.",
        "",
        "| id | severity | title | " + " | ".join(profiles) + " |",
        "|---|---|---|" + "---|" * len(profiles),
    ]
    for meta in checks:
        marks = " | ".join(
            profiles[name].selection[meta.id].severity.value if meta.id in profiles[name].selection else "–"
            for name in profiles
        )
        lines.append(f"| [{meta.id}](#{meta.id.lower()}) | {meta.severity.value} | {meta.title} | {marks} |")
    for protocol, group in groupby(
        sorted(checks, key=lambda c: (c.protocol, c.id)), key=lambda c: c.protocol
    ):
        lines += ["", f"## {PROTOCOL_TITLES.get(protocol, protocol)}"]
        for meta in group:
            lines += [
                "",
                f"### {meta.id}",
                "",
                f"**{meta.title}** — severity `{meta.severity.value}`, category `{meta.category}`",
                "",
                f"*Rationale.* {meta.rationale.strip()}",
                "",
                f"*Remediation.* {meta.remediation.strip()}",
            ]
            if meta.params:
                lines += ["", "*Parameters* (a profile may override them):", ""]
                lines += [f"- `{name}`: `{value!r}`" for name, value in meta.params.items()]
            if meta.references:
                lines += ["", "*References:*", ""]
                lines += [f"- {reference}" for reference in meta.references]
    return "\n".join(lines) + "\n"

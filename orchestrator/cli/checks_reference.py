"""The check reference (docs/checks.md, docs/checks.id.md).

Generated from the registry and profiles, so it cannot drift.
"""

from __future__ import annotations

from itertools import groupby

from orchestrator.profiles import builtin_names, load_profile
from probes import registry
from probes.ssh import vs_ssh_audit


def ssh_audit_differences() -> list[str]:
    """The deliberate differences from ssh-audit, our side computed from the policy tables."""
    lines = [
        "",
        "### Differences from ssh-audit",
        "",
        (
            f"ssh-audit {vs_ssh_audit.SSH_AUDIT_VERSION} grades these algorithms unlike our policy tables, on "
            f"purpose ({vs_ssh_audit.MEASURED}). Every other algorithm those servers offer, and every name in "
            "our tables, it grades as we do (key sizes are SSH-HKEY-002's). Our side is computed from the "
            "checks' `verdicts` tables with their default parameters."
        ),
        "",
        "| algorithms | ssh-audit | ours | why |",
        "|---|---|---|---|",
    ]
    for row in vs_ssh_audit.DIFFERENCES:
        ours, check_ids = vs_ssh_audit.our_verdict(row.kind, row.algorithms, row.without_strict_kex)
        names = ", ".join(f"`{name}`" for name in row.algorithms)
        if row.without_strict_kex:
            together = " offered together" if len(row.algorithms) > 1 else ""
            names += f"{together}, without strict key exchange"
        where = f" ({', '.join(check_ids)})" if check_ids else ""
        lines.append(f"| {names} | {vs_ssh_audit.their_verdict(row)} | {ours}{where} | {row.reason} |")
    return lines


# Sections rendered after a protocol's checks.
APPENDICES = {"ssh": ssh_audit_differences}


# The reference's own words per language; check texts come from the registry's catalogues.
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Check reference",
        "intro": "Generated from the check registry by `interop checks docs --lang en --out docs/checks.md`;"
        " a test fails when this file is stale. Severities are the defaults; a profile may change them."
        " Bahasa Indonesia: [checks.id.md](checks.id.md).",
        "columns": "| id | severity | title | ",
        "line": "**{title}** — severity `{severity}`, category `{category}`, effort `{effort}`",
        "rationale": "Rationale",
        "remediation": "Remediation",
        "parameters": "*Parameters* (a profile may override them):",
        "references": "References",
    },
    "id": {
        "title": "Referensi pemeriksaan",
        "intro": "Dibuat dari registri pemeriksaan oleh `interop checks docs --lang id --out docs/checks.id.md`;"
        " sebuah tes gagal bila berkas ini usang. Tingkat keparahan adalah bawaannya; profil dapat"
        " mengubahnya. English: [checks.md](checks.md).",
        "columns": "| id | tingkat keparahan | judul | ",
        "line": "**{title}** — tingkat keparahan `{severity}`, kategori `{category}`, upaya `{effort}`",
        "rationale": "Alasan",
        "remediation": "Perbaikan",
        "parameters": "*Parameter* (profil dapat menggantinya):",
        "references": "Referensi",
    },
}
# The file each language's reference is written to (`make docs`, and the freshness test).
DOC_FILES = {"en": "docs/checks.md", "id": "docs/checks.id.md"}


def checks_markdown(lang: str = "en") -> str:
    words = WORDS[lang]
    checks = list(registry.checks().values())
    profiles = {name: load_profile(name) for name in builtin_names()}
    lines = [
        f"# {words['title']}",
        "",
        words["intro"],
        "",
        words["columns"] + " | ".join(profiles) + " |",
        "|---|---|---|" + "---|" * len(profiles),
    ]
    for meta in checks:
        marks = " | ".join(
            profiles[name].selection[meta.id].severity.value if meta.id in profiles[name].selection else "–"
            for name in profiles
        )
        title = registry.check_text(meta.id, lang).title
        lines.append(f"| [{meta.id}](#{meta.id.lower()}) | {meta.severity.value} | {title} | {marks} |")
    for protocol, group in groupby(
        sorted(checks, key=lambda c: (c.protocol, c.id)), key=lambda c: c.protocol
    ):
        lines += ["", f"## {registry.FAMILIES[protocol].title}"]
        for meta in group:
            text = registry.check_text(meta.id, lang)
            lines += [
                "",
                f"### {meta.id}",
                "",
                words["line"].format(
                    title=text.title,
                    severity=meta.severity.value,
                    category=meta.category,
                    effort=registry.effort(meta.id),
                ),
                "",
                f"*{words['rationale']}.* {text.rationale.strip()}",
                "",
                f"*{words['remediation']}.* {text.remediation.strip()}",
            ]
            if meta.params:
                lines += ["", words["parameters"], ""]
                lines += [f"- `{name}`: `{value!r}`" for name, value in meta.params.items()]
            if meta.references:
                lines += ["", f"*{words['references']}:*", ""]
                lines += [f"- {reference}" for reference in meta.references]
        if protocol in APPENDICES:
            lines += APPENDICES[protocol]()
    return "\n".join(lines) + "\n"

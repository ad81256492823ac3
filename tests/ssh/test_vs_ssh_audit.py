"""The recorded comparison with ssh-audit stays true to our policy tables, and complete."""

from __future__ import annotations

import fnmatch

import pytest

from orchestrator.cli.checks_reference import checks_markdown
from probes.ssh.policy import POLICY
from probes.ssh.vs_ssh_audit import (
    DIFFERENCES,
    KINDS,
    LOOKED_UP,
    SSH_AUDIT,
    SSH_AUDIT_WITHOUT_STRICT_KEX,
    TERRAPIN_CHECK,
    our_verdict,
    ssh_audit_verdict,
    their_verdict,
)


def _recorded() -> list[tuple[str, str, str]]:
    return [
        (kind, name, verdict)
        for source in (SSH_AUDIT, LOOKED_UP)
        for kind, table in source.items()
        for name, verdict in table.items()
    ]


@pytest.mark.parametrize("row", DIFFERENCES, ids=lambda row: row.algorithms[0])
def test_every_row_is_a_real_difference_and_uniform(row):
    ours, check_ids = our_verdict(row.kind, row.algorithms, row.without_strict_kex)
    assert ours != their_verdict(row)
    assert bool(check_ids) == (ours != "pass")
    if not row.without_strict_kex:
        assert {our_verdict(row.kind, (name,)) for name in row.algorithms} == {(ours, check_ids)}


def test_every_recorded_disagreement_has_a_reason():
    explained = {
        (row.kind, name) for row in DIFFERENCES if not row.without_strict_kex for name in row.algorithms
    }
    disagreeing = {
        (kind, name) for kind, name, theirs in _recorded() if our_verdict(kind, (name,))[0] != theirs
    }
    assert disagreeing == explained
    for names, theirs in SSH_AUDIT_WITHOUT_STRICT_KEX.items():
        ours = our_verdict("enc", names, without_strict_kex=True)[0]
        rows = [row for row in DIFFERENCES if row.without_strict_kex and row.algorithms == names]
        assert len(rows) == (ours != theirs), names


def test_cbc_next_to_etm_only_is_terrapin_as_ssh_audit_measured():
    # Measured against paramiko without strict key exchange: CTR + EtM is not flagged; CBC + EtM is.
    assert SSH_AUDIT_WITHOUT_STRICT_KEX[("aes128-ctr", "hmac-sha2-256-etm@openssh.com")] == "pass"
    etm = "hmac-sha2-256-etm@openssh.com"
    ctr, cbc = ("aes128-ctr", etm), ("aes128-cbc", etm)
    assert our_verdict("enc", ctr, without_strict_kex=True)[0] == "pass"
    assert our_verdict("enc", cbc, without_strict_kex=True) == ("fail", (TERRAPIN_CHECK,))


def test_every_name_in_our_tables_has_an_ssh_audit_verdict():
    """So "every name in our tables" in docs/checks.md stays true when a rule is added."""
    recorded = {(kind, name) for kind, name, _ in _recorded()}
    for check_id, policy in POLICY.items():
        if check_id == TERRAPIN_CHECK:
            continue  # judged in context: SSH_AUDIT_WITHOUT_STRICT_KEX
        kinds = [kind for kind, lists in KINDS.items() if set(lists) & set(policy.lists)]
        for key in policy.rules:
            matched = [
                (kind, name) for kind, name in recorded if kind in kinds and fnmatch.fnmatchcase(name, key)
            ]
            assert matched, f"{check_id} {key}: no ssh-audit verdict recorded"
            assert all(ssh_audit_verdict(kind, name) for kind, name in matched)


def test_docs_show_every_difference():
    doc = checks_markdown()
    section = doc[doc.index("### Differences from ssh-audit") :]
    for row in DIFFERENCES:
        ours, check_ids = our_verdict(row.kind, row.algorithms, row.without_strict_kex)
        line = next(
            line
            for line in section.splitlines()
            if line.startswith(f"| `{row.algorithms[0]}`") and row.reason in line
        )
        assert f"| {their_verdict(row)} | {ours}" in line
        assert all(f"`{name}`" in line for name in row.algorithms)
        assert all(check_id in line for check_id in check_ids)

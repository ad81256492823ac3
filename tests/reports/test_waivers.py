"""Waivers: validation with lines, scope matching, expiry and the applied/expired/unmatched report."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrator.inventory.yaml_nodes import ConfigError
from orchestrator.reports.build import build_report
from orchestrator.store import Store
from orchestrator.waivers import load_waivers
from probes.model import Status
from tests.reports.support import Built

AS_OF = date(2025, 6, 1)


def row(
    check_id: str,
    status: str,
    *,
    agency: str = "32.73",
    application: str = "32-73-simpeg",
    endpoint: str = "ssh://127.0.0.1:2273",
) -> SimpleNamespace:
    return SimpleNamespace(
        check_id=check_id,
        status=Status(status),
        agency=agency,
        application=application,
        endpoint_id=endpoint,
        url=endpoint,
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_applies_to_fail_and_warn_in_scope_only(waivers_file: Path) -> None:
    waivers = load_waivers(waivers_file, as_of=AS_OF)
    status, waiver = waivers.apply(row("SSH-KEX-001", "fail"))
    assert status is Status.WAIVED and waiver.id == "W-BDG-KEX"
    assert waivers.apply(row("SSH-KEX-002", "warn"))[0] is Status.WAIVED
    # Not waivable: pass, error, skip.
    for status_value in ("pass", "error", "skip"):
        assert waivers.apply(row("SSH-KEX-001", status_value)) == (Status(status_value), None)
    # Outside the scope: another agency, another check.
    assert waivers.apply(row("SSH-KEX-001", "fail", agency="KEMENKES")) == (Status.FAIL, None)
    assert waivers.apply(row("SSH-ENC-001", "fail")) == (Status.FAIL, None)
    report = waivers.report()
    assert [(w["id"], w["results"]) for w in report["applied"]] == [("W-BDG-KEX", 2)]


def test_endpoint_glob_and_expiry(waivers_file: Path) -> None:
    kemenkes = dict(agency="KEMENKES", application="kemenkes-satusehat", endpoint="grpcs://127.0.0.1:50443")
    before = load_waivers(waivers_file, as_of=date(2020, 1, 31))  # the expiry day itself still counts
    assert before.apply(row("TLS-CERT-004", "warn", **kemenkes))[0] is Status.WAIVED
    assert (
        before.apply(row("TLS-CERT-004", "warn", **{**kemenkes, "endpoint": "grpcs://127.0.0.1:50473"}))[0]
        is Status.WARN
    )

    after = load_waivers(waivers_file, as_of=date(2020, 2, 1))
    assert after.apply(row("TLS-CERT-004", "warn", **kemenkes)) == (Status.WARN, None)
    report = after.report()
    assert [(w["id"], w["results"], w["days_left"]) for w in report["expired"]] == [("W-KES-CERT", 1, -1)]
    assert "W-KES-CERT" not in {w["id"] for w in report["applied"] + report["unmatched"]}


def test_unmatched_waivers_are_reported(waivers_file: Path) -> None:
    waivers = load_waivers(waivers_file, as_of=AS_OF)
    waivers.apply(row("SSH-BANNER-001", "pass"))
    waivers.apply(row("GRPC-REFL-001", "error", agency="32", application="jabar-sapawarga"))
    report = waivers.report()
    assert {w["id"] for w in report["unmatched"]} == {"W-BDG-KEX", "W-JABAR-REFL", "W-NOTHING"}
    assert report["applied"] == []


def test_agency_scoped_report_hides_other_agencies_waivers(waivers_file: Path) -> None:
    waivers = load_waivers(waivers_file, as_of=AS_OF)
    waivers.apply(row("SSH-KEX-001", "fail"))
    scoped = waivers.report(agency="32.73")
    listed = {w["id"] for part in scoped.values() for w in part}
    assert listed == {"W-BDG-KEX"}


def test_reset_starts_a_new_count(waivers_file: Path) -> None:
    waivers = load_waivers(waivers_file, as_of=AS_OF)
    waivers.apply(row("SSH-KEX-001", "fail"))
    waivers.reset()
    assert waivers.report()["applied"] == []


@pytest.mark.parametrize(
    "entry, line, field, message",
    [
        (
            "  - id: W1\n    check: SSH-KEX-001\n    approver: A\n    expires: 2030-01-01\n",
            2,
            "waivers[0].justification",
            "Field required",
        ),
        (
            "  - id: W1\n    check: SSH-KEX-001\n    justification: '   '\n    approver: A\n    expires: 2030-01-01\n",
            4,
            "waivers[0].justification",
            "at least 1 character",
        ),
        (
            "  - id: W1\n    check: SSH-KEX-001\n    justification: ok\n    approver: A\n",
            2,
            "waivers[0].expires",
            "Field required",
        ),
        (
            "  - id: W1\n    check: SSH-KEX-001\n    justification: ok\n    expires: 2030-01-01\n",
            2,
            "waivers[0].approver",
            "Field required",
        ),
        (
            "  - id: W1\n    check: SSH-KEX-001\n    justification: ok\n    approver: A\n    expires: soon\n",
            6,
            "waivers[0].expires",
            "date",
        ),
        (
            (
                "  - id: W1\n    check: SSH-KEX-001\n    justification: ok\n    approver: A\n    expires: 2030-01-01\n"
                "    reason: typo\n"
            ),
            7,
            "waivers[0].reason",
            "unknown field",
        ),
        (
            "  - id: W1\n    check: SSH-KEKS-*\n    justification: ok\n    approver: A\n    expires: 2030-01-01\n",
            3,
            "waivers[0].check",
            "matches no registered check id",
        ),
    ],
)
def test_problems_name_file_line_and_field(
    tmp_path: Path, entry: str, line: int, field: str, message: str
) -> None:
    path = write(tmp_path, "# waivers\nwaivers:\n" + entry)
    with pytest.raises(ConfigError) as caught:
        load_waivers(path, as_of=AS_OF)
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), line + 1, field)
    assert message in problem.message


def test_duplicate_ids_and_syntax_errors(tmp_path: Path) -> None:
    entry = "  - id: W1\n    check: SSH-KEX-001\n    justification: ok\n    approver: A\n    expires: 2030-01-01\n"
    path = write(tmp_path, "waivers:\n" + entry + entry)
    with pytest.raises(ConfigError, match=r"waivers\.yaml:7: waivers\[1\]\.id: duplicate waiver id 'W1'"):
        load_waivers(path)
    path = write(tmp_path, "waivers:\n  - id: [unclosed\n")
    with pytest.raises(ConfigError, match=r"waivers\.yaml:\d+: \(yaml\): not valid YAML"):
        load_waivers(path)
    path = write(tmp_path, "- just a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_waivers(path)


def test_example_file_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "waivers.yaml"
    waivers = load_waivers(example, as_of=AS_OF)
    assert len(waivers) >= 3
    assert all(w.entry.justification and w.entry.approver for w in waivers.all)


ENTRY = "  - id: W1\n    check: SSH-KEX-001\n    justification: ok\n    approver: A\n    expires: {expires}\n"


@pytest.mark.parametrize(
    "expires, phrase",
    [
        ("2026-13-01", "'2026-13-01' is not a date in the calendar: month must be in 1..12"),
        ("2026-02-30", "'2026-02-30' is not a date in the calendar: day is out of range for month"),
        ("'2026-02-30'", "is not a date in the calendar"),
        ("2026-03-31 10:00", "give a date (YYYY-MM-DD), not a date and time"),
        ("2026-03-31T00:00:00Z", "give a date (YYYY-MM-DD), not a date and time"),
        ("2026-3-1", "give a date as YYYY-MM-DD"),
        ("20260331", "give a date as YYYY-MM-DD, e.g. 2026-03-31 (got 20260331)"),
        ("[2026-03-31]", "give a date as YYYY-MM-DD"),
    ],
)
def test_an_expiry_that_is_no_date_names_file_line_and_field(
    tmp_path: Path, expires: str, phrase: str
) -> None:
    path = write(tmp_path, "waivers:\n" + ENTRY.format(expires=expires))
    with pytest.raises(ConfigError) as caught:
        load_waivers(path, as_of=AS_OF)
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), 6, "waivers[0].expires")
    assert phrase in problem.message


@pytest.mark.parametrize("expires", ["2026-03-31", "'2026-03-31'", "!!timestamp 2026-03-31"])
def test_an_expiry_is_a_date_however_it_is_quoted(tmp_path: Path, expires: str) -> None:
    waivers = load_waivers(write(tmp_path, "waivers:\n" + ENTRY.format(expires=expires)), as_of=AS_OF)
    assert waivers.all[0].expires == date(2026, 3, 31)


def test_text_fields_read_dates_as_text_and_refuse_ambiguous_codes(tmp_path: Path) -> None:
    entry = ENTRY.format(expires="2026-03-31").replace("approver: A", "approver: 2026-13-01")
    assert (
        load_waivers(write(tmp_path, "waivers:\n" + entry), as_of=AS_OF).all[0].entry.approver == "2026-13-01"
    )
    scoped = ENTRY.format(expires="2026-03-31") + "    agency: 32.10\n"
    with pytest.raises(
        ConfigError, match=r"waivers\.yaml:7: waivers\[0\]\.agency: YAML read this as the number 32\.1"
    ):
        load_waivers(write(tmp_path, "waivers:\n" + scoped), as_of=AS_OF)


def test_duplicate_keys_and_unreadable_files_are_refused(tmp_path: Path) -> None:
    entry = ENTRY.format(expires="2026-03-31") + "    expires: 2099-01-01\n"
    with pytest.raises(
        ConfigError, match=r"waivers\.yaml:7: waivers\[0\]\.expires: the key 'expires' appears twice"
    ):
        load_waivers(write(tmp_path, "waivers:\n" + entry), as_of=AS_OF)
    with pytest.raises(ConfigError, match="cannot read the waivers file"):
        load_waivers(tmp_path, as_of=AS_OF)
    (tmp_path / "latin1.yaml").write_bytes(b"waivers: []\n# Dinas Komunikasi \xe9\n")
    with pytest.raises(ConfigError, match=r"latin1\.yaml:2: \(file\): not UTF-8 text"):
        load_waivers(tmp_path / "latin1.yaml", as_of=AS_OF)


def test_waivers_expiring_within_30_days_are_listed_apart(
    waivers_file: Path, store: Store, built: Built
) -> None:
    # W-BDG-KEX (applied) ends 2099-12-31; the others have expired by then or match nothing.
    soon = build_report(store, built.current, waivers=load_waivers(waivers_file, as_of=date(2099, 12, 1)))
    assert [(w["id"], w["days_left"], w["approver"]) for w in soon["waivers"]["expiring"]] == [
        ("W-BDG-KEX", 30, "Kepala Diskominfo Kota Bandung")
    ]
    later = build_report(store, built.current, waivers=load_waivers(waivers_file, as_of=date(2099, 11, 30)))
    assert later["waivers"]["expiring"] == []  # 31 days left
    # Every waived finding names who approved it and until when.
    waived = [f for f in soon["findings"] if f["status"] == "waived"]
    assert waived and all(f["waiver"]["approver"] and f["waiver"]["expires"] == "2099-12-31" for f in waived)

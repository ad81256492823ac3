"""The inputs that once crashed a command or were misdiagnosed, end to end: exit 2 and FILE:LINE: field.

Each case runs the command as a user would (Typer's runner on the real app, or a
child process for ``serve``, which would otherwise keep running) and asserts the
exit code and the located message, with no traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli import app

runner = CliRunner()

BAD_WAIVERS = """\
waivers:
  - id: W-1
    check: SSH-KEX-002
    justification: Vendor appliance.
    approver: Kepala Diskominfo
    expires: 2026-13-01
"""


def interop(*args: object):
    result = runner.invoke(app, [str(a) for a in args])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), (
        f"traceback: {result.exception!r}"
    )
    return result


def written(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_report_refuses_an_impossible_waiver_date_with_its_line(tmp_path):
    waivers = written(tmp_path, "waivers.yaml", BAD_WAIVERS)
    result = interop("report", "latest", "--waivers", waivers, "--store", tmp_path / "results.db")
    assert result.exit_code == 2, result.output
    assert f"{waivers}:6: waivers[0].expires: '2026-13-01' is not a date in the calendar" in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_an_impossible_waiver_date_at_start(tmp_path):
    waivers = written(tmp_path, "waivers.yaml", BAD_WAIVERS)
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator.cli",
            "serve",
            "--waivers",
            str(waivers),
            "--store",
            str(tmp_path / "results.db"),
            "--listen",
            "127.0.0.1:1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert child.returncode == 2, child.stderr
    assert f"{waivers}:6: waivers[0].expires: '2026-13-01' is not a date" in child.stderr.replace("\n", " ")
    assert "Traceback" not in child.stderr


def test_a_date_like_name_in_an_inventory_is_text(tmp_path):
    inventory = written(
        tmp_path,
        "inventory.yaml",
        "scope: {networks: [127.0.0.0/8]}\n"
        "agencies:\n  - {code: '32.73', name: 2026-13-01, level: kota, province: '32'}\n"
        "applications:\n  - {id: app, name: 2026-02-30, agency: '32.73'}\n",
    )
    result = interop("inventory", "validate", inventory)
    assert result.exit_code == 0, result.output


def test_a_date_like_profile_title_is_text_and_a_bad_parameter_is_located(tmp_path):
    profile = written(tmp_path, "profile.yaml", "name: mine\ntitle: 2026-02-30\nextends: spbe-baseline\n")
    assert interop("profiles", "show", profile).exit_code == 0
    bad = written(
        tmp_path, "bad.yaml", "name: mine\nchecks:\n  SSH-KEX-004:\n    params: {verdict_if_absent: maybe}\n"
    )
    result = interop("check", "ssh://127.0.0.1:1", "--profile", bad)
    assert result.exit_code == 2, result.output
    assert f"{bad}:4: checks.SSH-KEX-004.params.verdict_if_absent: expected one of pass, warn, fail" in (
        result.output.replace("\n", " ")
    )


def test_a_misspelt_extends_names_the_file_and_line(tmp_path):
    profile = written(tmp_path, "profile.yaml", "name: mine\nextends: spbe-baselin\n")
    result = interop("check", "ssh://127.0.0.1:1", "--profile", profile)
    assert result.exit_code == 2, result.output
    assert f"{profile}:2: extends: no such profile file 'spbe-baselin'" in result.output.replace("\n", " ")


@pytest.mark.parametrize(
    "args, message",
    [
        (["grpc://[::1:50051"], "URL 'grpc://[::1:50051': not a URL: Invalid IPv6 URL"),
        (["ssh://127.0.0.1:1", "--pin", "SHA256:short"], "--pin 'SHA256:short': an OpenSSH fingerprint"),
        (["grpc://127.0.0.1:1", "--service", "no spaces allowed"], "--service 'no spaces allowed': a fully"),
        (["grpc://127.0.0.1:1", "--agency", "Kota Bandung"], "--agency: not an agency code"),
        (["grpc://127.0.0.1:1", "--application", "bad id!"], "--application: letters, digits"),
        (["grpcs://127.0.0.1:1", "--server-name", "not a name"], "--server-name: a DNS name"),
    ],
)
def test_bad_target_url_and_options_exit_2(args, message):
    result = interop("check", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output.replace("\n", " ")


@pytest.mark.parametrize(
    "content, line, field",
    [
        (b"127.0.0.1 ssh-ed25519\n", 1, "(line)"),
        (b"# ok\n127.0.0.1 ssh-ed25519 !!!notbase64\n", 2, "key"),
        (b"127.0.0.1 ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ==\n", 1, "key-type"),
        (b"\n\n\xff\xfe binary\n", 3, "(file)"),
    ],
)
def test_an_unparsable_known_hosts_file_exits_2_with_its_line(tmp_path, content, line, field):
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_bytes(content)
    result = interop("check", "ssh://127.0.0.1:1", "--known-hosts", known_hosts)
    assert result.exit_code == 2, result.output
    assert f"{known_hosts}:{line}: {field}: " in result.output.replace("\n", " ")


def test_an_unreadable_known_hosts_file_exits_2(tmp_path):
    result = interop("check", "ssh://127.0.0.1:1", "--known-hosts", tmp_path)
    assert result.exit_code == 2, result.output
    assert f"{tmp_path}: (file): cannot read the known_hosts file" in result.output.replace("\n", " ")


def test_csv_import_names_the_real_problem(tmp_path):
    csv_file = written(
        tmp_path,
        "fleet.csv",
        "agency_code,agency_name,level,province,application_id,application_name,url\n"
        "KEMENKES,Kementerian Kesehatan,pusat,31,app-1\n"
        "32.73,Kota Bandung,kota,32,a2,A2,ssh://127.0.0.1:22\n"
        "32.73,Kota Bandung,kotamadya,32,a3,A3,ssh://127.0.0.1:23\n",
    )
    out = tmp_path / "fleet.yaml"
    result = interop("inventory", "import", csv_file, "--out", out)
    assert result.exit_code == 2, result.output
    text = result.output.replace("\n", " ")
    assert (
        f"{csv_file}:2: (row): 5 cells where the header has 7 columns: no cell for application_name, url"
        in text
    )
    assert f"{csv_file}:4: level: 'kotamadya' is not a level: one of pusat, provinsi, kabupaten, kota" in text
    assert "scheme must be" not in text and "has level 'kota'" not in text
    assert not out.exists()


def test_a_known_hosts_file_without_the_host_exits_2(tmp_path):
    """Pinning was asked for: a file that cannot pin this host must not turn into a silent skip."""
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(
        "[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
    )
    result = interop("check", "ssh://127.0.0.1:1", "--known-hosts", known_hosts)
    assert result.exit_code == 2, result.output
    assert "no key for 127.0.0.1 port 1: nothing to pin" in result.output.replace("\n", " ")


def test_a_deadline_beyond_the_profiles_limit_exits_2():
    assert interop("check", "ssh://127.0.0.1:1", "--deadline", "inf").exit_code == 2


def test_a_password_typed_where_its_variables_name_belongs_is_never_echoed():
    result = interop("check", "ssh://127.0.0.1:1", "--user", "audit", "--password-env", "hunter2!")
    assert result.exit_code == 2, result.output
    assert "--password-env: names an environment variable" in result.output.replace("\n", " ")
    assert "hunter2" not in result.output

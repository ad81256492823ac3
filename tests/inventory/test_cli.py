"""``interop inventory ...``: every command through Typer's runner, with its exit code."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from orchestrator.cli.inventory import inventory_app
from orchestrator.inventory import load_inventory
from tests.inventory.conftest import TINY, marked_line, write_ca_bundle

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(inventory_app, [str(a) for a in args])


@pytest.mark.parametrize("command", ["validate", "stats", "import", "export", "generate"])
def test_every_command_has_help(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.stdout and len(result.stdout.splitlines()) > 5


def test_validate_ok_prints_counts():
    result = invoke("validate", TINY)
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith(
        f"OK {TINY}: 4 agencies, 4 applications, 5 endpoints (ssh 2, grpc 3, grpcs 0) in "
    )
    assert "scope: networks 127.0.0.0/8; domains localhost" in result.stdout
    assert f"sha256: {load_inventory(TINY).content_hash}" in result.stdout


def test_validate_invalid_prints_every_problem_and_exits_2(write):
    text = (
        TINY.read_text()
        .replace("grpc://127.0.0.1:50053", "grpc://192.0.2.7:50053")
        .replace('level: kota, province: "32"', 'level: kota, province: "33"')
    )
    path = write(text)
    result = invoke("validate", path)
    assert result.exit_code == 2
    province_line, url_line = marked_line(text, 'province: "33"'), marked_line(text, "192.0.2.7")
    assert result.stderr.splitlines() == [
        f"{path}:{province_line}: agencies[2].province: province '33' does not match code '32.73' (province '32')",
        (
            f"{path}:{url_line}: applications[2].endpoints[0].url: 192.0.2.7 is outside the inventory scope "
            "(networks 127.0.0.0/8; domains localhost): refused, nothing is ever sent to it"
        ),
        f"error: 2 problems in {path}: nothing runs on an invalid inventory",
    ]
    assert "OK" not in result.stdout


def test_validate_missing_file_exits_2(tmp_path):
    result = invoke("validate", tmp_path / "absent.yaml")
    assert result.exit_code == 2
    assert "cannot read the inventory" in result.stderr


def test_stats_json_counts_by_level_and_province():
    result = invoke("stats", TINY, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["agencies"], data["applications"]) == (4, 4)
    assert data["endpoints"] == {"total": 5, "ssh": 2, "grpc": 3, "grpcs": 0}
    assert data["by_level"]["kota"] == {
        "agencies": 1,
        "applications": 1,
        "endpoints": {"ssh": 0, "grpc": 1, "grpcs": 0},
    }
    assert data["by_level"]["pusat"]["endpoints"] == {"ssh": 1, "grpc": 1, "grpcs": 0}
    assert data["by_province"]["32"] == {
        "name": "Jawa Barat",
        "agencies": 3,
        "applications": 3,
        "endpoints": {"ssh": 1, "grpc": 2, "grpcs": 0},
    }
    assert data["by_province"]["31"]["name"] == "DKI Jakarta"
    assert [row["code"] for row in data["largest_agencies"]] == ["KEMENKES", "32", "32.73", "32.04"]


def test_stats_tables():
    result = invoke("stats", TINY, "--top", "2")
    assert result.exit_code == 0, result.output
    for title in ("By level", "By province", "Largest agencies", "Jawa Barat", "Kementerian Kesehatan"):
        assert title in result.stdout
    assert "Kota Bandung" not in result.stdout  # third largest: --top 2 leaves it out


def test_stats_of_invalid_inventory_exits_2(write):
    result = invoke("stats", write("version: 2\n"))
    assert result.exit_code == 2
    assert ":1: version: Input should be 1" in result.stderr


def test_export_then_import_round_trip(tmp_path):
    csv_path, yaml_path = tmp_path / "fleet.csv", tmp_path / "fleet.yaml"
    exported = invoke("export", TINY, "--out", csv_path)
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.strip() == f"wrote {csv_path}: 5 rows"
    imported = invoke("import", csv_path, "--out", yaml_path)
    assert imported.exit_code == 0, imported.output
    assert "the scope is loopback only" in imported.stderr
    assert load_inventory(yaml_path).to_dict() == load_inventory(TINY).to_dict()


def test_import_with_scope_options_and_row_errors(write, tmp_path):
    header = "agency_code,agency_name,level,province,application_id,application_name,url\n"
    csv_path = write(
        header
        + "KEMENKES,Kementerian Kesehatan,pusat,31,k-1,K1,grpc://10.9.0.1:50051\n"
        + "KEMENKES,Kementerian Kesehatan,pusat,31,k-2,K2,ssh://bastion.kemkes.go.id:22\n",
        "fleet.csv",
    )
    out = tmp_path / "fleet.yaml"
    refused = invoke("import", csv_path, "--out", out, "--network", "10.9.0.0/16")
    assert refused.exit_code == 2
    assert refused.stderr.splitlines()[0].startswith(f"{csv_path}:3: url: bastion.kemkes.go.id is outside")
    assert not out.exists()
    accepted = invoke("import", csv_path, "--out", out, "--network", "10.9.0.0/16", "--domain", "go.id")
    assert accepted.exit_code == 0, accepted.output
    assert accepted.stdout.strip() == f"wrote {out}: 1 agencies, 2 applications, 2 endpoints"
    assert load_inventory(out).scope.allows("bastion.kemkes.go.id")


def test_import_usage_errors_exit_2(write, tmp_path):
    assert invoke("import", tmp_path / "absent.csv", "--out", tmp_path / "x.yaml").exit_code == 2
    csv_path = write("agency_code\n", "fleet.csv")
    bad_network = invoke("import", csv_path, "--out", tmp_path / "x.yaml", "--network", "10.9.0.1/16")
    assert bad_network.exit_code == 2
    assert "has host bits set" in bad_network.output
    assert invoke("import", csv_path).exit_code == 2  # --out is required


def test_generate_slice_then_validate(tmp_path):
    out = tmp_path / "demo.yaml"
    result = invoke("generate", "--seed", "3", "--slice", "300", "--out", out)
    assert result.exit_code == 0, result.output
    # TLS is the default: the grpcs:// endpoints name the CA a testbed writes; until then nothing validates.
    assert "note: the grpcs:// endpoints name testbed-ca.pem" in result.stdout
    assert invoke("validate", out).exit_code == 2
    write_ca_bundle(tmp_path / "testbed-ca.pem")
    inventory = load_inventory(out)
    assert sum(ref.scheme == "grpcs" for ref in inventory.endpoints()) > 0.5 * len(inventory)
    assert result.stdout.startswith(
        f"wrote {out}: {len(inventory.agencies)} agencies, {len(inventory.applications)} applications, "
        f"{len(inventory)} endpoints in "
    )
    assert 285 <= len(inventory) <= 315
    assert invoke("validate", out).exit_code == 0


def test_generate_usage_errors_exit_2(tmp_path):
    assert invoke("generate", "--seed", "1").exit_code == 2  # --out is required
    assert invoke("generate", "--out", tmp_path / "x.yaml", "--grpcs-share", "1.5").exit_code == 2
    assert invoke("generate", "--out", tmp_path / "x.yaml", "--slice", "0").exit_code == 2
    assert not (tmp_path / "x.yaml").exists()


def test_an_output_that_cannot_be_written_exits_2(write, tmp_path):
    nowhere = tmp_path / "no-such-dir"
    csv_path = write(
        "agency_code,agency_name,level,province,application_id,application_name,url\n"
        "KEMENKES,K,pusat,31,k-1,K1,grpc://127.0.0.1:1\n",
        "fleet.csv",
    )
    for args in (
        ("import", csv_path, "--out", nowhere / "x.yaml"),
        ("export", TINY, "--out", nowhere / "x.csv"),
        ("generate", "--slice", "50", "--out", nowhere / "x.yaml"),
    ):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert (
            f"error: {nowhere}/x." in result.stderr
            and "cannot write: No such file or directory" in result.stderr
        )


def test_a_bad_scope_domain_is_a_usage_error(write, tmp_path):
    csv_path = write("agency_code\n", "fleet.csv")
    result = invoke("import", csv_path, "--out", tmp_path / "x.yaml", "--domain", "not a domain")
    assert result.exit_code == 2
    assert "a domain suffix is a DNS name" in result.output

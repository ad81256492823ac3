"""CSV import and export: the round trip, and row-numbered problems with nothing written."""

from __future__ import annotations

import pytest

from orchestrator.inventory import InventoryError, load_inventory
from orchestrator.inventory.csv import COLUMNS, export_csv, import_csv
from tests.inventory.conftest import TINY, write_private_key

LOOPBACK = {"networks": ["127.0.0.0/8"], "domains": ["localhost"]}
HEADER = (
    "agency_code,agency_name,level,province,application_id,application_name,url,services,pins,vantage,tags\n"
)
ROWS = (
    "KEMENKES,Kementerian Kesehatan,pusat,31,kemenkes-satusehat,SATUSEHAT,grpc://127.0.0.1:50051,"
    "grpc.health.v1.Health;spbe.kesehatan.v1.KesehatanService,,,env=staging;testbed=conformant\n"
    "KEMENKES,Kementerian Kesehatan,pusat,31,kemenkes-satusehat,SATUSEHAT,ssh://127.0.0.1:2222,,"
    "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s,,\n"
    "32.73,Kota Bandung,kota,32,32-73-simpeg,SIMPEG Kota Bandung,grpc://localhost:50053,,,jawa,\n"
)


def test_import_builds_agencies_applications_and_endpoints(write, tmp_path):
    csv_path = write(HEADER + ROWS, "fleet.csv")
    out = tmp_path / "fleet.yaml"
    inventory = import_csv(csv_path, out, LOOPBACK)
    assert [(a.code, a.level, a.province) for a in inventory.agencies] == [
        ("KEMENKES", "pusat", "31"),
        ("32.73", "kota", "32"),
    ]
    assert [(app.id, len(app.endpoints)) for app in inventory.applications] == [
        ("kemenkes-satusehat", 2),
        ("32-73-simpeg", 1),
    ]
    first = inventory.applications[0].endpoints[0]
    assert first.services == ["grpc.health.v1.Health", "spbe.kesehatan.v1.KesehatanService"]
    assert first.tags == ["env=staging", "testbed=conformant"]
    assert inventory.applications[1].endpoints[0].vantage == "jawa"
    assert load_inventory(out).to_dict() == inventory.to_dict()


def test_round_trip_yaml_csv_yaml_is_lossless(tmp_path):
    (tmp_path / "keys").mkdir()
    write_private_key(tmp_path / "keys" / "audit")
    source = tmp_path / "source.yaml"
    source.write_text(
        TINY.read_text().replace(
            "password_env: SPBE_AUDIT_PASSWORD",
            "key_path: keys/audit\n          passphrase_env: SPBE_KEY_PASS",
        )
    )
    original = load_inventory(source)
    csv_path = tmp_path / "fleet.csv"
    assert export_csv(original, csv_path) == len(original)
    assert csv_path.read_text().splitlines()[0] == ",".join(COLUMNS)
    imported = import_csv(csv_path, tmp_path / "back.yaml", original.scope.model_dump(mode="json"))
    assert imported.to_dict() == original.to_dict()
    assert imported.content_hash == original.content_hash


def _problems(write, tmp_path, text: str, scope=LOOPBACK) -> list[str]:
    csv_path = write(text, "fleet.csv")
    out = tmp_path / "fleet.yaml"
    with pytest.raises(InventoryError) as caught:
        import_csv(csv_path, out, scope)
    assert not out.exists(), "nothing is written for an invalid CSV"
    return [str(p).removeprefix(f"{csv_path}:") for p in caught.value.problems]


def test_problems_name_the_row_and_column(write, tmp_path):
    text = (
        HEADER
        + ROWS
        + "32.73,Kota Bandung Raya,kota,32,32-73-simpeg,SIMPEG,grpc://localhost:50054,,,,\n"  # line 5
        + "32.05,Kota Salah,kota,32,x-1,X,grpc://127.0.0.1:9,,,,\n"  # line 6
        + "KEMENKES,Kementerian Kesehatan,pusat,31,k-2,K2,grpc://127.0.0.1,,,,\n"  # line 7
        + "KEMENKES,Kementerian Kesehatan,pusat,31,k-3,K3,grpc://127.0.0.1:50051,,,,bad tag\n"  # line 8
    )
    assert _problems(write, tmp_path, text) == [
        "5: agency_name: agency '32.73' has agency_name 'Kota Bandung' on line 4",
        "5: application_name: application '32-73-simpeg' has application_name 'SIMPEG Kota Bandung' on line 4",
        "6: agency_code: a kota code is PP.NN with NN from 71 to 99, e.g. 32.73 (got '32.05')",
        "7: url: give the port explicitly, e.g. grpc://127.0.0.1:50051",
        "8: tags: a tag is name or name=value, lowercase name, no spaces (got 'bad tag')",
        "8: url: duplicate endpoint grpc://127.0.0.1:50051 (first declared on line 2)",
    ]


def test_scope_is_given_to_the_importer(write, tmp_path):
    text = HEADER + "KEMENKES,Kementerian Kesehatan,pusat,31,k-1,K1,grpc://10.1.2.3:50051,,,,\n"
    problems = _problems(write, tmp_path, text)
    assert problems == [
        (
            "2: url: 10.1.2.3 is outside the inventory scope (networks 127.0.0.0/8; domains localhost): refused, "
            "nothing is ever sent to it"
        )
    ]
    inventory = import_csv(
        write(text, "ok.csv"), tmp_path / "ok.yaml", {"networks": ["10.0.0.0/8"], "domains": []}
    )
    assert [ref.host for ref in inventory.endpoints()] == ["10.1.2.3"]


def test_header_problems(write, tmp_path):
    text = "agency_code,agency_name,level,application_id,url,colour\nKEMENKES,K,pusat,k-1,grpc://127.0.0.1:1,red\n"
    assert _problems(write, tmp_path, text) == [
        "1: (header): missing column(s): province, application_name",
        "1: (header): unknown column(s): colour; the columns are " + ", ".join(COLUMNS),
    ]


REQUIRED = "agency_code,agency_name,level,province,application_id,application_name,url\n"


def test_a_short_row_is_reported_as_short_not_as_a_bad_url(write, tmp_path):
    text = REQUIRED + "KEMENKES,Kementerian Kesehatan,pusat,31,app-1\n"
    assert _problems(write, tmp_path, text) == [
        "2: (row): 5 cells where the header has 7 columns: no cell for application_name, url"
    ]


def test_a_bad_cell_in_a_repeated_agency_is_named_for_what_it_is(write, tmp_path):
    """Not "agency has level 'kota' on line 2": the cell is wrong by itself."""
    text = (
        REQUIRED
        + "32.73,Kota Bandung,kota,32,a-1,A1,grpc://127.0.0.1:1\n"
        + "32.73,Kota Bandung,kotamadya,3x,a-2,A2,grpc://127.0.0.1:2\n"
    )
    assert _problems(write, tmp_path, text) == [
        "3: level: 'kotamadya' is not a level: one of pusat, provinsi, kabupaten, kota",
        "3: province: a province code has two digits, e.g. 32 (got '3x')",
    ]


def test_a_bad_first_value_is_reported_once_on_its_own_row(write, tmp_path):
    text = (
        REQUIRED
        + "32.73,Kota Bandung,kotamadya,32,a-1,A1,grpc://127.0.0.1:1\n"
        + "32.73,Kota Bandung,kota,32,a-2,A2,grpc://127.0.0.1:2\n"
    )
    problems = _problems(write, tmp_path, text)
    assert len(problems) == 1 and problems[0].startswith("2: level: Input should be 'pusat'"), problems


@pytest.mark.parametrize(
    "raw, expected",
    [
        (
            REQUIRED.encode() + b"K,K\xe9,pusat,31,a,A,grpc://127.0.0.1:1\n",
            "2: (file): not UTF-8 text: byte 0xe9",
        ),
        (
            (REQUIRED + "K,K,pusat,31,a,A," + "x" * 200_000 + "\n").encode(),
            "2: (row): not valid CSV: field larger",
        ),
        (b"agency_code,url,url\n", "1: (header): missing column(s)"),
    ],
)
def test_files_the_csv_module_cannot_read_are_located(write, tmp_path, raw, expected):
    path = tmp_path / "fleet.csv"
    path.write_bytes(raw)
    with pytest.raises(InventoryError) as caught:
        import_csv(path, tmp_path / "out.yaml", LOOPBACK)
    assert str(caught.value.problems[0]).removeprefix(f"{path}:").startswith(expected), str(caught.value)
    assert not (tmp_path / "out.yaml").exists()


def test_a_column_given_twice_is_refused(write, tmp_path):
    text = (
        REQUIRED.replace("\n", ",url\n") + "KEMENKES,K,pusat,31,a,A,grpc://127.0.0.1:1,grpc://127.0.0.1:2\n"
    )
    assert _problems(write, tmp_path, text) == ["1: (header): column(s) given twice: url"]


def test_a_bad_domain_in_the_scope_names_the_option(write, tmp_path):
    text = REQUIRED + "KEMENKES,K,pusat,31,a,A,grpc://127.0.0.1:1\n"
    problems = _problems(
        write, tmp_path, text, scope={"networks": ["127.0.0.0/8"], "domains": ["bad domain"]}
    )
    assert problems == [
        " --domain: a domain suffix is a DNS name such as go.id or localhost (got 'bad domain')"
    ]

"""Loading and validating inventories: the valid tiny example, and every kind of problem
reported with file, line and field."""

from __future__ import annotations

import pytest

from orchestrator.inventory import (
    EndpointRef,
    InventoryError,
    Scope,
    dump_inventory,
    inventory_hash,
    load_endpoint_set,
    load_inventory,
    model,
)
from orchestrator.inventory.yaml_nodes import ConfigError, Problem
from probes.model import Credentials, Target
from tests.inventory.conftest import TINY, marked_line, write_ca_bundle, write_private_key

PIN = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"

HEAD = """\
version: 1
scope:
  networks: [127.0.0.0/8, 10.20.0.0/16]
  domains: [go.id, localhost]
agencies:
  - {code: KEMENKES, name: Kementerian Kesehatan, level: pusat, province: "31"}
  - {code: "32", name: Provinsi Jawa Barat, level: provinsi, province: "32"}
  - {code: "32.73", name: Kota Bandung, level: kota, province: "32"}
"""


def test_tiny_example_loads_with_every_endpoint_field():
    inventory = load_inventory(TINY)
    assert [a.code for a in inventory.agencies] == ["KEMENKES", "32", "32.73", "32.04"]
    assert len(inventory.applications) == 4
    assert len(inventory) == 5
    refs = {ref.endpoint_id: ref for ref in inventory.endpoints()}
    grpc = refs["grpc://127.0.0.1:50051"]
    assert grpc == EndpointRef(
        endpoint_id="grpc://127.0.0.1:50051",
        url="grpc://127.0.0.1:50051",
        scheme="grpc",
        host="127.0.0.1",
        port=50051,
        agency="KEMENKES",
        agency_level="pusat",
        province="31",
        application="kemenkes-satusehat",
        vantage=None,
        tags=("env=staging",),
        services=("grpc.health.v1.Health", "spbe.kesehatan.v1.KesehatanService"),
    )
    assert refs["grpc://127.0.0.1:50053"].vantage == "jawa"
    assert refs["grpc://127.0.0.1:50053"].agency_level == "kota"
    assert refs["ssh://127.0.0.1:2223"].province == "32"
    assert grpc.tag_value("env") == "staging" and grpc.tag_value("testbed") is None
    assert refs["ssh://127.0.0.1:2222"].to_target() == Target(
        scheme="ssh",
        host="127.0.0.1",
        port=2222,
        agency="KEMENKES",
        application="kemenkes-satusehat",
        credentials=Credentials(username="audit", password_env="SPBE_AUDIT_PASSWORD"),
    )
    assert refs["ssh://127.0.0.1:2223"].to_target().pins == (PIN,)
    assert inventory.endpoint("grpc://localhost:50052").host == "localhost"


def test_grpcs_and_key_files_resolve_relative_to_the_inventory(write, tmp_path):
    (tmp_path / "keys").mkdir()
    write_private_key(tmp_path / "keys" / "audit")
    write_ca_bundle(tmp_path / "ca.pem")
    path = write(
        HEAD
        + """\
applications:
  - id: kemenkes-satusehat
    name: SATUSEHAT
    agency: KEMENKES
    endpoints:
      - url: grpcs://satusehat.kemkes.go.id:443
        services: [spbe.kesehatan.v1.KesehatanService]
        server_name: satusehat.kemkes.go.id
        ca_file: ca.pem
      - url: ssh://10.20.1.5:22
        pins: ["%s"]
        credentials: {username: audit, key_path: keys/audit, passphrase_env: AUDIT_KEY_PASSPHRASE}
"""
        % PIN
    )
    refs = list(load_inventory(path).endpoints())
    target = refs[0].to_target()
    assert (target.scheme, target.host, target.port) == ("grpcs", "satusehat.kemkes.go.id", 443)
    assert target.server_name == "satusehat.kemkes.go.id"
    assert target.ca_file == str(tmp_path / "ca.pem")
    assert refs[1].to_target().credentials == Credentials(
        username="audit", key_path=str(tmp_path / "keys" / "audit"), passphrase_env="AUDIT_KEY_PASSPHRASE"
    )


def test_hash_ignores_comments_layout_and_key_order(write):
    original = inventory_hash(TINY)
    inventory = load_inventory(TINY)
    assert inventory.content_hash == original
    rewritten = write("", "rewritten.yaml")
    dump_inventory(inventory, rewritten, header="no comments of the original survive")
    assert rewritten.read_text() != TINY.read_text()
    assert inventory_hash(rewritten) == original
    assert load_inventory(rewritten).to_dict() == inventory.to_dict()
    changed = write(TINY.read_text().replace("50053", "50054"), "changed.yaml")
    assert inventory_hash(changed) != original


# One case per kind of problem: the YAML, the field and a phrase of the message.
# The offending line carries "# <-"; that is the line the problem must name.
ERROR_CASES = {
    "wrong type": (
        HEAD
        + """\
applications:
  - id: app-1
    name: 42  # <-
    agency: KEMENKES
""",
        "applications[0].name",
        "Input should be a valid string",
    ),
    "unknown field": (
        HEAD.replace('province: "31"}', 'province: "31", colour: red}  # <-'),
        "agencies[0].colour",
        "unknown field",
    ),
    "unknown endpoint field": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: grpc://127.0.0.1:50051
        timeout: 3  # <-
""",
        "applications[0].endpoints[0].timeout",
        "unknown field",
    ),
    "duplicate endpoint": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: grpc://127.0.0.1:50051
  - id: app-2
    name: B
    agency: "32.73"
    endpoints:
      - url: grpc://127.0.0.1:50051  # <-
""",
        "applications[1].endpoints[0].url",
        "duplicate endpoint grpc://127.0.0.1:50051 (first declared on line 14)",
    ),
    "one socket two protocols": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: grpc://127.0.0.1:2222
      - url: ssh://127.0.0.1:2222  # <-
""",
        "applications[0].endpoints[1].url",
        "127.0.0.1:2222 is already the endpoint grpc://127.0.0.1:2222 (line 14)",
    ),
    "duplicate agency": (
        HEAD + '  - {code: "32.73", name: Kota Bandung lagi, level: kota, province: "32"}  # <-\n',
        "agencies[3].code",
        "duplicate agency code '32.73' (first declared on line 8)",
    ),
    "duplicate application": (
        HEAD
        + """\
applications:
  - {id: app-1, name: A, agency: KEMENKES}
  - {id: app-1, name: B, agency: "32.73"}  # <-
""",
        "applications[1].id",
        "duplicate application id 'app-1' (first declared on line 10)",
    ),
    "unknown agency": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKEU  # <-
""",
        "applications[0].agency",
        "unknown agency 'KEMENKEU'",
    ),
    "out-of-scope IP": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: ssh://192.0.2.10:22  # <-
""",
        "applications[0].endpoints[0].url",
        "192.0.2.10 is outside the inventory scope",
    ),
    "out-of-scope hostname": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: grpcs://kemkes.go.id.example.com:443  # <-
""",
        "applications[0].endpoints[0].url",
        "kemkes.go.id.example.com is outside the inventory scope",
    ),
    "missing key file": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: ssh://127.0.0.1:22
        credentials:
          username: audit
          key_path: keys/absent_ed25519  # <-
""",
        "applications[0].endpoints[0].credentials.key_path",
        "key file not found",
    ),
    "missing CA file": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: grpcs://127.0.0.1:443
        ca_file: absent-ca.pem  # <-
""",
        "applications[0].endpoints[0].ca_file",
        "CA file not found",
    ),
    # A file that exists is not enough: a sweep would turn every check needing it into an error.
    "CA file that is no CA bundle": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: grpcs://127.0.0.1:443
        ca_file: garbage-ca.pem  # <-
""",
        "applications[0].endpoints[0].ca_file",
        "not a CA bundle",
    ),
    "key file that is no private key": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: ssh://127.0.0.1:22
        credentials: {username: audit, key_path: id_ed25519.pub}  # <-
""",
        "applications[0].endpoints[0].credentials.key_path",
        "not a private key",
    ),
    "inline password": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: ssh://127.0.0.1:22
        credentials:
          username: audit
          password_env: AUDIT_PASSWORD
          password: hunter2  # <-
""",
        "applications[0].endpoints[0].credentials.password",
        "secrets are referenced, not inlined",
    ),
    "inline key": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: ssh://127.0.0.1:22
        key: "-----BEGIN OPENSSH PRIVATE KEY-----"  # <-
""",
        "applications[0].endpoints[0].key",
        "secrets are referenced, not inlined: remove 'key' and give the path of the private-key file",
    ),
    "password in the URL": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: ssh://audit:hunter2@127.0.0.1:22  # <-
""",
        "applications[0].endpoints[0].url",
        "secrets are referenced, not inlined",
    ),
    "secret where an environment variable name belongs": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: ssh://127.0.0.1:22
        credentials: {username: audit, password_env: "s3cret!pass"}  # <-
""",
        "applications[0].endpoints[0].credentials.password_env",
        "names an environment variable",
    ),
    "kota code in the kabupaten range": (
        HEAD + '  - {code: "32.05", name: Kota Salah, level: kota, province: "32"}  # <-\n',
        "agencies[3].code",
        "a kota code is PP.NN with NN from 71 to 99",
    ),
    "kabupaten code in the kota range": (
        HEAD + '  - {code: "32.71", name: Kabupaten Salah, level: kabupaten, province: "32"}  # <-\n',
        "agencies[3].code",
        "a kabupaten code is PP.NN with NN from 01 to 69",
    ),
    "province does not match the code": (
        HEAD + '  - {code: "33.74", name: Kota Semarang, level: kota, province: "32"}  # <-\n',
        "agencies[3].province",
        "province '32' does not match code '33.74'",
    ),
    "unknown province": (
        HEAD + '  - {code: "20", name: Provinsi Khayalan, level: provinsi, province: "20"}  # <-\n',
        "agencies[3].province",
        "unknown province code '20'",
    ),
    "central code not an identifier": (
        HEAD + "  - {code: kemenkeu, name: Kementerian Keuangan, level: pusat, province: '31'}  # <-\n",
        "agencies[3].code",
        "a pusat code is an uppercase identifier",
    ),
    "unknown level": (
        HEAD + "  - {code: '32.04', name: Kabupaten Bandung, level: kecamatan, province: '32'}  # <-\n",
        "agencies[3].level",
        "Input should be 'pusat', 'provinsi', 'kabupaten' or 'kota'",
    ),
    "unquoted code read as a number": (
        HEAD + "  - {code: 32.10, name: Kabupaten Majalengka, level: kabupaten, province: '32'}  # <-\n",
        "agencies[3].code",
        "quote Kemendagri codes, e.g. '32.10'",
    ),
    "pins on a gRPC endpoint": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: grpc://127.0.0.1:50051
        pins: ["%s"]  # <-
"""
        % PIN,
        "applications[0].endpoints[0].pins",
        "not allowed on a grpc:// endpoint",
    ),
    "malformed pin": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: ssh://127.0.0.1:22
        pins: ["MD5:aa:bb"]  # <-
""",
        "applications[0].endpoints[0].pins[0]",
        "an OpenSSH fingerprint",
    ),
    "unknown scheme": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: https://127.0.0.1:443  # <-
""",
        "applications[0].endpoints[0].url",
        "scheme must be ssh://, grpc:// or grpcs://",
    ),
    "port missing": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: grpc://127.0.0.1  # <-
""",
        "applications[0].endpoints[0].url",
        "give the port explicitly",
    ),
    "duplicate key in a mapping": (
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    name: B  # <-
    agency: KEMENKES
""",
        "applications[0].name",
        "the key 'name' appears twice",
    ),
    "empty scope": (
        HEAD.replace(
            "  networks: [127.0.0.0/8, 10.20.0.0/16]\n  domains: [go.id, localhost]\n", "  {}\n"
        ).replace("scope:", "scope:  # <-"),
        "scope",
        "the scope allows nothing",
    ),
    "bad network": (
        HEAD.replace("10.20.0.0/16", "10.20.0.1/16]  # <-").replace("16]]", "16]"),
        "scope.networks[1]",
        "valid IPv4 or IPv6 network",
    ),
}


# Files the cases reference that exist but cannot work.
UNUSABLE_FILES = {
    "garbage-ca.pem": "-----BEGIN CERTIFICATE-----\nnot base64\n",
    "id_ed25519.pub": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA audit@example\n",
}


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_each_problem_names_file_line_and_field(name, write):
    text, field, phrase = ERROR_CASES[name]
    for file_name, content in UNUSABLE_FILES.items():
        write(content, file_name)
    path = write(text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    problems = caught.value.problems
    assert len(problems) == 1, str(caught.value)
    problem = problems[0]
    assert (problem.file, problem.line, problem.field) == (str(path), marked_line(text), field)
    assert phrase in problem.message
    assert str(problem).startswith(f"{path}:{marked_line(text)}: {field}: ")
    assert "hunter2" not in str(caught.value) and "s3cret" not in str(caught.value)


def test_yaml_syntax_error_has_a_line(write):
    path = write(HEAD + "applications:\n  - id: [unclosed\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert [(p.line, p.field) for p in caught.value.problems] == [(11, "(yaml)")]
    assert "not valid YAML" in caught.value.problems[0].message


def test_all_problems_are_collected_and_sorted_by_line(write):
    text = (
        HEAD
        + """\
  - {code: "32.05", name: Kota Salah, level: kota, province: "32"}
applications:
  - id: app-1
    name: A
    agency: NOWHERE
    endpoints:
      - url: ssh://192.0.2.1:22
        credentials: {username: root, password: x}
      - url: grpc://127.0.0.1:50051
        pins: [bad]
  - id: app-2
    name: 7
    agency: KEMENKES
    endpoints:
      - url: grpc://127.0.0.1:50051
"""
    )
    with pytest.raises(InventoryError) as caught:
        load_inventory(write(text))
    found = [(p.line, p.field) for p in caught.value.problems]
    assert found == [
        (9, "agencies[3].code"),
        (13, "applications[0].agency"),
        (15, "applications[0].endpoints[0].url"),
        (16, "applications[0].endpoints[0].credentials.password"),
        (18, "applications[0].endpoints[1].pins"),
        (18, "applications[0].endpoints[1].pins[0]"),
        (20, "applications[1].name"),
        (23, "applications[1].endpoints[0].url"),
    ]
    assert isinstance(caught.value, ConfigError)
    assert all(isinstance(p, Problem) for p in caught.value.problems)


# -1: every file is "large" and read in a child; the default reads the tiny ones in process.
LOADERS = pytest.mark.parametrize(
    "in_process_max", [-1, model.IN_PROCESS_MAX_BYTES], ids=["child", "in-process"]
)


@LOADERS
def test_endpoint_set_is_what_the_inventory_holds(monkeypatch, in_process_max):
    monkeypatch.setattr(model, "IN_PROCESS_MAX_BYTES", in_process_max)
    inventory = load_inventory(TINY)

    loaded = load_endpoint_set(TINY)

    assert loaded.refs == tuple(inventory.endpoints())
    assert loaded.content_hash == inventory.content_hash
    assert loaded.scope == inventory.scope
    assert loaded.endpoint(loaded.refs[1].endpoint_id) == loaded.refs[1]
    assert len(loaded) == len(inventory)


@LOADERS
def test_endpoint_set_of_a_bad_inventory_raises_every_problem(write, monkeypatch, in_process_max):
    monkeypatch.setattr(model, "IN_PROCESS_MAX_BYTES", in_process_max)
    path = write(HEAD + "applications:\n  - id: app-1\n    name: 7\n    agency: NOWHERE\n    endpoints: []\n")
    with pytest.raises(InventoryError) as direct:
        load_inventory(path)

    with pytest.raises(InventoryError) as loaded:
        load_endpoint_set(path)

    assert loaded.value.problems == direct.value.problems
    assert [(p.line, p.field) for p in loaded.value.problems][:2] == [
        (11, "applications[0].name"),
        (12, "applications[0].agency"),
    ]


def test_a_missing_file_is_a_problem_not_a_crash(tmp_path):
    with pytest.raises(InventoryError) as caught:
        load_inventory(tmp_path / "absent.yaml")
    assert caught.value.problems[0].field == "(file)"


def test_alias_bombs_are_refused(write):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 10) + "]\n"
    with pytest.raises(InventoryError) as caught:
        load_inventory(write(bomb))
    assert "anchors and aliases expand to more than" in str(caught.value)


def test_anchors_for_shared_credentials_work(write, tmp_path):
    path = write(
        HEAD
        + """\
applications:
  - id: app-1
    name: A
    agency: KEMENKES
    endpoints:
      - url: ssh://127.0.0.1:22
        credentials: &audit {username: audit, password_env: AUDIT_PASSWORD}
      - url: ssh://127.0.0.1:23
        credentials: *audit
"""
    )
    targets = [ref.to_target() for ref in load_inventory(path).endpoints()]
    assert [t.credentials for t in targets] == [
        Credentials(username="audit", password_env="AUDIT_PASSWORD")
    ] * 2


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.255.1.1", True),
        ("10.20.3.4", True),
        ("10.21.0.1", False),
        ("192.0.2.1", False),
        ("::1", False),
        ("localhost", True),
        ("LocalHost.", True),
        ("api.localhost", True),
        ("kemkes.go.id", True),
        ("go.id", True),
        ("evilgo.id", False),
        ("go.id.example.com", False),
        ("127.1", False),  # a resolver reads this as 127.0.0.1: not a name
        ("", False),
    ],
)
def test_scope_allows(host, allowed):
    scope = Scope(networks=["127.0.0.0/8", "10.20.0.0/16"], domains=["go.id", ".LocalHost"])
    assert scope.allows(host) is allowed


def test_scope_allows_ipv6_networks():
    scope = Scope(networks=["fd00:5bbe::/32"])
    assert scope.allows("fd00:5bbe::10") and scope.allows("[fd00:5bbe::10]")
    assert not scope.allows("fd00:5bbf::10") and not scope.allows("127.0.0.1")


def test_date_like_text_is_text(write):
    """YAML 1.1 timestamps crashed the reader (2026-13-01) or turned names into dates."""
    path = write(
        HEAD.replace("name: Kota Bandung", "name: 2026-13-01") + "applications:\n"
        "  - {id: app-1, name: 2026-02-30, agency: KEMENKES}\n"
    )
    inventory = load_inventory(path)
    assert inventory.agency("32.73").name == "2026-13-01"
    assert inventory.applications[0].name == "2026-02-30"


@pytest.mark.parametrize(
    "value, field, phrase",
    [
        (
            "!!binary AAAA",
            "applications[0].agency",
            "the YAML tag 'tag:yaml.org,2002:binary' has no place here",
        ),
        ("!!set {KEMENKES}", "applications[0].agency", "has no place here"),
        ("!!int KEMENKES", "applications[0].agency", "'KEMENKES' is not a valid int"),
        ("!!bool maybe", "applications[0].agency", "'maybe' is not a valid bool"),
        ("0x_", "applications[0].agency", "'0x_' is not a valid int"),
        ("!!timestamp tomorrow", "applications[0].agency", "'tomorrow' is not a valid timestamp"),
        ("!!python/object/apply:os.system [true]", "applications[0].agency", "has no place here"),
    ],
)
def test_scalars_yaml_cannot_build_are_located(write, value, field, phrase):
    """Each of these raised a bare ValueError/KeyError/AttributeError, or slipped through as bytes."""
    text = HEAD + f"applications:\n  - id: app-1\n    name: A\n    agency: {value}  # <-\n"
    with pytest.raises(InventoryError) as caught:
        load_inventory(write(text))
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (marked_line(text), field)
    assert phrase in problem.message


def test_merge_keys_recursive_aliases_and_depth(write):
    shared = HEAD + (
        "applications:\n  - &d {id: app-1, name: Shared, agency: KEMENKES}\n  - {<<: *d, id: app-2, name: Own}\n"
    )
    inventory = load_inventory(write(shared))
    assert [(a.id, a.name, a.agency) for a in inventory.applications] == [
        ("app-1", "Shared", "KEMENKES"),
        ("app-2", "Own", "KEMENKES"),
    ]
    recursive = HEAD + "applications: &a [*a]  # <-\n"
    with pytest.raises(InventoryError, match="recursive alias") as caught:
        load_inventory(write(recursive))
    assert caught.value.problems[0].line == marked_line(recursive)
    deep = HEAD + "applications: " + "[" * 120 + "]" * 120 + "\n"
    with pytest.raises(InventoryError, match="nested more than 100 levels deep"):
        load_inventory(write(deep))


@pytest.mark.parametrize("network", ["yes", "167772160", "[10, 0]"])
def test_networks_are_written_as_text(write, network):
    """`yes` read as True became 0.0.0.1/32, an integer an address: both silently widened the scope."""
    text = HEAD.replace("networks: [127.0.0.0/8, 10.20.0.0/16]", f"networks: [127.0.0.0/8, {network}]  # <-")
    with pytest.raises(InventoryError) as caught:
        load_inventory(write(text + "applications: []\n"))
    assert next((p.line, p.field) for p in caught.value.problems) == (marked_line(text), "scope.networks[1]")


@pytest.mark.parametrize(
    "content, line, phrase",
    [(b"version: 1\n# Diskominfo \xe9\n", 2, "not UTF-8 text"), (b"a: \x00\n", 1, "control characters")],
)
def test_bytes_that_are_not_yaml_text_are_located(tmp_path, content, line, phrase):
    path = tmp_path / "inventory.yaml"
    path.write_bytes(content)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    [problem] = caught.value.problems
    assert problem.line == line and phrase in problem.message

"""Every user input is accepted or refused with file, line and field; never a traceback.

Valid documents (inventory, profile, waivers, known_hosts, CSV) are mutated
(types, impossible dates, nesting, unicode, truncation, duplicated keys,
alias bombs, very long strings) and target URLs and command-line values are
generated, then fed to the entry points the CLI uses. The only outcomes
allowed: the input is accepted, or a ``ConfigError`` / ``TargetError`` comes
back whose every problem names the file (and a line, where the document has
lines). Hypothesis is derandomized: the same examples run on every machine.
"""

from __future__ import annotations

import base64
import copy
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from orchestrator.inventory import InventoryError, load_inventory
from orchestrator.inventory.csv import import_csv
from orchestrator.inventory.known_hosts import pins_for
from orchestrator.inventory.schema import parse_endpoint_url
from orchestrator.inventory.targets import TargetError, make_target
from orchestrator.inventory.yaml_nodes import ConfigError, names_from_inventory
from orchestrator.profiles import load_profile
from orchestrator.waivers import load_waivers
from probes.model import Credentials, Target
from probes.ssh.wire import encode_string

DETERMINISTIC = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=500,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --------------------------------------------------------------------------- valid documents

INVENTORY = """\
version: 1
scope:
  networks: [127.0.0.0/8, "::1/128"]
  domains: [localhost, go.id]
agencies:
  - {code: KEMENKES, name: Kementerian Kesehatan, level: pusat, province: "31"}
  - code: "32.73"
    name: Kota Bandung
    level: kota
    province: "32"
applications:
  - id: bdg-simpeg
    name: SIMPEG Kota Bandung
    agency: "32.73"
    endpoints:
      - url: grpc://127.0.0.1:50051
        services: [grpc.health.v1.Health]
        tags: [env=staging]
        vantage: jawa
      - url: ssh://127.0.0.1:2222
        pins: ["SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"]
        credentials: {username: audit, password_env: SPBE_AUDIT_PASSWORD}
  - id: kemenkes-satusehat
    name: SATUSEHAT
    agency: KEMENKES
    endpoints:
      - url: grpcs://localhost:50443
        server_name: satusehat.go.id
"""

PROFILE = """\
name: dinas-kominfo
title: Profil Dinas Kominfo
description: Baseline with local overrides.
extends: spbe-baseline
exclude: ["GRPC-INTR-*"]
checks:
  TLS-CERT-004: {params: {warn_days: 45}}
  SSH-KEX-004: {severity: high, params: {verdict_if_absent: fail}}
  SSH-MAC-001:
    params:
      verdicts: {hmac-sha1: fail}
  GRPC-LAT-001: {enabled: false}
probe:
  deadline_s: 30
  connect_timeout_s: 5
"""

WAIVERS = """\
waivers:
  - id: W-2025-001
    check: SSH-KEX-00*
    agency: "32.04"
    justification: >-
      The appliance offers only NIST-curve key exchange.
    approver: Kepala Diskominfo
    expires: 2026-06-30
  - id: W-2025-002
    check: GRPC-REFL-001
    endpoint: grpc://localhost:50052
    application: jabar-sapawarga
    justification: Reflection is disabled by policy.
    approver: Diskominfo Provinsi Jawa Barat
    expires: 2026-12-31
"""

CSV_TEXT = (
    "agency_code,agency_name,level,province,application_id,application_name,url,services,pins,vantage,tags\n"
    "KEMENKES,Kementerian Kesehatan,pusat,31,kemenkes-satusehat,SATUSEHAT,grpc://127.0.0.1:50051,"
    "grpc.health.v1.Health,,,env=staging\n"
    "KEMENKES,Kementerian Kesehatan,pusat,31,kemenkes-satusehat,SATUSEHAT,ssh://127.0.0.1:2222,,"
    "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s,,\n"
    "32.73,Kota Bandung,kota,32,32-73-simpeg,SIMPEG Kota Bandung,grpc://localhost:50053,,,jawa,\n"
)
CSV_SCOPE = {"networks": ["127.0.0.0/8"], "domains": ["localhost"]}


ED25519_BLOB = encode_string(b"ssh-ed25519") + encode_string(bytes(range(32)))
KNOWN_HOSTS = (
    "# known hosts\n"
    f"[127.0.0.1]:2222 ssh-ed25519 {base64.b64encode(ED25519_BLOB).decode()}\n"
    f"example.go.id,10.0.0.1 ssh-ed25519 {base64.b64encode(ED25519_BLOB).decode()} comment\n"
    f"@revoked *.bad.go.id ssh-ed25519 {base64.b64encode(ED25519_BLOB).decode()}\n"
    f"|1|{base64.b64encode(b'0' * 20).decode()}|{base64.b64encode(b'1' * 20).decode()} ssh-ed25519 "
    f"{base64.b64encode(ED25519_BLOB).decode()}\n"
)


def test_the_documents_mutated_here_are_valid(tmp_path):
    """The mutations start from documents the loaders accept: a refusal is the mutation's doing."""
    (tmp_path / "inventory.yaml").write_text(INVENTORY)
    (tmp_path / "profile.yaml").write_text(PROFILE)
    (tmp_path / "waivers.yaml").write_text(WAIVERS)
    (tmp_path / "fleet.csv").write_text(CSV_TEXT)
    (tmp_path / "known_hosts").write_text(KNOWN_HOSTS)
    assert len(load_inventory(tmp_path / "inventory.yaml")) == 3
    assert load_profile(str(tmp_path / "profile.yaml")).chain == ("dinas-kominfo", "spbe-baseline")
    assert len(load_waivers(tmp_path / "waivers.yaml")) == 2
    assert len(import_csv(tmp_path / "fleet.csv", tmp_path / "fleet.yaml", CSV_SCOPE)) == 3
    known_hosts = tmp_path / "known_hosts"
    assert pins_for(known_hosts, "127.0.0.1", 2222) == pins_for(known_hosts, "example.go.id", 22)
    assert pins_for(tmp_path / "known_hosts", "x.bad.go.id", 22) == []


# --------------------------------------------------------------------------- hostile pieces

LONG = "x" * 100_000
# Raw YAML that a person (or an attacker) could put where a value goes.
RAW_SCALARS = [
    "2026-13-01",
    "2026-02-30",
    "2026-02-30 10:00:00",
    "2026-02-28T25:00:00Z",
    "!!timestamp tomorrow",
    "!!timestamp 2026-13-01",
    "0b_",
    "0x_",
    "0o9",
    "!!int abc",
    "!!float x",
    "!!bool maybe",
    "!!null x",
    ".nan",
    "-.inf",
    "1.0e+400",
    "99999999999999999999999999999999",
    "1:2:3:4:5",
    "~",
    "null",
    "yes",
    "[]",
    "{}",
    "[[[[[[]]]]]]",
    "{a: {b: {c: [1, {d: 2}]}}}",
    "*nowhere",
    "&x value",
    "!!binary AAAA",
    "!!binary a",
    "!!set {a, b}",
    "!!omap [1]",
    "!!python/object/apply:os.system [true]",
    "!custom x",
    '"\\x00"',
    '"\\ud800"',
    '"\\u202e evil"',
    "'unterminated",
    '"unterminated',
    "|\n  block",
    ">-\n  folded",
    "? complex\n  : key",
    "<<: *nowhere",
    "- item",
    "'" + LONG + "'",
    LONG,
    "ľudovít 漢字 👍",
    "\t",
    "@reserved",
    "`reserved",
    "%TAG",
    "#comment",
    ": :",
    "[" * 300 + "]" * 300,
    "{" * 120 + "}" * 120,
]
# A "billion laughs" document fragment: 10^7 nodes when expanded.
BOMB_HEAD = "".join(
    f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 10 if i else ["lol"] * 10) + "]\n" for i in range(8)
)
FRAGMENTS = RAW_SCALARS + [
    "\x00",
    "\x07",
    "\ufeff",
    "\r",
    "\n",
    ":",
    "-",
    "*",
    "&",
    "!",
    "|",
    ">",
    "'",
    '"',
    "#",
]

hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(
        alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FFFF, exclude_categories=["Cs"]), max_size=20
    ),
    st.sampled_from(
        ["", " ", "2026-13-01", "2026-02-30", LONG, "\u202e", "a\nb", "32.10", "../../etc/passwd"]
    ),
)
hostile_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.binary(max_size=8),
    hostile_text,
)
hostile_value = st.recursive(
    hostile_scalar,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.one_of(st.text(max_size=8), st.integers(-3, 3)), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every location in plain data (the root too)."""
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def data_mutation(draw, text: str) -> str:
    """The document as data with one location replaced, removed, wrapped or nested deep; dumped as YAML."""
    data = copy.deepcopy(yaml.safe_load(text))
    path = draw(st.sampled_from(_paths(data)))
    action = draw(st.sampled_from(["replace", "replace", "delete", "wrap", "deep", "add"]))
    if not path:
        data = draw(hostile_value)
    else:
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        if action == "replace":
            parent[last] = draw(hostile_value)
        elif action == "delete":
            del parent[last]
        elif action == "wrap":
            parent[last] = draw(st.sampled_from([[parent[last]], {"x": parent[last]}]))
        elif action == "deep":
            value: Any = parent[last]
            for _ in range(draw(st.integers(50, 200))):
                value = [value]
            parent[last] = value
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(hostile_value)
        else:
            parent.append(draw(hostile_value))
    return yaml.safe_dump(data, allow_unicode=draw(st.booleans()), width=draw(st.sampled_from([40, 2**20])))


@st.composite
def text_mutation(draw, text: str) -> str:
    """The text with a raw YAML value put in, a line duplicated, an alias bomb, or cut short."""
    lines = text.splitlines(keepends=True) or ["\n"]
    action = draw(
        st.sampled_from(["value", "value", "value", "insert", "duplicate", "truncate", "bomb", "drop"])
    )
    index = draw(st.integers(0, len(lines) - 1))
    if action == "value":
        line = lines[index]
        head, colon, _ = line.partition(": ")
        if not colon:
            head, colon = line.rstrip("\n").rstrip(":"), ":"
        lines[index] = f"{head}{colon} {draw(st.sampled_from(RAW_SCALARS))}\n"
    elif action == "insert":
        at = draw(st.integers(0, len(lines[index])))
        piece = draw(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=5)))
        lines[index] = lines[index][:at] + piece + lines[index][at:]
    elif action == "duplicate":
        lines.insert(index, lines[index])
    elif action == "truncate":
        whole = "".join(lines)
        return whole[: draw(st.integers(0, len(whole)))]
    elif action == "bomb":
        line = lines[index]
        head, colon, _ = line.partition(": ")
        lines[index] = f"{head}: *b7\n" if colon else line
        return BOMB_HEAD + "".join(lines)
    else:
        del lines[index]
    return "".join(lines)


def mutated(text: str) -> st.SearchStrategy[str]:
    return st.one_of(data_mutation(text), text_mutation(text), text_mutation(text).flatmap(text_mutation))


# --------------------------------------------------------------------------- the property

LINE_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # an upper bound: YAML's, CSV's and sshd's breaks


def assert_accepted_or_located(load, path: Path, text: str | None, *, error=ConfigError) -> Any:
    """``load()`` returns, or raises ``error`` whose every problem names ``path`` and a line inside it."""
    try:
        accepted = load()
    except error as exc:
        event(f"refused: {exc.problems[0].field if exc.problems else '?'}"[:40])
        assert exc.problems, "a refusal says why"
        last_line = len(LINE_BREAKS.split(text)) if text is not None else None
        for problem in exc.problems:
            assert problem.file == str(path), str(exc)
            assert problem.message.strip(), str(exc)
            assert str(path) in str(problem)
            if problem.field == "(file)":
                continue  # cannot read at all: no line to name
            assert problem.field, f"no field: {problem}"
            if last_line is not None:
                assert problem.line is not None and 1 <= problem.line <= last_line, str(problem)
        return None
    event("accepted")
    return accepted


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("inputs")


def _write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))


@DETERMINISTIC
@given(text=mutated(INVENTORY))
def test_mutated_inventories(scratch, text):
    path = scratch / "inventory.yaml"
    _write(path, text)
    assert_accepted_or_located(lambda: load_inventory(path), path, text, error=InventoryError)
    names = names_from_inventory(str(path))  # the report's name lookup reads the same file
    assert names is None or set(names) == {"agencies", "applications"}


@DETERMINISTIC
@given(text=mutated(PROFILE))
def test_mutated_profiles(scratch, text):
    path = scratch / "profile.yaml"
    _write(path, text)
    profile = assert_accepted_or_located(lambda: load_profile(str(path)), path, text)
    if profile is not None:
        assert profile.digest  # the selection can be hashed: plain, finite, not a bomb
        options = profile.options
        for seconds in (options.deadline_s, options.connect_timeout_s, options.read_timeout_s):
            assert seconds is None or (math.isfinite(seconds) and seconds > 0)


@DETERMINISTIC
@given(text=mutated(WAIVERS))
def test_mutated_waivers(scratch, text):
    path = scratch / "waivers.yaml"
    _write(path, text)
    waivers = assert_accepted_or_located(lambda: load_waivers(path), path, text)
    if waivers is not None:
        for waiver in waivers.all:
            assert waiver.expires.isoformat()


@DETERMINISTIC
@given(
    raw=st.one_of(
        text_mutation(KNOWN_HOSTS).map(str.encode),
        st.binary(max_size=200),
        st.tuples(st.just(KNOWN_HOSTS.encode()), st.binary(max_size=20)).map(lambda parts: b"".join(parts)),
    ),
    host=st.sampled_from(["127.0.0.1", "example.go.id", "x.bad.go.id", "::1"]),
    port=st.sampled_from([22, 2222]),
)
def test_mutated_known_hosts(scratch, raw, host, port):
    path = scratch / "known_hosts"
    path.write_bytes(raw)
    pins = assert_accepted_or_located(
        lambda: pins_for(path, host, port), path, raw.decode("utf-8", "replace")
    )
    assert pins is None or all(pin.startswith("SHA256:") and len(pin) == 50 for pin in pins)


csv_cell = st.one_of(
    hostile_text,
    st.sampled_from(
        ["kotamadya", "KOTA", "32.10", "1e3", '"', '""', ",", ";", "\n", "\r\n", "\x00", LONG * 2]
    ),
)


@st.composite
def csv_mutation(draw) -> bytes:
    rows = [line.split(",") for line in CSV_TEXT.splitlines()]
    action = draw(st.sampled_from(["cell", "cell", "short", "long", "truncate", "bytes", "header"]))
    row = draw(st.integers(1 if action != "header" else 0, len(rows) - 1))
    if action in ("cell", "header"):
        rows[row][draw(st.integers(0, len(rows[row]) - 1))] = draw(csv_cell)
    elif action == "short":
        rows[row] = rows[row][: draw(st.integers(0, len(rows[row]) - 1))]
    elif action == "long":
        rows[row] += draw(st.lists(csv_cell, min_size=1, max_size=3))
    text = "\n".join(",".join(cells) for cells in rows) + "\n"
    data = text.encode("utf-8")
    if action == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif action == "bytes":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
    return data


@DETERMINISTIC
@given(raw=csv_mutation())
def test_mutated_csv_imports(scratch, raw):
    path, out = scratch / "fleet.csv", scratch / "fleet-out.yaml"
    path.write_bytes(raw)
    out.unlink(missing_ok=True)
    text = raw.decode("utf-8", "replace")
    inventory = assert_accepted_or_located(
        lambda: import_csv(path, out, CSV_SCOPE), path, text, error=InventoryError
    )
    assert (inventory is not None) == out.exists(), "written exactly when valid"


# --------------------------------------------------------------------------- URLs and options

schemes = st.sampled_from(["ssh", "grpc", "grpcs", "SSH", "http", "", "ssh+x", "g rpc", "grpc\x00"])
hosts = st.one_of(
    st.sampled_from(
        [
            "127.0.0.1",
            "[::1]",
            "::1",
            "[::1",
            "::1]",
            "[fe80::1%eth0]",
            "[v1.x]",
            "localhost",
            "bücher.de",
            "127.1",
            "2130706433",
            "-bad-.go.id",
            "a" * 300,
            "",
            "[]",
            "[[::1]]",
            "h@x",
            "user:pw@h",
            "%00",
            "h/o",
            "h?x",
            "h#x",
            "h\\x",
            "١٢٧.٠.٠.١",
        ]
    ),
    st.text(max_size=12),
)
ports = st.one_of(
    st.sampled_from(
        [
            "",
            ":",
            ":22",
            ":0",
            ":65535",
            ":65536",
            ":-1",
            ":+22",
            ":٢٢",
            ": 22",
            ":0x16",
            ":99999999999999999999",
            ":22:22",
            ":22/",
            ":22/x",
            ":22?q",
            ":22#f",
        ]
    ),
    st.integers(-10, 10**6).map(lambda n: f":{n}"),
    st.text(max_size=5).map(lambda t: ":" + t),
)
hostile_urls = st.one_of(
    st.builds(
        lambda s, sep, h, p: f"{s}{sep}{h}{p}",
        schemes,
        st.sampled_from(["://", ":/", ":", "//", ":///"]),
        hosts,
        ports,
    ),
    st.text(max_size=40),
    st.sampled_from(
        ["grpc://[::1:50051", "ssh://", "://", "ssh://" + "a" * 5000 + ":22", "ssh://h:22\n", "ssh://h\t:22"]
    ),
)


@DETERMINISTIC
@given(url=hostile_urls)
def test_hostile_urls_are_targets_or_target_errors(url):
    try:
        target = make_target(url)
    except TargetError as exc:
        assert "URL" in str(exc) and str(exc).strip()
        return
    assert isinstance(target, Target)
    assert target.scheme in ("ssh", "grpc", "grpcs") and 1 <= target.port <= 65535
    assert target.host and not any(ch.isspace() or not ch.isprintable() for ch in target.host)
    try:  # the inventory's own parser gives the same answer, or asks for the explicit port
        assert parse_endpoint_url(target.url)[1:] == (target.host, target.port)
    except ValueError:
        pytest.fail(f"{url!r} became a target whose URL {target.url!r} the inventory refuses")


option_values = st.one_of(
    hostile_text,
    st.sampled_from(
        [
            "grpc.health.v1.Health",
            "SHA256:" + "A" * 43,
            "32.73",
            "KEMENKES",
            "bdg-simpeg",
            "satusehat.go.id",
            "SPBE_PW",
        ]
    ),
)


@DETERMINISTIC
@given(
    url=st.sampled_from(["ssh://127.0.0.1:22", "grpc://127.0.0.1:50051", "grpcs://localhost:443"]),
    services=st.lists(option_values, max_size=2),
    pins=st.lists(option_values, max_size=2),
    server_name=st.none() | option_values,
    agency=st.none() | option_values,
    application=st.none() | option_values,
    user=st.none() | option_values,
    password_env=option_values,
)
def test_command_line_values_are_checked(
    url, services, pins, server_name, agency, application, user, password_env
):
    credentials = None if user is None else Credentials(username=user, password_env=password_env)
    try:
        target = make_target(
            url,
            services=tuple(services),
            pins=tuple(pins),
            server_name=server_name,
            agency=agency,
            application=application,
            credentials=credentials,
        )
    except TargetError as exc:
        assert str(exc).startswith("--"), f"names the option: {exc}"
        return
    for value in [*target.services, *target.pins, target.agency or "", target.application or ""]:
        assert value == value.strip() and value.isprintable() and len(value) < 300


def test_a_national_size_alias_expansion_is_refused_quickly(scratch):
    """10^7 nodes behind eight anchors: refused by counting, never built or hashed."""
    for name, load, error in [
        ("inventory.yaml", load_inventory, InventoryError),
        ("profile.yaml", lambda p: load_profile(str(p)), ConfigError),
        ("waivers.yaml", load_waivers, ConfigError),
    ]:
        path = scratch / name
        path.write_text(BOMB_HEAD + "name: *b7\n")
        with pytest.raises(error, match="anchors and aliases expand to more than"):
            load(path)

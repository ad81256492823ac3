"""Reason templates (probes.messages): the catalogue, rendering, and reasons of real servers in Indonesian."""

from __future__ import annotations

import ast
import asyncio
import json
import pickle
import re
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.endpoint_meta import EndpointMeta
from orchestrator.store import Store
from orchestrator.testbed.process import free_port
from probes import registry
from probes.errors import NotApplicable, Undetermined, describe_error, error_message
from probes.messages import CATALOGUE, Message, render, render_reason
from probes.model import LANGUAGES, CheckResult, Severity, Status, Target, Verdict
from probes.runner import ProbeOptions, run_probe

PROBES = Path(__file__).resolve().parents[2] / "probes"


def fields(key: str, lang: str) -> dict[str, str]:
    """A template's placeholders and the format spec of each ("" when none)."""
    return {name: spec for _, name, spec, _ in string.Formatter().parse(CATALOGUE[key][lang]) if name}


def words(text: str) -> set[str]:
    """Words of three letters or more, case kept: a value's ``NOT_FOUND`` is not a frame's ``not``."""
    return set(re.findall(r"[A-Za-z]{3,}", text))


def frame(text: str) -> str:
    """A template without its placeholders: the words a reader's language must carry."""
    return re.sub(r"\{[^}]*\}", " ", text)


def english_words(message: Message) -> set[str]:
    """Words of the English frames of ``message`` (nested ones too) that its Indonesian frames lack."""
    templates = CATALOGUE[message.key]
    found = words(frame(templates["en"])) - words(frame(templates["id"]))
    for value in message.params.values():
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, Message):
                found |= english_words(item)
    return found


# -- the catalogue ------------------------------------------------------------------------------


def test_every_template_exists_in_every_language_with_the_same_fields():
    for key, templates in CATALOGUE.items():
        assert set(templates) == set(LANGUAGES), key
        assert all(text.strip() for text in templates.values()), key
        # A field only one language uses would render in one and fall back in the other.
        assert len({frozenset(fields(key, lang).items()) for lang in LANGUAGES}) == 1, key


def test_every_frame_is_translated():
    """Only glue (``{fact}: {why}``) reads the same in both languages: every frame with words differs."""
    for key, templates in CATALOGUE.items():
        if words(frame(templates["en"])):
            assert templates["id"] != templates["en"], key


def test_every_template_is_used_by_a_probe():
    users = [path for path in PROBES.rglob("*.py") if path.name != "reasons.py"]
    users.append(PROBES.parent / "orchestrator" / "engine" / "shard.py")  # a probe that never reported
    source = "".join(path.read_text(encoding="utf-8") for path in users)
    unused = [key for key in CATALOGUE if f'"{key}"' not in source]
    assert unused == []


def test_every_key_a_probe_names_is_in_the_catalogue():
    """Message("key"), Verdict.of(status, evidence, "key") and the tables of keys the checks look up."""
    from probes.grpc.checks import HEALTH_REFUSALS, LIST_FRAMES
    from probes.grpc.gather import TLS_FAILURES
    from probes.ssh.checks import LIST_CHECKS
    from probes.tls.checks import SUITE_LACKS

    named = {row.what for row in LIST_CHECKS} | {key for _, key in TLS_FAILURES}
    named |= set(HEALTH_REFUSALS.values()) | set(LIST_FRAMES.values()) | set(SUITE_LACKS.values())
    sources = [*PROBES.rglob("*.py"), PROBES.parent / "orchestrator" / "engine" / "shard.py"]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            callee = ast.unparse(node.func)
            position = {"Message": 0, "Verdict.of": 2}.get(callee)
            if position is not None and len(node.args) > position:
                key = node.args[position]
                if isinstance(key, ast.Constant):
                    named.add(key.value)
    assert len(named) > 100
    assert sorted(named - set(CATALOGUE)) == []


# -- rendering ----------------------------------------------------------------------------------


def test_values_stay_verbatim_and_only_the_frame_is_translated():
    what = Message("ssh.what.weak_ciphers")
    names, lesser = ["3des-cbc", "aes128-cbc"], ["x{y}"]  # a server's braces are text, not a field
    message = Message("ssh.offered_also", {"what": what, "names": names, "lesser": lesser})
    assert render(message, "en") == "weak ciphers offered: 3des-cbc, aes128-cbc; also discouraged: x{y}"
    assert render(message, "id") == (
        "cipher lemah ditawarkan: 3des-cbc, aes128-cbc; juga tidak dianjurkan: x{y}"
    )
    days = Message("tls.days_left_below", {"days": 12.0, "threshold": 30})
    assert render(days, "id") == "masa berlaku tersisa 12 hari (ambang batas 30)"
    quoted = Message("grpc.identity_field", dict(field="agency_code", observed="00.00", expected="32.73"))
    assert render(quoted, "id") == "agency_code '00.00' (seharusnya '32.73')"


def test_render_reason_falls_back_to_the_stored_reason():
    assert render_reason("as stored", None, "id") == "as stored"
    assert render_reason("as stored", Message("no.such.key"), "id") == "as stored"
    no_what = Message("ssh.offered", {"names": ["a"]})
    assert render_reason("as stored", no_what, "id") == "as stored"
    not_a_number = Message("tls.days_left", {"days": "many"})
    assert render_reason("as stored", not_a_number, "id") == "as stored"
    assert render_reason("as stored", Message("ssh.strict_kex"), "xx") == "as stored"  # no such language
    assert render_reason("as stored", Message("ssh.strict_kex"), "id") == "strict key exchange ditawarkan"


def test_messages_are_plain_json_and_pickle():
    message = Message(
        "grpc.misregistered",
        {
            "fields": [
                Message(
                    "grpc.identity_field", {"field": "agency_code", "observed": "00.00", "expected": "32.73"}
                ),
            ]
        },
    )
    data = json.loads(json.dumps(message.to_dict()))
    assert Message.from_dict(data) == message
    assert pickle.loads(pickle.dumps(message)) == message  # noqa: S301 - the bytes were made one line up
    with pytest.raises(TypeError):
        Message("ssh.offered", {"names": {"a", "b"}})  # a set is not JSON
    with pytest.raises(TypeError):
        Message("ssh.offered", {"names": b"bytes"})
    for bad in ({"key": "k"}, {"key": 1, "params": {}}, {"key": "k", "params": []}, [], None):
        with pytest.raises(ValueError):  # noqa: PT011 - each case is refused at a different step
            Message.from_dict(bad)


def test_a_verdict_and_an_exception_with_a_message_read_as_its_english():
    message = Message("ssh.rsa_bits_below", {"bits": 1024, "limit": 2048})
    assert Verdict(Status.FAIL, message=message).reason == "1024-bit RSA host key (below 2048)"
    assert Verdict(Status.FAIL, "kept as written", message=message).reason == "kept as written"
    assert str(Undetermined(message=message)) == "1024-bit RSA host key (below 2048)"
    assert NotApplicable(message=message).message is message
    result = CheckResult("SSH-HKEY-002", Status.FAIL, Severity.HIGH, "r", message=message)
    assert result.to_dict()["message"] == {"key": message.key, "params": {"bits": 1024, "limit": 2048}}
    assert CheckResult("SSH-HKEY-002", Status.PASS, Severity.HIGH).to_dict()["message"] is None


def test_error_templates_read_as_describe_error():
    for exc in (
        TimeoutError(),
        TimeoutError("after 5 s"),
        ConnectionRefusedError(),
        ConnectionResetError(),
        asyncio.IncompleteReadError(b"abc", 10),
    ):
        assert render(error_message(exc), "en") == describe_error(exc)
    assert error_message(ValueError("x")) is None


# Values: text (anything a server may send, braces included), numbers, nested phrases and lists.
TEXT = st.text(max_size=30)
NUMBER = st.one_of(st.integers(-(10**9), 10**9), st.floats(allow_nan=True, allow_infinity=True))
PHRASE = st.sampled_from([key for key in CATALOGUE if not fields(key, "en")]).map(Message)
LIST = st.lists(st.one_of(TEXT, PHRASE), max_size=4)
VALUE = st.one_of(TEXT, st.none(), st.booleans(), NUMBER, PHRASE, LIST)


@settings(max_examples=300, deadline=None)
@given(
    key=st.one_of(st.sampled_from(sorted(CATALOGUE)), TEXT),
    params=st.dictionaries(st.sampled_from(["what", "names", "days", "code", "x"]), VALUE, max_size=4),
    lang=st.sampled_from([*LANGUAGES, "xx"]),
)
def test_any_message_renders_or_falls_back_without_raising(key, params, lang):
    assert isinstance(render_reason("stored", Message(key, params), lang), str)


@settings(max_examples=400, deadline=None)
@given(key=st.sampled_from(sorted(CATALOGUE)), data=st.data())
def test_well_formed_params_render_in_every_language_with_their_values_verbatim(key, data):
    params, texts = {}, []
    for name, spec in fields(key, "en").items():
        if spec:  # a number format
            params[name] = data.draw(NUMBER)
        else:
            params[name] = data.draw(st.one_of(TEXT, PHRASE, st.lists(TEXT, max_size=3)))
            texts += params[name] if isinstance(params[name], list) else [params[name]]
    message = Message(key, params)
    for lang in LANGUAGES:
        rendered = render(message, lang)
        if "!r" not in CATALOGUE[key][lang]:  # repr() quotes and escapes a value
            assert all(text in rendered for text in texts if isinstance(text, str))


# -- real servers: probe, store, read back, render in Indonesian --------------------------------


def _stored(tmp_path: Path, *targets: Target) -> list:
    """Probe each target with every check, record the reports in a store and read the rows back."""
    options = ProbeOptions(deadline_s=20.0, connect_timeout_s=5.0, read_timeout_s=5.0)
    reports = [asyncio.run(run_probe(target, None, options)) for target in targets]
    metas = [EndpointMeta(r.target, r.target, t.scheme) for r, t in zip(reports, targets, strict=True)]
    with Store(tmp_path / "results.db") as store:
        sweep = store.create_sweep(
            inventory_path="inv.yaml",
            inventory_hash="h",
            inventory_name="e2e",
            profile="baseline",
            profile_hash="p",
            engine="local",
            endpoints=metas,
            options={},
        )
        store.record_many(sweep, [(r.target, r) for r in reports])
        rows = list(store.results(sweep))
    fresh = {(r.target, c.check_id): c for r in reports for c in r.results}
    for row in rows:  # what was probed is what reads back
        probed = fresh[row.url, row.check_id]
        assert (row.reason, row.message) == (probed.reason, probed.message)
    return rows


def _assert_indonesian(rows) -> None:
    for row in rows:
        if row.message is None:
            continue
        english = render(row.message, "en")
        indonesian = render_reason(row.reason, row.message, "id")
        assert english == row.reason, row.check_id  # the stored reason is the English rendering
        assert not words(indonesian) & english_words(row.message), (row.check_id, indonesian)


def test_reasons_of_a_debian_default_openssh_read_in_indonesian(default_sshd, tmp_path):
    rows = _stored(tmp_path, Target("ssh", "127.0.0.1", default_sshd.port))
    _assert_indonesian(rows)
    by_check = {row.check_id: row for row in rows}
    macs = by_check["SSH-MAC-001"]  # Debian's defaults offer SHA-1 and 64-bit MACs: a warning
    assert macs.status is Status.WARN and macs.message.key == "ssh.offered"
    flagged = [f["algorithm"] for f in macs.evidence["findings"] if f["verdict"] == "warn"]
    assert render_reason(macs.reason, macs.message, "id") == f"MAC lemah ditawarkan: {', '.join(flagged)}"
    assert by_check["SSH-BANNER-001"].message == Message("ssh.banner.accepted", {"version": "2.0"})
    # Every reason of a server that answered has its template, except the neutral skips that
    # name where a missing expectation is given (pins, credentials).
    untemplated = {row.check_id for row in rows if row.message is None}
    assert untemplated == {row.check_id for row in rows if "missing_expectation" in row.evidence}


def test_reasons_of_grpc_answers_and_of_an_unreachable_target_read_in_indonesian(grpc_server, tmp_path):
    # The server says it is 32.73's; the inventory says 31.71's, and declares a service it does not serve.
    misregistered = grpc_server.target(
        "ok", agency="31.71", application="bdg-perizinan", services=("sikd.v1.Surat",)
    )
    closed = Target("grpc", "127.0.0.1", free_port())
    rows = _stored(tmp_path, misregistered, closed)
    _assert_indonesian(rows)
    by_check = {(row.url, row.check_id): row for row in rows}
    row = by_check[misregistered.url, "GRPC-IDEN-002"]
    assert render_reason(row.reason, row.message, "id") == (
        "endpoint salah terdaftar: agency_code '32.73' (seharusnya '31.71')"
    )
    row = by_check[misregistered.url, "GRPC-HLTH-002"]
    assert render_reason(row.reason, row.message, "id") == (
        "tidak berstatus SERVING: sikd.v1.Surat (NOT_FOUND)"
    )
    row = by_check[misregistered.url, "GRPC-REFL-002"]
    assert render_reason(row.reason, row.message, "id") == "tidak dicantumkan oleh reflection: sikd.v1.Surat"
    assert all(
        row.message == Message("probe.plaintext_no_tls")
        for row in rows
        if registry.get_check(row.check_id).protocol == "tls"
    )
    unreachable = [row for row in rows if row.url == closed.url and row.status is Status.ERROR]
    assert unreachable and all(row.message is not None for row in unreachable)
    said = f"target tidak dapat dijangkau: 127.0.0.1:{closed.port}: koneksi ditolak"
    assert all(render_reason(row.reason, row.message, "id").endswith(said) for row in unreachable)

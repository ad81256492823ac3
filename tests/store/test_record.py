"""Recording results: hostile text, and reason messages beside their reasons."""

import json


def test_lone_surrogates_from_a_server_do_not_lose_the_batch(tmp_path):
    # Undecodable bytes surface in Python as lone surrogates; SQLite stores UTF-8 only.
    from orchestrator.endpoint_meta import EndpointMeta
    from orchestrator.store import Store
    from probes.model import CheckResult, ProbeReport, Severity, Status

    store = Store(tmp_path / "r.db")
    endpoint = EndpointMeta(
        "ssh://127.0.0.1:22", "ssh://127.0.0.1:22", "ssh", "32.73", "kota", "32", "app", None
    )
    sweep = store.create_sweep(
        inventory_path="i.yaml",
        inventory_hash="h",
        inventory_name="n",
        profile="p",
        profile_hash="d",
        engine="local",
        endpoints=[endpoint],
        options={},
    )
    hostile = "banner \udcff end"
    report = ProbeReport(
        target=endpoint.url,
        results=[CheckResult("SSH-BANNER-001", Status.FAIL, Severity.HIGH, hostile, {"observed": hostile})],
        duration_s=0.1,
        facts={"ssh": {"banner": hostile}},
    )
    store.record(sweep, endpoint.endpoint_id, report)
    row = next(iter(store.results(sweep)))
    assert row.evidence["observed"] == hostile
    assert "\udcff" not in row.reason and row.reason.startswith("banner ")
    store.close()


def test_reason_messages_are_stored_beside_the_reason_and_read_back(store, make_sweep):
    # A result with a template keeps its key and values (nested phrases, lists, numbers);
    # one without is NULL.
    from probes.messages import Message, render
    from probes.model import CheckResult, ProbeReport, Severity, Status

    from .conftest import endpoint

    ep = endpoint(1)
    sweep = make_sweep([ep])
    field = Message("grpc.identity_field", {"field": "agency_code", "observed": "00.00", "expected": "32.73"})
    messages = {
        "GRPC-IDEN-002": Message("grpc.misregistered", {"fields": [field]}),
        "TLS-CERT-004": Message("tls.days_left_below", {"days": 12.5, "threshold": 30}),
        "SSH-MAC-001": Message("ssh.offered", {"what": Message("ssh.what.weak_macs"), "names": ["hmac-md5"]}),
        "SSH-BANNER-001": Message("ssh.banner.refused", {"version": "1.\udcff"}),  # undecodable server bytes
        "SSH-KEX-001": None,
    }
    results = [
        CheckResult(check_id, Status.FAIL, Severity.HIGH, render(m, "en") if m else "as written", message=m)
        for check_id, m in messages.items()
    ]
    store.record(sweep, ep.endpoint_id, ProbeReport(ep.url, results, 0.1))

    assert {row.check_id: row.message for row in store.results(sweep)} == messages
    stored = dict(store._conn().execute("SELECT check_id, message FROM results"))
    assert stored["SSH-KEX-001"] is None  # no template: NULL, no JSON written
    assert json.loads(stored["TLS-CERT-004"]) == {
        "key": "tls.days_left_below",
        "params": {"days": 12.5, "threshold": 30},
    }

    # A diff carries the newer side's message with its reason.
    later = make_sweep([ep])
    matches = Message("grpc.identity_matches")
    fixed = CheckResult("GRPC-IDEN-002", Status.PASS, Severity.HIGH, render(matches, "en"), message=matches)
    store.record(later, ep.endpoint_id, ProbeReport(ep.url, [fixed], 0.1))
    fixes = {entry.check_id: entry for entry in store.diff(sweep, later).fixes}
    assert fixes["GRPC-IDEN-002"].message == Message("grpc.identity_matches")


def test_a_stored_message_that_does_not_parse_reads_as_none_and_the_reason_stands(store, make_sweep):
    from .conftest import endpoint, report

    ep = endpoint(1)
    sweep = make_sweep([ep])
    store.record(sweep, ep.endpoint_id, report(ep.url))
    with store._conn() as conn:
        bad = {"SSH-KEX-001": '{"key": "x"', "SSH-KEX-002": '{"key": 1, "params": {}}'}  # cut, wrong type
        update = "UPDATE results SET message = ? WHERE check_id = ?"
        conn.executemany(update, [(message, check_id) for check_id, message in bad.items()])
    rows = {row.check_id: row for row in store.results(sweep)}
    assert rows["SSH-KEX-001"].message is None and rows["SSH-KEX-001"].reason == "SSH-KEX-001 is pass"
    assert rows["SSH-KEX-002"].message is None

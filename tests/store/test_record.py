

def test_lone_surrogates_from_a_server_do_not_lose_the_batch(tmp_path):
    # Undecodable bytes surface in Python as lone surrogates; SQLite stores UTF-8 only.
    from orchestrator.endpoint_meta import EndpointMeta
    from orchestrator.store import Store
    from probes.model import CheckResult, ProbeReport, Severity, Status

    store = Store(tmp_path / "r.db")
    endpoint = EndpointMeta("ssh://127.0.0.1:22", "ssh://127.0.0.1:22", "ssh", "32.73", "kota", "32", "app", None)
    sweep = store.create_sweep(
        inventory_path="i.yaml", inventory_hash="h", inventory_name="n", profile="p", profile_hash="d",
        engine="local", endpoints=[endpoint], options={},
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

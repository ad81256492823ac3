"""Planning the fleet: pure functions over inventory endpoints, no process started."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.inventory import EndpointRef, synthetic
from orchestrator.testbed import netns, sshd
from orchestrator.testbed.fleet import document_ca_files
from orchestrator.testbed.fleet_plan import (
    GRPC_BEHAVIOURS,
    LEGACY_BACKEND_OFFSET,
    SSH_BEHAVIOURS,
    TLS_TAG,
    FleetError,
    certificate_key,
    check_endpoints,
    grpc_address,
    grpc_specs,
    plan_fleet,
)
from orchestrator.testbed.grpc_spec import WRONG


def ref(
    url: str,
    behaviour: str | None = None,
    agency: str = "32.73",
    app: str = "sikd",
    services: tuple[str, ...] = (),
) -> EndpointRef:
    scheme, rest = url.split("://")
    host, port = rest.rsplit(":", 1)
    return EndpointRef(
        url,
        url,
        scheme,
        host,
        int(port),
        agency,
        "kota",
        "32",
        app,
        None,
        (f"testbed={behaviour}",) if behaviour else (),
        services,
    )


def test_every_generated_behaviour_has_a_server():
    assert {b for b, _ in synthetic.GRPC_BEHAVIOURS} == set(GRPC_BEHAVIOURS)
    assert {b for b, _ in synthetic.SSH_BEHAVIOURS} == set(SSH_BEHAVIOURS)
    assert {f.profile for f in SSH_BEHAVIOURS.values() if f.server == "openssh"} <= set(sshd.SSHD_PROFILES)


def test_ssh_endpoints_are_grouped_per_behaviour_within_each_servers_cap():
    refs = [ref(f"ssh://127.1.{i % 3}.1:{10000 + i}", "legacy") for i in range(40)]
    refs += [ref(f"ssh://127.2.0.1:{10000 + i}", "dropbear") for i in range(21)]

    plan = plan_fleet(refs)

    sizes = {(g.behaviour, len(g.addresses)) for g in plan.ssh}
    assert sorted(len(g.addresses) for g in plan.ssh if g.behaviour == "legacy") == [8, 16, 16]
    assert sorted(len(g.addresses) for g in plan.ssh if g.behaviour == "dropbear") == [1, 10, 10]
    assert ("legacy", 16) in sizes and plan.grpc == ()
    assert sorted(a for g in plan.ssh for a in g.addresses) == sorted((r.host, r.port) for r in refs)


def test_grpc_endpoints_are_chunked_into_processes():
    refs = [ref(f"grpc://127.1.0.1:{20000 + i}", "conformant") for i in range(25)]

    plan = plan_fleet(refs, grpc_per_process=10)

    assert [len(g.endpoints) for g in plan.grpc] == [10, 10, 5]
    assert len({g.name for g in plan.grpc}) == 3


def test_namespace_mode_groups_by_namespace_first():
    refs = [
        ref("grpc://10.250.0.1:20000"),
        ref("grpc://10.250.0.2:20000"),
        ref("ssh://10.250.0.1:10000"),
        ref("ssh://10.250.0.2:10000"),
    ]
    topology = netns.plan("abc123", [r.host for r in refs])

    plan = plan_fleet(refs, topology.namespace_of)

    assert [(g.namespace, [r.host for r in g.endpoints]) for g in plan.grpc] == [
        ("spbe-abc123-h0", ["10.250.0.1"]),
        ("spbe-abc123-h1", ["10.250.0.2"]),
    ]
    assert [(g.namespace, g.addresses) for g in plan.ssh] == [
        ("spbe-abc123-h0", (("10.250.0.1", 10000),)),
        ("spbe-abc123-h1", (("10.250.0.2", 10000),)),
    ]
    assert topology.namespaces == ["spbe-abc123-hub", "spbe-abc123-h0", "spbe-abc123-h1", "spbe-abc123-probe"]


def test_specs_carry_each_endpoints_identity_and_behaviour():
    group = plan_fleet(
        [
            ref("grpc://127.1.0.1:20000", "conformant", "32.73", "bdg-1", ("spbe.aset.v1.AsetService",)),
            ref("grpc://127.1.1.1:20000", "conformant", "KEMENKES", "kes-1"),
            ref("grpc://127.1.1.1:20001", "wrong-identity", "KEMENKES", "kes-2"),
            ref("grpc://127.1.1.1:20002", "slow", "KEMENKES", "kes-3"),
        ]
    ).grpc[0]

    specs = {spec.name: spec for spec in grpc_specs(group, latency_s=0.1, certificates={})}

    assert [(x.host, x.port, x.identity, x.services) for x in specs["conformant"].listeners] == [
        ("127.1.0.1", 20000, ("32.73", "bdg-1"), ("spbe.aset.v1.AsetService",)),
        ("127.1.1.1", 20000, ("KEMENKES", "kes-1"), ()),
    ]
    assert specs["wrong-identity"].identity == WRONG
    assert specs["slow"].latency_s == pytest.approx(0.7)
    assert specs["conformant"].latency_s == pytest.approx(0.1)


def test_refuses_addresses_it_must_not_bind_and_unknown_behaviours():
    with pytest.raises(FleetError) as caught:
        check_endpoints(
            [
                ref("grpc://192.0.2.2:20000"),
                ref("ssh://127.1.0.1:10000", "tinyssh"),
                ref("grpc://127.1.0.1:20000", "conformant"),
            ],
            use_netns=False,
        )
    message = str(caught.value)
    assert "grpc://192.0.2.2:20000: the testbed serves only IPv4 addresses in 127.0.0.0/8" in message
    assert "unknown ssh behaviour 'tinyssh'" in message
    assert "127.1.0.1:20000" not in message
    with pytest.raises(FleetError, match=r"10\.250\.0\.0/16"):
        check_endpoints([ref("grpc://127.1.0.1:20000")], use_netns=True)


def test_namespace_plan_refuses_addresses_outside_its_range():
    with pytest.raises(netns.NetnsError, match=r"not a host address of 10\.250\.0\.0/16"):
        netns.plan("abc", ["127.1.0.1"])
    with pytest.raises(netns.NetnsError, match="probe's"):
        netns.plan("abc", [netns.PROBE_ADDRESS])
    with pytest.raises(netns.NetnsError, match="at most"):
        netns.plan("abc", [f"10.250.1.{i}" for i in range(1, netns.MAX_HOSTS + 2)])


def test_relocate_moves_hosts_into_the_namespace_range_in_order():
    document = synthetic.generate(3, slice_endpoints=5)
    hosts = list(
        dict.fromkeys(
            ep["url"].split("//")[1].rsplit(":", 1)[0]
            for app in document["applications"]
            for ep in app["endpoints"]
        )
    )

    moved = netns.relocate(document)

    urls = [ep["url"] for app in moved["applications"] for ep in app["endpoints"]]
    originals = [ep["url"] for app in document["applications"] for ep in app["endpoints"]]
    assert [u.split(":")[-1] for u in urls] == [u.split(":")[-1] for u in originals]
    for i, host in enumerate(hosts):
        moved_urls = [new for old, new in zip(originals, urls, strict=True) if f"//{host}:" in old]
        assert all(f"//10.250.0.{i + 1}:" in new for new in moved_urls)
    assert moved["scope"]["networks"] == ["10.250.0.0/16"]


def test_ca_files_are_found_in_the_text_before_validation(tmp_path):
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("""\
applications:
  - endpoints:
      - url: grpcs://127.1.0.1:20000
        ca_file: testbed-ca.pem
      - {url: "grpcs://127.1.0.1:20001", ca_file: "/etc/ssl/private ca.pem", server_name: a.localhost}
      - {url: grpcs://127.1.0.1:20002, ca_file: 'sub/ca.pem'}
        # ca_file: commented-out.pem
      - url: grpcs://127.1.0.1:20003
        ca_file: testbed-ca.pem  # the same file again
""")

    assert document_ca_files(inventory) == [
        tmp_path / "testbed-ca.pem",
        Path("/etc/ssl/private ca.pem"),
        tmp_path / "sub" / "ca.pem",
    ]
    inventory.write_text(inventory.read_text().replace("grpcs://", "grpc://"))
    assert document_ca_files(inventory) == []


def test_tls_problem_tags_are_checked_and_tls10_goes_behind_nginx():
    def tls_ref(port: int, problem: str | None, scheme: str = "grpcs") -> EndpointRef:
        tags = ("testbed=conformant",) + ((f"{TLS_TAG}={problem}",) if problem else ())
        url = f"{scheme}://127.1.0.1:{port}"
        return EndpointRef(
            url,
            url,
            scheme,
            "127.1.0.1",
            port,
            "32.73",
            "kota",
            "32",
            "sikd",
            None,
            tags,
            (),
            server_name="a.testbed.localhost",
        )

    with pytest.raises(FleetError, match="testbed-tls=tls9"):
        check_endpoints([tls_ref(20000, "tls9")], use_netns=False)
    with pytest.raises(FleetError, match="needs a grpcs endpoint"):
        check_endpoints([tls_ref(20000, "expired", scheme="grpc")], use_netns=False)
    refs = [tls_ref(20000, None), tls_ref(20001, "tls1.0"), tls_ref(20002, "expired")]
    check_endpoints(refs, use_netns=False)
    plan = plan_fleet(refs)
    (terminator,) = plan.terminators
    assert [r.port for r in terminator.endpoints] == [20001]
    assert [grpc_address(r) for r in refs] == [
        ("127.1.0.1", 20000),
        ("127.1.0.1", 20001 + LEGACY_BACKEND_OFFSET),
        ("127.1.0.1", 20002),
    ]
    assert {certificate_key(r) for r in refs} == {
        ("a.testbed.localhost", p) for p in ("valid", "tls1.0", "expired")
    }

"""The testbed serving a synthetic slice: every endpoint answers as its behaviour says."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from orchestrator.inventory import load_inventory, synthetic
from orchestrator.processes import alive as _alive
from orchestrator.processes import descendants
from orchestrator.testbed import sshd
from orchestrator.testbed.fleet import start_fleet
from orchestrator.testbed.fleet_plan import SLOW_LATENCY_S, behaviour_of
from orchestrator.testbed.ledger import LEDGER_NAME
from tests.testbed.conftest import probe_all, result, statuses

# GRPC-LAT-001 is left to test_slow_endpoints_answer_late: whether a fast endpoint passes it depends on
# how busy the machine is.
GRPC_CHECKS = (
    "GRPC-IDEN-002",
    "GRPC-IDEN-003",
    "GRPC-HLTH-001",
    "GRPC-HLTH-002",
    "GRPC-REFL-001",
    "GRPC-REFL-002",
    "GRPC-REFL-003",
    "GRPC-TLS-001",
)
SSH_CHECKS = ("SSH-BANNER-001", "SSH-KEX-001", "SSH-ENC-001", "SSH-HKEY-001", "SSH-AUTH-001")

CONFORMANT = dict.fromkeys(GRPC_CHECKS, "pass")
# What each behaviour changes from a conformant endpoint's verdicts.
GRPC_EXPECTED = {
    "conformant": {},
    "no-reflection": {"GRPC-REFL-001": "fail", "GRPC-REFL-002": "skip", "GRPC-REFL-003": "skip"},
    "no-health": {"GRPC-HLTH-001": "fail", "GRPC-HLTH-002": "fail"},
    "not-serving": {"GRPC-HLTH-001": "fail", "GRPC-HLTH-002": "fail"},
    "wrong-identity": {"GRPC-IDEN-002": "fail"},
    "slow": {},
}
SSH_PASS = dict.fromkeys(SSH_CHECKS, "pass")
SSH_EXPECTED = {
    # OpenSSH's compiled-in defaults (no Debian sshd_config): password logins on.
    "default": {"SSH-AUTH-001": "fail"},
    "hardened": {},
    "legacy": {"SSH-KEX-001": "fail", "SSH-ENC-001": "fail", "SSH-HKEY-001": "fail"},
    "password": {"SSH-AUTH-001": "fail"},
    "dropbear": {"SSH-KEX-001": "fail", "SSH-HKEY-001": "fail"},  # group14-sha1, ssh-rsa
}


def test_slice_covers_every_behaviour(fleet):
    seen = Counter((ref.protocol, behaviour_of(ref)) for ref in fleet.endpoints())
    wanted = {("grpc", b) for b, _ in synthetic.GRPC_BEHAVIOURS}
    wanted |= {("ssh", b) for b, _ in synthetic.SSH_BEHAVIOURS}
    assert set(seen) == wanted
    tls = {behaviour_of(r) for r in fleet.endpoints() if r.scheme == "grpcs"}
    assert tls >= {"conformant", "wrong-identity"}


def test_every_grpc_endpoint_answers_as_its_behaviour(fleet):
    refs = [ref for ref in fleet.endpoints() if ref.protocol == "grpc"]

    reports = probe_all([ref.to_target() for ref in refs], GRPC_CHECKS)

    got = {ref.url: statuses(report) for ref, report in zip(refs, reports, strict=True)}
    want = {
        ref.url: {
            **CONFORMANT,
            **GRPC_EXPECTED[behaviour_of(ref)],
            "GRPC-TLS-001": "pass" if ref.scheme == "grpcs" else "fail",
        }
        for ref in refs
    }
    assert got == want


def test_slow_endpoints_answer_late(fleet):
    refs = [ref for ref in fleet.endpoints() if behaviour_of(ref) == "slow"]

    reports = probe_all([ref.to_target() for ref in refs], ["GRPC-LAT-001"])

    assert [statuses(r) for r in reports] == [{"GRPC-LAT-001": "warn"}] * len(refs)
    for report in reports:  # every call waits SLOW_LATENCY_S before it is handled
        assert min(result(report, "GRPC-LAT-001").evidence["samples_ms"]) >= SLOW_LATENCY_S * 1000


def test_conformant_endpoints_tell_their_own_identity(fleet):
    # Many endpoints share a port number on different hosts, and one server answers them all.
    refs = [ref for ref in fleet.endpoints() if ref.protocol == "grpc" and behaviour_of(ref) == "conformant"]
    assert len({ref.port for ref in refs}) < len(refs)

    reports = probe_all([ref.to_target() for ref in refs], ["GRPC-IDEN-002", "GRPC-IDEN-003"])

    for ref, report in zip(refs, reports, strict=True):
        identity = result(report, "GRPC-IDEN-002").evidence["observed"]
        assert identity == {"agency_code": ref.agency, "application_id": ref.application}
        assert set(ref.services) <= set(result(report, "GRPC-IDEN-003").evidence["observed"])


def test_the_interop_service_is_served_where_declared_and_nowhere_else(fleet):
    refs = [ref for ref in fleet.endpoints() if ref.protocol == "grpc" and behaviour_of(ref) == "conformant"]
    declaring = {ref.url for ref in refs if synthetic.INTEROP_SERVICE in ref.services}
    assert 0 < len(declaring) < len(refs)  # the slice has both kinds

    reports = probe_all([ref.to_target() for ref in refs], ["GRPC-INTR-001", "GRPC-INTR-002"])

    for ref, report in zip(refs, reports, strict=True):
        expected = "pass" if ref.url in declaring else "skip"
        assert statuses(report) == {"GRPC-INTR-001": expected, "GRPC-INTR-002": expected}, ref.url


def test_wrong_identity_endpoints_name_someone_else(fleet):
    refs = [ref for ref in fleet.endpoints() if behaviour_of(ref) == "wrong-identity"]

    reports = probe_all([ref.to_target() for ref in refs], ["GRPC-IDEN-002"])

    for ref, report in zip(refs, reports, strict=True):
        observed = result(report, "GRPC-IDEN-002").evidence["observed"]
        assert observed["agency_code"] != ref.agency
        assert observed["application_id"] != ref.application


def test_every_ssh_endpoint_answers_as_its_behaviour(fleet):
    refs = [ref for ref in fleet.endpoints() if ref.protocol == "ssh"]

    reports = probe_all([ref.to_target() for ref in refs], SSH_CHECKS)

    got = {ref.url: statuses(report) for ref, report in zip(refs, reports, strict=True)}
    assert got == {ref.url: {**SSH_PASS, **SSH_EXPECTED[behaviour_of(ref)]} for ref in refs}
    software = {
        behaviour_of(ref): report.facts["ssh"]["software"] for ref, report in zip(refs, reports, strict=True)
    }
    assert software == {
        **dict.fromkeys(("default", "hardened", "legacy", "password"), "OpenSSH"),
        "dropbear": "Dropbear",
    }


def test_grpcs_ca_is_written_where_the_inventory_expects_it(fleet, slice_path):
    ca_file = slice_path.parent / "testbed-ca.pem"
    assert ca_file.read_bytes() == fleet.ca_path.read_bytes()
    assert {ref.ca_file for ref in fleet.endpoints() if ref.scheme == "grpcs"} == {str(ca_file)}
    load_inventory(slice_path)  # valid now that the CA exists


def test_processes_are_few_and_within_the_servers_caps(fleet):
    kinds = Counter(process.kind for process in fleet.processes)
    assert kinds["grpc"] == 1  # a slice fits one process
    for process in fleet.processes:
        caps = {"grpc": 4000, "openssh": sshd.OPENSSH_MAX_LISTEN, "dropbear": sshd.DROPBEAR_MAX_PORTS}
        cap = caps[process.kind]
        assert 1 <= len(process.addresses) <= cap
    served = sorted(address for process in fleet.processes for address in process.addresses)
    assert served == sorted((ref.host, ref.port) for ref in fleet.endpoints())


TINY = """\
version: 1
scope: {networks: [127.0.0.0/8]}
agencies:
  - {code: "32.73", name: Kota Bandung, level: kota, province: "32"}
applications:
  - id: bdg-sikd
    name: SIKD Kota Bandung
    agency: "32.73"
    endpoints:
      - url: grpc://127.250.7.1:20000
        services: [spbe.persuratan.v1.PersuratanService]
        tags: [testbed=slow]
      - {url: "ssh://127.250.7.1:10000", tags: [testbed=hardened]}
      - {url: "ssh://127.250.7.1:10001", tags: [testbed=dropbear]}
"""


def test_stop_leaves_no_process_and_no_state_behind(tmp_path: Path, key_dir: Path):
    inventory = tmp_path / "tiny.yaml"
    inventory.write_text(TINY)
    workdir = tmp_path / "work"
    fleet = start_fleet(inventory, workdir, key_dir=key_dir, latency_s=0.05)
    # A probe leaves an sshd child behind for a moment; stop must take it too.
    reports = probe_all([ref.to_target() for ref in fleet.endpoints()], ["GRPC-LAT-001", "SSH-BANNER-001"])
    assert [statuses(r) for r in reports] == [
        {"GRPC-LAT-001": "warn"},
        {"SSH-BANNER-001": "pass"},
        {"SSH-BANNER-001": "pass"},
    ]
    pids = [process.pid for process in fleet.processes]
    assert all(_alive(pid) for pid in pids) and (workdir / LEDGER_NAME).exists()
    everything = pids + sorted(descendants(*pids))

    report = fleet.stop()

    assert sorted(report.stopped) == sorted(pids)
    assert report.clean
    assert not [pid for pid in everything if _alive(pid)]
    assert not (workdir / LEDGER_NAME).exists()
    assert fleet.stop() is report  # idempotent

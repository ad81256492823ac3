"""The synthetic national inventory: totals, long tail, address plan, behaviours, slices, determinism."""

from __future__ import annotations

import ipaddress
import statistics
from collections import Counter, defaultdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.inventory import InventoryError, inventory_hash, load_inventory, synthetic
from orchestrator.inventory.regions import provinces
from tests.inventory.conftest import REPO, write_ca_bundle


def _endpoints(document: dict) -> list[dict]:
    return [ep for app in document["applications"] for ep in app["endpoints"]]


def _apps_per_agency(document: dict) -> Counter:
    return Counter(app["agency"] for app in document["applications"])


def test_national_totals_match_the_published_shape(national):
    levels = Counter(a["level"] for a in national["agencies"])
    assert levels == {"pusat": 70, "provinsi": 38, "kabupaten": 416, "kota": 98}
    assert len(national["applications"]) == 27_400
    per_agency = _apps_per_agency(national)
    assert per_agency["KEMENKEU"] == 5_000
    assert per_agency["KEMENKES"] == 400
    assert per_agency["32.73"] == 236
    assert per_agency.most_common(3) == [("KEMENKEU", 5_000), ("KEMENKES", 400), ("32.73", 236)]
    assert 20 <= statistics.median(per_agency.values()) <= 48  # most agencies: a few dozen
    assert min(per_agency.values()) >= synthetic.MIN_APPLICATIONS
    assert set(per_agency) == {a["code"] for a in national["agencies"]}


def test_regions_carry_real_kemendagri_codes_and_names(national):
    agencies = {a["code"]: a for a in national["agencies"]}
    assert agencies["32.73"] == {"code": "32.73", "name": "Kota Bandung", "level": "kota", "province": "32"}
    assert agencies["32"]["name"] == "Provinsi Jawa Barat"
    assert agencies["31.01"]["name"] == "Kabupaten Administrasi Kepulauan Seribu"
    assert agencies["96.71"]["name"] == "Kota Sorong"
    counts: dict[str, Counter] = defaultdict(Counter)
    for agency in national["agencies"]:
        if agency["level"] in ("kabupaten", "kota"):
            assert agency["code"][:2] == agency["province"]
            counts[agency["province"]][agency["level"]] += 1
    for code, province in provinces().items():
        assert counts[code] == Counter(
            {"kabupaten": province.kabupaten, "kota": province.kota}
            if province.kota
            else {"kabupaten": province.kabupaten}
        ), code


def test_every_application_has_one_grpc_endpoint_and_a_fifth_also_ssh(national):
    for app in national["applications"]:
        schemes = [ep["url"].split("://")[0] for ep in app["endpoints"]]
        assert schemes in (["grpc"], ["grpc", "ssh"], ["grpcs"], ["grpcs", "ssh"])
    ssh = sum(len(app["endpoints"]) == 2 for app in national["applications"])
    assert 0.18 <= ssh / len(national["applications"]) <= 0.22


def test_each_application_declares_its_own_service_and_a_third_the_interop_service(national):
    own = {synthetic.application_service(topic) for topic in synthetic.TOPICS}
    interop = 0
    for app in national["applications"]:
        first, *rest = app["endpoints"][0]["services"]
        assert first in own and any(
            app["name"].startswith(topic) and synthetic.application_service(topic) == first
            for topic in synthetic.TOPICS
        ), app["name"]
        assert rest in ([], [synthetic.INTEROP_SERVICE])
        interop += bool(rest)
    assert 0.33 <= interop / len(national["applications"]) <= 0.40  # SPLP_SHARE = 86/236 = 0.364


def test_application_service_names_are_grpc_names():
    assert (
        synthetic.application_service("Pengadaan Barang/Jasa")
        == "spbe.pengadaanbarangjasa.v1.PengadaanBarangJasaService"
    )
    assert synthetic.application_service("UMKM") == "spbe.umkm.v1.UMKMService"
    assert synthetic.application_service("PPID") == "spbe.ppid.v1.PPIDService"


def test_loopback_address_plan(national):
    host_of_agency: dict[str, set] = defaultdict(set)
    sockets = set()
    for app in national["applications"]:
        for ep in app["endpoints"]:
            scheme, rest = ep["url"].split("://")
            host, port = rest.rsplit(":", 1)
            port = int(port)
            address = ipaddress.ip_address(host)
            assert address in ipaddress.ip_network("127.0.0.0/8")
            assert address not in ipaddress.ip_network("127.0.0.0/24")
            low, high = (
                (synthetic.SSH_PORT_BASE, 20_000) if scheme == "ssh" else (synthetic.GRPC_PORT_BASE, 32_768)
            )
            assert low <= port < high  # below the ephemeral range 32768-60999
            sockets.add((host, port))
            host_of_agency[app["agency"]].add(host)
    assert len(sockets) == len(_endpoints(national))  # one socket per endpoint
    all_hosts = [host for hosts in host_of_agency.values() for host in hosts]
    assert len(set(all_hosts)) == len(all_hosts)  # no two agencies share a host


def test_applications_are_spread_over_hosts_of_their_agency(national):
    per_host: dict[str, set] = defaultdict(set)
    apps_on_host: Counter = Counter()
    for app in national["applications"]:
        host = app["endpoints"][0]["url"].split("://")[1].rsplit(":", 1)[0]
        per_host[host].add(app["agency"])
        apps_on_host[host] += 1
    kemenkeu_hosts = [h for h, agencies in per_host.items() if "KEMENKEU" in agencies]
    applications = _apps_per_agency(national)["KEMENKEU"]
    assert len(kemenkeu_hosts) == -(-applications // synthetic.APPLICATIONS_PER_HOST)
    assert max(apps_on_host.values()) == synthetic.APPLICATIONS_PER_HOST
    assert all(len(agencies) == 1 for agencies in per_host.values())


def test_behaviour_tags_follow_the_tables(national):
    grpc, ssh = Counter(), Counter()
    for ep in _endpoints(national):
        name, behaviour = ep["tags"][0].split("=")
        assert name == "testbed"
        (ssh if ep["url"].startswith("ssh://") else grpc)[behaviour] += 1
    assert set(grpc) == {b for b, _ in synthetic.GRPC_BEHAVIOURS}
    assert set(ssh) == {b for b, _ in synthetic.SSH_BEHAVIOURS}
    assert grpc.most_common(1)[0][0] == "conformant"
    assert 0.5 < grpc["conformant"] / sum(grpc.values()) < 0.66


def test_same_seed_same_document_other_seed_other_document(national):
    assert synthetic.generate(7) == national
    other = synthetic.generate(8)
    assert other != national
    assert _apps_per_agency(other)["KEMENKES"] == 400  # anchors do not depend on the seed


def test_same_seed_writes_identical_bytes(tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    synthetic.write_generated(first, 11, slice_endpoints=300, vantages=True)
    synthetic.write_generated(second, 11, slice_endpoints=300, vantages=True)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_text().startswith(
        "# Synthetic SPBE inventory: interop inventory generate --seed 11 --slice 300 --vantages "
        "--grpcs-share 0.8\n"
    )


def test_national_inventory_validates(national_file):
    inventory = load_inventory(national_file)
    assert len(inventory.agencies) == 622
    assert len(inventory.applications) == 27_400
    assert len(inventory) == len(_endpoints(synthetic.generate(7)))
    assert inventory.content_hash == inventory_hash(national_file)
    assert all(inventory.scope.allows(ref.host) for ref in inventory.endpoints())


@pytest.mark.parametrize("wanted", [1_000, 250])
def test_slice_keeps_all_provinces_and_the_long_tail(national, wanted):
    piece = synthetic.generate(7, slice_endpoints=wanted)
    endpoints = _endpoints(piece)
    assert abs(len(endpoints) - wanted) <= wanted * 0.05
    regional = {a["province"] for a in piece["agencies"] if a["level"] != "pusat"}
    assert regional == set(provinces())
    per_agency = _apps_per_agency(piece)
    assert per_agency.most_common(1)[0][0] == "KEMENKEU"
    # Each province keeps one application first; the rest is shared in proportion to size.
    proportional = len(piece["applications"]) - len(provinces())
    assert abs(per_agency["KEMENKEU"] - proportional * 5_000 / (27_400 - len(provinces()))) <= 1
    assert abs(per_agency["KEMENKES"] - proportional * 400 / (27_400 - len(provinces()))) <= 1
    # A slice is a subset of the national inventory of the same seed, tags included.
    national_endpoints = {ep["url"]: ep for ep in _endpoints(national)}
    assert all(national_endpoints[ep["url"]] == ep for ep in endpoints)
    assert {a["code"] for a in piece["agencies"]} == set(per_agency)


def test_committed_demo_inventory_is_what_the_generator_writes(tmp_path):
    demo = REPO / "examples" / "demo-inventory.yaml"
    fresh = tmp_path / "demo.yaml"
    synthetic.write_generated(fresh, 1, slice_endpoints=1000)
    assert demo.read_bytes() == fresh.read_bytes()
    write_ca_bundle(tmp_path / "testbed-ca.pem")  # the testbed writes it next to the inventory
    inventory = load_inventory(fresh)
    assert 900 <= len(inventory) <= 1100


def test_applications_option_scales_the_total():
    document = synthetic.generate(5, applications=2_740)
    assert len(document["applications"]) == 2_740
    assert _apps_per_agency(document)["KEMENKEU"] == 500


def test_grpcs_endpoints_name_server_and_ca(tmp_path):
    path = tmp_path / "tls.yaml"
    document = synthetic.write_generated(path, 4, slice_endpoints=200, grpcs_share=0.25)
    tls = [ep for ep in _endpoints(document) if ep["url"].startswith("grpcs://")]
    assert 0.1 < len(tls) / len(document["applications"]) < 0.4
    assert all(
        ep["ca_file"] == "testbed-ca.pem" and ep["server_name"].endswith(".testbed.localhost") for ep in tls
    )
    # Same topics and behaviours as without TLS: only the scheme changed.
    plain = synthetic.generate(4, slice_endpoints=200, grpcs_share=0.0)
    assert [a["name"] for a in plain["applications"]] == [a["name"] for a in document["applications"]]
    assert not any(ep["url"].startswith("grpcs://") for ep in _endpoints(plain))
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert {p.message.split(":")[0] for p in caught.value.problems} == {"CA file not found"}
    (tmp_path / "testbed-ca.pem").write_text("written by the testbed\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert {"not a CA bundle" in p.message for p in caught.value.problems} == {True}
    write_ca_bundle(tmp_path / "testbed-ca.pem")
    assert sum(ref.scheme == "grpcs" for ref in load_inventory(path).endpoints()) == len(tls)


def test_tls_is_the_norm_with_problems_at_their_rates(national):
    grpc = [ep for ep in _endpoints(national) if not ep["url"].startswith("ssh://")]
    tls = [ep for ep in grpc if ep["url"].startswith("grpcs://")]
    assert abs(len(tls) / len(grpc) - synthetic.GRPCS_SHARE) < 0.01
    problems = Counter(
        tag.split("=", 1)[1]
        for ep in _endpoints(national)
        for tag in ep["tags"]
        if tag.startswith(synthetic.TLS_TAG + "=")
    )
    assert all(
        tag.startswith("testbed=") for ep in _endpoints(national) if ep not in tls for tag in ep["tags"]
    )
    weights = dict(synthetic.TLS_PROBLEMS)
    assert set(problems) == set(weights) - {synthetic.VALID_TLS}
    for problem, count in problems.items():  # each within 20 % of its weight (hundreds of draws each)
        expected = len(tls) * weights[problem] / sum(weights.values())
        assert abs(count - expected) < 0.2 * expected, problem
    # Turning the share up or down does not reshuffle anything else.
    fewer = synthetic.generate(7, grpcs_share=0.5)
    assert [a["name"] for a in fewer["applications"]] == [a["name"] for a in national["applications"]]


def test_vantages_by_island_group():
    document = synthetic.generate(2, slice_endpoints=400, vantages=True)
    provinces_of = {a["code"]: (a["level"], a["province"]) for a in document["agencies"]}
    for app in document["applications"]:
        level, province = provinces_of[app["agency"]]
        for ep in app["endpoints"]:
            expected = None if level == "pusat" else synthetic.REGION_VANTAGES[province[0]]
            assert ep.get("vantage") == expected


def test_apportion_is_exact_and_proportional():
    assert synthetic.apportion(10, [1.0, 1.0, 1.0]) == [4, 3, 3]
    assert synthetic.apportion(100, [5.0, 0.0, 95.0]) == [5, 0, 95]
    assert sum(synthetic.apportion(27_400, [0.3, 1.7, 2.2, 9.1])) == 27_400


@given(
    total=st.integers(min_value=0, max_value=100_000),
    weights=st.lists(st.floats(min_value=0.0, max_value=1e6), min_size=1, max_size=60),
)
def test_apportion_sums_exactly_and_stays_within_one_of_the_exact_share(total, weights):
    counts = synthetic.apportion(total, weights)
    scale = sum(weights)
    if scale == 0:
        assert counts == [0] * len(weights)
        return
    assert sum(counts) == total
    for count, weight in zip(counts, weights, strict=True):
        assert abs(count - weight * total / scale) < 1 + 1e-6

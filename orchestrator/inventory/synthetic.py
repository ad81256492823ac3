"""A synthetic national SPBE inventory that a loopback testbed can serve.

The shape follows what is published about the fleet (see
``/work/shared/research/spbe.md``): 70 central bodies (the 48 ministries of the
Kabinet Merah Putih and 22 non-ministerial agencies), the 38 provinces and
their 416 kabupaten and 98 kota with their real Kemendagri codes and names
(Kepmendagri 300.2.2-2138/2025, ``data/regencies.csv``), and 27,400
applications with a long tail: one ministry over 5,000, the health ministry
~400, Kota Bandung 236, most agencies a few dozen. The sources do not say
which ministry runs 5,000 applications; giving them to KEMENKEU here is an
arbitrary synthetic choice.

Every application has one gRPC endpoint and about 20% also an SSH endpoint.
The gRPC endpoint declares the application's own service, and about a
third (those integrated through SPLP) also ``grpc.testing.TestService``.

Address plan (so every endpoint can be a real socket on one machine): host
``n`` (in inventory order) is ``127.<1 + n // 250>.<n % 250>.1``, never
127.0.0.1 or anything in 127.0.0.0/24. An agency's applications are ports on
its hosts, ``APPLICATIONS_PER_HOST`` to a host as on a consolidated server
(a ministry with 5,000 applications runs them on many machines, not one; and
a sweep's per-host politeness limit would otherwise serialise it): gRPC from
20000 and SSH from 10000. Both ranges sit below Linux's ephemeral range
(32768-60999), so the testbed's listeners never race the kernel's choice of
client ports, and above 1024.

Each endpoint carries a ``testbed=<behaviour>`` tag drawn from the tables
below, which the testbed reads to start the matching server.

TLS is the norm: ``GRPCS_SHARE`` (80 %) of gRPC endpoints are grpcs:// by
default, with ``server_name: <agency>.testbed.localhost`` and ``ca_file``
naming the CA the testbed writes next to the inventory (validation requires
it to exist). Why 80 %: Peraturan BSSN 4/2021 Pasal 33(2) asks for "SSL atau
TLS versi terkini" on intranet access paths and SPLP, the national gateway,
is reached over HTTPS, so an agency's services are expected to be encrypted;
no published count says how many still are not. The remaining fifth stands
for internal links that never got there (an assumption, stated as such).

A grpcs endpoint with a certificate or protocol problem carries a second tag,
``testbed-tls=<problem>`` (``TLS_PROBLEMS``: expired, expiring within 30
days, wrong name, self-signed, weak RSA-1024 key, TLS 1.0 still accepted),
at low rates that are assumptions too: no survey of agency certificates is
published. Roughly: certificates renewed by hand once a year spend ~8 % of
their life in the last 30 days, half of them automated -> 4 % expiring; 2 %
forgotten past expiry; 3 % self-signed internal services; 2 % issued for
another name; 1 % old RSA-1024 keys; 5 % terminators still accepting
TLS 1.0 (old appliances and defaults). The rest carry no second tag: a valid
certificate from the testbed's CA.

Same seed and options -> byte-identical YAML. A slice (``slice_endpoints``)
keeps the first applications of every agency in proportion to its size, so it
is a subset of the national inventory of the same seed with the same tail
shape and at least one endpoint in each of the 38 provinces.
"""

from __future__ import annotations

import bisect
import csv
import inspect
import math
import os
import random
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import accumulate
from typing import Any

from orchestrator.inventory.model import dump_inventory
from orchestrator.inventory.regions import provinces

NATIONAL_APPLICATIONS = 27_400
SSH_SHARE = 0.20
MIN_APPLICATIONS = 3  # nobody in the national count runs fewer

# The published anchors of the long tail (applications per agency).
LONG_TAIL_ANCHORS = {"KEMENKEU": 5_000, "KEMENKES": 400, "32.73": 236}

# Median applications of an agency of each kind before scaling; the spread
# around it is log-normal with this sigma.
TAIL_MEDIANS = {"kementerian": 80, "lpnk": 30, "provinsi": 70, "kota": 45, "kabupaten": 30}
TAIL_SIGMA = 0.7

GRPC_PORT_BASE, SSH_PORT_BASE = 20_000, 10_000
APPLICATIONS_PER_HOST = 25
HOSTS_PER_OCTET = 250

# Behaviour of the server the testbed starts: (behaviour, weight).
GRPC_BEHAVIOURS = (
    ("conformant", 58),
    ("no-reflection", 12),
    ("no-health", 8),
    ("not-serving", 7),
    ("wrong-identity", 7),
    ("slow", 8),
)
SSH_BEHAVIOURS = (("default", 45), ("hardened", 20), ("legacy", 15), ("password", 12), ("dropbear", 8))

# TLS of the gRPC endpoints (see the module docstring for the why of each number).
GRPCS_SHARE = 0.8
TLS_TAG = "testbed-tls"
VALID_TLS = "valid"  # no tag: a valid certificate, TLS 1.2 and 1.3 only
# (problem, weight per 1,000 grpcs endpoints); the testbed maps each to a
# certificate or terminator (orchestrator/testbed/fleet_plan.py TLS_PROBLEMS).
TLS_PROBLEMS = (
    (VALID_TLS, 830),
    ("expired", 20),
    ("expiring", 40),
    ("wrong-name", 20),
    ("self-signed", 30),
    ("weak-key", 10),
    ("tls1.0", 50),
)

# Island groups by the first digit of the province code (Kemendagri numbers
# provinces west to east), used as vantages when asked for.
REGION_VANTAGES = {
    "1": "sumatera",
    "2": "sumatera",
    "3": "jawa",
    "5": "nusa-tenggara",
    "6": "kalimantan",
    "7": "sulawesi",
    "8": "maluku",
    "9": "papua",
}

# (id, name, kind) of the central bodies.
CENTRAL_AGENCIES = (
    ("KEMENKOPOLKAM", "Kementerian Koordinator Bidang Politik dan Keamanan", "kementerian"),
    (
        "KEMENKOKUMHAMIMIPAS",
        "Kementerian Koordinator Bidang Hukum, Hak Asasi Manusia, Imigrasi, dan Pemasyarakatan",
        "kementerian",
    ),
    ("KEMENKOPEREKONOMIAN", "Kementerian Koordinator Bidang Perekonomian", "kementerian"),
    ("KEMENKOPMK", "Kementerian Koordinator Bidang Pembangunan Manusia dan Kebudayaan", "kementerian"),
    (
        "KEMENKOINFRA",
        "Kementerian Koordinator Bidang Infrastruktur dan Pembangunan Kewilayahan",
        "kementerian",
    ),
    ("KEMENKOPANGAN", "Kementerian Koordinator Bidang Pangan", "kementerian"),
    ("KEMENKOPM", "Kementerian Koordinator Bidang Pemberdayaan Masyarakat", "kementerian"),
    ("KEMENSETNEG", "Kementerian Sekretariat Negara", "kementerian"),
    ("KEMENDAGRI", "Kementerian Dalam Negeri", "kementerian"),
    ("KEMENLU", "Kementerian Luar Negeri", "kementerian"),
    ("KEMHAN", "Kementerian Pertahanan", "kementerian"),
    ("KEMENAG", "Kementerian Agama", "kementerian"),
    ("KEMENKUM", "Kementerian Hukum", "kementerian"),
    ("KEMENHAM", "Kementerian Hak Asasi Manusia", "kementerian"),
    ("KEMENIMIPAS", "Kementerian Imigrasi dan Pemasyarakatan", "kementerian"),
    ("KEMENKEU", "Kementerian Keuangan", "kementerian"),
    ("KEMENDIKDASMEN", "Kementerian Pendidikan Dasar dan Menengah", "kementerian"),
    ("KEMDIKTISAINTEK", "Kementerian Pendidikan Tinggi, Sains, dan Teknologi", "kementerian"),
    ("KEMENBUD", "Kementerian Kebudayaan", "kementerian"),
    ("KEMENKES", "Kementerian Kesehatan", "kementerian"),
    ("KEMENSOS", "Kementerian Sosial", "kementerian"),
    ("KEMNAKER", "Kementerian Ketenagakerjaan", "kementerian"),
    ("KEMENP2MI", "Kementerian Pelindungan Pekerja Migran Indonesia", "kementerian"),
    ("KEMENPERIN", "Kementerian Perindustrian", "kementerian"),
    ("KEMENDAG", "Kementerian Perdagangan", "kementerian"),
    ("KESDM", "Kementerian Energi dan Sumber Daya Mineral", "kementerian"),
    ("KEMENPU", "Kementerian Pekerjaan Umum", "kementerian"),
    ("KEMENPKP", "Kementerian Perumahan dan Kawasan Permukiman", "kementerian"),
    ("KEMENDES", "Kementerian Desa dan Pembangunan Daerah Tertinggal", "kementerian"),
    ("KEMENTRANS", "Kementerian Transmigrasi", "kementerian"),
    ("KEMENHUB", "Kementerian Perhubungan", "kementerian"),
    ("KOMDIGI", "Kementerian Komunikasi dan Digital", "kementerian"),
    ("KEMENTAN", "Kementerian Pertanian", "kementerian"),
    ("KEMENHUT", "Kementerian Kehutanan", "kementerian"),
    ("KKP", "Kementerian Kelautan dan Perikanan", "kementerian"),
    ("KEMENATRBPN", "Kementerian Agraria dan Tata Ruang/Badan Pertanahan Nasional", "kementerian"),
    ("BAPPENAS", "Kementerian Perencanaan Pembangunan Nasional/Bappenas", "kementerian"),
    ("KEMENPANRB", "Kementerian Pendayagunaan Aparatur Negara dan Reformasi Birokrasi", "kementerian"),
    ("KEMENBUMN", "Kementerian Badan Usaha Milik Negara", "kementerian"),
    ("KEMENKOP", "Kementerian Koperasi", "kementerian"),
    ("KEMENUMKM", "Kementerian Usaha Mikro, Kecil, dan Menengah", "kementerian"),
    ("KEMENPAR", "Kementerian Pariwisata", "kementerian"),
    ("KEMENEKRAF", "Kementerian Ekonomi Kreatif", "kementerian"),
    ("KEMENINVESTASI", "Kementerian Investasi dan Hilirisasi/BKPM", "kementerian"),
    ("KEMENPPPA", "Kementerian Pemberdayaan Perempuan dan Perlindungan Anak", "kementerian"),
    ("KEMENPORA", "Kementerian Pemuda dan Olahraga", "kementerian"),
    ("KLH", "Kementerian Lingkungan Hidup", "kementerian"),
    ("KEMENDUKBANGGA", "Kementerian Kependudukan dan Pembangunan Keluarga", "kementerian"),
    ("BSSN", "Badan Siber dan Sandi Negara", "lpnk"),
    ("BPS", "Badan Pusat Statistik", "lpnk"),
    ("BMKG", "Badan Meteorologi, Klimatologi, dan Geofisika", "lpnk"),
    ("BNPB", "Badan Nasional Penanggulangan Bencana", "lpnk"),
    ("BPOM", "Badan Pengawas Obat dan Makanan", "lpnk"),
    ("BRIN", "Badan Riset dan Inovasi Nasional", "lpnk"),
    ("BIN", "Badan Intelijen Negara", "lpnk"),
    ("BNN", "Badan Narkotika Nasional", "lpnk"),
    ("BNPT", "Badan Nasional Penanggulangan Terorisme", "lpnk"),
    ("BASARNAS", "Badan Nasional Pencarian dan Pertolongan", "lpnk"),
    ("BKN", "Badan Kepegawaian Negara", "lpnk"),
    ("LAN", "Lembaga Administrasi Negara", "lpnk"),
    ("ANRI", "Arsip Nasional Republik Indonesia", "lpnk"),
    ("BIG", "Badan Informasi Geospasial", "lpnk"),
    ("BAPETEN", "Badan Pengawas Tenaga Nuklir", "lpnk"),
    ("BPKP", "Badan Pengawasan Keuangan dan Pembangunan", "lpnk"),
    ("LKPP", "Lembaga Kebijakan Pengadaan Barang/Jasa Pemerintah", "lpnk"),
    ("BSN", "Badan Standardisasi Nasional", "lpnk"),
    ("BAKAMLA", "Badan Keamanan Laut", "lpnk"),
    ("BPIP", "Badan Pembinaan Ideologi Pancasila", "lpnk"),
    ("BNPP", "Badan Nasional Pengelola Perbatasan", "lpnk"),
    ("PERPUSNAS", "Perpusnas (Perpustakaan Nasional Republik Indonesia)", "lpnk"),
)
CENTRAL_SEAT = "31"  # central bodies sit in DKI Jakarta

# What government applications do (the first words of an application's name).
TOPICS = (
    "Sistem Informasi Kepegawaian",
    "Sistem Informasi Keuangan",
    "Perencanaan Pembangunan",
    "Penganggaran",
    "Manajemen Aset",
    "Persuratan Elektronik",
    "Perizinan Berusaha",
    "Pengaduan Masyarakat",
    "Layanan Kependudukan",
    "Layanan Kesehatan",
    "Layanan Pendidikan",
    "Bantuan Sosial",
    "Pajak Daerah",
    "Retribusi",
    "Pengadaan Barang/Jasa",
    "Kearsipan",
    "Statistik Sektoral",
    "Data Geospasial",
    "Perpustakaan Digital",
    "Pariwisata",
    "Pertanian",
    "Perikanan",
    "Perhubungan",
    "Lingkungan Hidup",
    "Kebencanaan",
    "Ketenagakerjaan",
    "UMKM",
    "Investasi",
    "Jaringan Dokumentasi Hukum",
    "Satu Data",
    "Portal Layanan",
    "Kinerja Pegawai",
    "Presensi",
    "Survei Kepuasan Masyarakat",
    "PPID",
    "Monitoring dan Evaluasi",
)

# Every gRPC endpoint declares its application's own service, named after its
# topic (``application_service``); the testbed serves it (a Ping method,
# health, reflection). Applications integrated through SPLP, the national
# gateway, also serve ``grpc.testing.TestService``, the surface the interop
# cases run against; elsewhere those checks skip. The share is Kota Bandung's:
# 86 of its 236 applications go through SPLP.
INTEROP_SERVICE = "grpc.testing.TestService"
SPLP_SHARE = 86 / 236


def application_service(topic: str) -> str:
    """``Pengadaan Barang/Jasa`` -> ``spbe.pengadaanbarangjasa.v1.PengadaanBarangJasaService``."""
    words = re.findall(r"[A-Za-z0-9]+", topic)
    return f"spbe.{''.join(words).lower()}.v1.{''.join(w[:1].upper() + w[1:] for w in words)}Service"


@dataclass
class _Agency:
    code: str
    name: str
    level: str
    province: str
    kind: str  # kementerian / lpnk / provinsi / kabupaten / kota
    applications: list[dict[str, Any]] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.code.lower().replace(".", "-")

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "name": self.name, "level": self.level, "province": self.province}


@cache
def regencies() -> tuple[tuple[str, str, str], ...]:
    """(code, name, level) of the 514 kabupaten and kota."""
    text = resources.files("orchestrator").joinpath("data/regencies.csv").read_text(encoding="utf-8")
    return tuple((r["code"], r["name"], r["level"]) for r in csv.DictReader(text.splitlines()))


def national_agencies() -> list[_Agency]:
    """Central bodies first, then each province followed by its kabupaten and kota."""
    agencies = [_Agency(code, name, "pusat", CENTRAL_SEAT, kind) for code, name, kind in CENTRAL_AGENCIES]
    by_province: dict[str, list[tuple[str, str, str]]] = {}
    for code, name, level in regencies():
        by_province.setdefault(code[:2], []).append((code, name, level))
    for code, province in provinces().items():
        agencies.append(_Agency(code, f"Provinsi {province.name}", "provinsi", code, "provinsi"))
        agencies.extend(_Agency(c, n, lvl, code, lvl) for c, n, lvl in by_province.get(code, ()))
    return agencies


def apportion(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to ``weights`` summing exactly to ``total`` (largest remainder, ties by order)."""
    scale = sum(weights)
    if total <= 0 or scale <= 0:
        return [0] * len(weights)
    exact = [w * total / scale for w in weights]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _national_counts(agencies: list[_Agency], rng: random.Random) -> list[int]:
    """Applications per agency for the national total: the anchors exactly, a log-normal tail."""
    tail = [i for i, a in enumerate(agencies) if a.code not in LONG_TAIL_ANCHORS]
    weights = [TAIL_MEDIANS[agencies[i].kind] * rng.lognormvariate(0.0, TAIL_SIGMA) for i in tail]
    tail_total = NATIONAL_APPLICATIONS - sum(LONG_TAIL_ANCHORS.values())
    extra = apportion(tail_total - MIN_APPLICATIONS * len(tail), weights)
    counts = [LONG_TAIL_ANCHORS.get(a.code, 0) for a in agencies]
    for i, n in zip(tail, extra, strict=True):
        counts[i] = MIN_APPLICATIONS + n
    return counts


class _Picker:
    """Weighted choice from a (value, weight) table with one random draw."""

    def __init__(self, table: tuple[tuple[str, int], ...]) -> None:
        self.values = [v for v, _ in table]
        self.cumulative = list(accumulate(w for _, w in table))

    def __call__(self, rng: random.Random) -> str:
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]


def host_address(n: int) -> str:
    """The loopback address of agency host ``n`` (0-based)."""
    if n >= 254 * HOSTS_PER_OCTET:
        raise ValueError("more agency hosts than the loopback plan holds")
    return f"127.{1 + n // HOSTS_PER_OCTET}.{n % HOSTS_PER_OCTET}.1"


def _populate(
    agencies: list[_Agency], counts: list[int], seed: int, grpcs_share: float, ca_file: str, vantages: bool
) -> None:
    # Separate streams, so turning grpcs on does not reshuffle topics and behaviours.
    rng, tls_rng = random.Random(f"{seed}/applications"), random.Random(f"{seed}/tls")
    splp_rng, problem_rng = random.Random(f"{seed}/splp"), random.Random(f"{seed}/tls-problems")
    grpc_behaviour, ssh_behaviour = _Picker(GRPC_BEHAVIOURS), _Picker(SSH_BEHAVIOURS)
    tls_problem = _Picker(TLS_PROBLEMS)
    next_host = 0
    for agency, count in zip(agencies, counts, strict=True):
        vantage = REGION_VANTAGES[agency.province[0]] if vantages and agency.level != "pusat" else None
        grpc_used = ssh_used = 0  # ports taken on the current host
        host = host_address(next_host) if count else ""
        hosts_used = 1 if count else 0
        topic_seen: dict[str, int] = {}
        for k in range(count):
            if grpc_used == APPLICATIONS_PER_HOST:
                host, grpc_used, ssh_used = host_address(next_host + hosts_used), 0, 0
                hosts_used += 1
            topic = TOPICS[rng.randrange(len(TOPICS))]
            topic_seen[topic] = topic_seen.get(topic, 0) + 1
            ordinal = topic_seen[topic]
            name = f"{topic} {agency.name}" + (f" {ordinal}" if ordinal > 1 else "")
            has_ssh = rng.random() < SSH_SHARE
            tls = tls_rng.random() < grpcs_share
            grpc: dict[str, Any] = {
                "url": f"{'grpcs' if tls else 'grpc'}://{host}:{GRPC_PORT_BASE + grpc_used}",
                "services": [application_service(topic)]
                + ([INTEROP_SERVICE] if splp_rng.random() < SPLP_SHARE else []),
            }
            if vantage:
                grpc["vantage"] = vantage
            grpc["tags"] = [f"testbed={grpc_behaviour(rng)}"]
            if tls:
                problem = tls_problem(problem_rng)
                if problem != VALID_TLS:
                    grpc["tags"].append(f"{TLS_TAG}={problem}")
                grpc["server_name"] = f"{agency.slug}.testbed.localhost"
                grpc["ca_file"] = ca_file
            grpc_used += 1
            endpoints = [grpc]
            if has_ssh:
                ssh: dict[str, Any] = {"url": f"ssh://{host}:{SSH_PORT_BASE + ssh_used}"}
                if vantage:
                    ssh["vantage"] = vantage
                ssh["tags"] = [f"testbed={ssh_behaviour(rng)}"]
                ssh_used += 1
                endpoints.append(ssh)
            agency.applications.append(
                {
                    "id": f"{agency.slug}-{k + 1:04d}",
                    "name": name,
                    "agency": agency.code,
                    "endpoints": endpoints,
                }
            )
        next_host += hosts_used


def _slice(agencies: list[_Agency], endpoints_wanted: int) -> list[_Agency]:
    """About ``endpoints_wanted`` endpoints: the first applications of every agency in proportion to its size.

    Each provincial government keeps one application first, so all 38 provinces
    are there (a slice never has fewer than 38 applications).
    """
    all_apps = sum(len(a.applications) for a in agencies)
    all_endpoints = sum(len(app["endpoints"]) for a in agencies for app in a.applications)
    if endpoints_wanted >= all_endpoints:
        return agencies
    reserved = [1 if a.level == "provinsi" and a.applications else 0 for a in agencies]
    apps_wanted = round(endpoints_wanted * all_apps / all_endpoints)
    share = apportion(
        max(0, apps_wanted - sum(reserved)),
        [float(len(a.applications) - r) for a, r in zip(agencies, reserved, strict=True)],
    )
    return [
        _Agency(a.code, a.name, a.level, a.province, a.kind, a.applications[: r + n])
        for a, r, n in zip(agencies, reserved, share, strict=True)
        if r + n
    ]


def generate(
    seed: int,
    applications: int = NATIONAL_APPLICATIONS,
    slice_endpoints: int | None = None,
    grpcs_share: float = GRPCS_SHARE,
    ca_file: str = "testbed-ca.pem",
    vantages: bool = False,
) -> dict[str, Any]:
    """The inventory document (plain data) for ``seed``; see the module docstring."""
    if applications < 1:
        raise ValueError("applications must be at least 1")
    if not 0.0 <= grpcs_share <= 1.0:
        raise ValueError("grpcs_share is a fraction from 0 to 1")
    if slice_endpoints is not None and slice_endpoints < 1:
        raise ValueError("a slice has at least 1 endpoint")
    agencies = national_agencies()
    counts = _national_counts(agencies, random.Random(f"{seed}/counts"))
    if applications != NATIONAL_APPLICATIONS:
        counts = apportion(applications, [float(c) for c in counts])
    _populate(agencies, counts, seed, grpcs_share, ca_file, vantages)
    if slice_endpoints is not None:
        agencies = _slice(agencies, slice_endpoints)
    return {
        "version": 1,
        "scope": {"networks": ["127.0.0.0/8"], "domains": ["localhost"]},
        "agencies": [a.as_dict() for a in agencies],
        "applications": [app for a in agencies for app in a.applications],
    }


# The command-line flag of each option of ``generate``, to write the command into the header.
OPTION_FLAGS = {
    "applications": "--applications",
    "slice_endpoints": "--slice",
    "grpcs_share": "--grpcs-share",
    "ca_file": "--ca-file",
    "vantages": "--vantages",
}


def write_generated(path: str | os.PathLike, seed: int, **options: Any) -> dict[str, Any]:
    """Generate and write the YAML, headed by the command that makes it; returns the document."""
    document = generate(seed, **options)
    endpoints = sum(len(app["endpoints"]) for app in document["applications"])
    defaults = inspect.signature(generate).parameters
    flags = [f"--seed {seed}"]
    # The share always: the header's command then writes this file whatever the CLI's default.
    options.setdefault("grpcs_share", defaults["grpcs_share"].default)
    for name, value in options.items():
        if value != defaults[name].default or name == "grpcs_share":
            flags.append(OPTION_FLAGS[name] if value is True else f"{OPTION_FLAGS[name]} {value}")
    header = (
        f"Synthetic SPBE inventory: interop inventory generate {' '.join(flags)}\n"
        f"{len(document['agencies'])} agencies, {len(document['applications'])} applications, "
        f"{endpoints} endpoints, all on loopback.\nEach endpoint's testbed=<behaviour> tag (and a grpcs "
        f"endpoint's {TLS_TAG}=<problem>) tells the testbed which server to start."
    )
    dump_inventory(document, path, header=header)
    return document

"""The message catalogue of the HTML report: every UI string in Bahasa Indonesia and English.

Strings are data: one table, a key to its ``id`` and ``en`` text, with
``{name}`` placeholders filled by ``str.format``. Bahasa Indonesia is the
default and the fallback; an unknown key is a programming error and raises,
so a template cannot ship a missing translation silently.

Number and date formatting follows the language too: Indonesian writes
``2,79`` and ``1.234``, English ``2.79`` and ``1,234``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from probes.model import LANGUAGES

DEFAULT_LANGUAGE = LANGUAGES[0]

MESSAGES: dict[str, dict[str, str]] = {
    # -- page and headings ---------------------------------------------------
    "report.title": {
        "id": "Laporan Kepatuhan Interoperabilitas SPBE",
        "en": "SPBE Interoperability Compliance Report",
    },
    "report.national": {"id": "Tingkat nasional", "en": "National view"},
    "report.agency": {"id": "Instansi: {name}", "en": "Agency: {name}"},
    "report.generated": {
        "id": "Dibuat {when} oleh {tool} {version}",
        "en": "Generated {when} by {tool} {version}",
    },
    "report.skip_nav": {"id": "Lewati ke isi", "en": "Skip to content"},
    "report.contents": {"id": "Daftar isi", "en": "Contents"},
    "report.partial": {
        "id": "Sweep belum selesai ({state}): {done} dari {total} endpoint sudah diperiksa."
        " Angka dapat berubah.",
        "en": "The sweep is not complete ({state}): {done} of {total} endpoints checked. Figures may change.",
    },
    "section.summary": {"id": "Ringkasan", "en": "Summary"},
    "section.provinces": {"id": "Kepatuhan per provinsi", "en": "Compliance by province"},
    "section.categories": {"id": "Kepatuhan per kategori pemeriksaan", "en": "Compliance by check category"},
    "section.attention": {
        "id": "Instansi yang paling perlu perhatian",
        "en": "Agencies that need the most attention",
    },
    "section.agencies": {"id": "Semua instansi", "en": "All agencies"},
    "section.checks": {"id": "Pemeriksaan", "en": "Checks"},
    "section.certificates": {"id": "Masa berlaku sertifikat", "en": "Certificate expiry"},
    "section.changes": {"id": "Perubahan sejak sweep sebelumnya", "en": "Changes since the previous sweep"},
    "section.waivers": {"id": "Pengecualian (waiver)", "en": "Waivers"},
    "section.findings": {"id": "Temuan", "en": "Findings"},
    "section.top_findings": {"id": "Temuan paling parah", "en": "Most severe findings"},
    "section.applications": {"id": "Aplikasi", "en": "Applications"},
    "section.endpoints": {"id": "Endpoint", "en": "Endpoints"},
    "section.metadata": {"id": "Metadata sweep", "en": "Sweep metadata"},
    "section.fixes": {"id": "Yang harus diperbaiki", "en": "What to fix first"},
    "section.trend": {"id": "Indeks dari sweep ke sweep", "en": "Index over the last sweeps"},
    # -- summary cards -------------------------------------------------------
    "score.index": {"id": "Indeks", "en": "Index"},
    "score.compliance": {"id": "Kepatuhan", "en": "Compliance"},
    "score.confidence": {"id": "Keyakinan", "en": "Confidence"},
    "score.level": {"id": "Tingkat {level}", "en": "Level {level}"},
    "score.undetermined": {"id": "tidak dapat ditentukan", "en": "not determinable"},
    "score.index_scale": {"id": "skala 1–5", "en": "scale 1–5"},
    "score.confidence_help": {
        "id": "bagian bobot hasil yang dapat ditentukan",
        "en": "weighted share of results that could be determined",
    },
    "score.endpoints": {"id": "Endpoint diperiksa", "en": "Endpoints checked"},
    "score.of": {"id": "{done} dari {total}", "en": "{done} of {total}"},
    "score.results": {"id": "Hasil pemeriksaan", "en": "Check results"},
    "score.unreachable": {"id": "{count} tak terjangkau", "en": "{count} unreachable"},
    "score.formula": {
        "id": "Kepatuhan = bobot lulus (peringatan setengah, pengecualian penuh) dibagi bobot semua hasil"
        " yang dapat ditentukan; bobot menurut tingkat keparahan (kritis 10, tinggi 5, sedang 3, rendah 1)."
        " Indeks endpoint = 1 + 4 × kepatuhan, dibatasi oleh temuan gagal terbuka yang terparah: kritis"
        " paling tinggi Kurang (1,79), tinggi Cukup (2,59), sedang Baik (3,49), rendah Sangat Baik (4,19)."
        " Indeks kelompok = rata-rata indeks endpoint yang telah dibatasi, berbobot menurut pemeriksaan"
        " yang dipilih; predikat mengikuti pita indeks SPBE.",
        "en": "Compliance = weight passed (warnings half, waivers in full) divided by the weight of every"
        " determinable result; weights by severity (critical 10, high 5, medium 3, low 1)."
        " Endpoint index = 1 + 4 × compliance, capped by the worst open fail: critical at most Poor (1.79),"
        " high Fair (2.59), medium Good (3.49), low Very good (4.19). A group's index is the mean of its"
        " endpoints' capped indices, weighted by their selected checks; the rating follows the SPBE index"
        " bands.",
    },
    # -- caps (orchestrator.scoring.CAPS): why an index is lower than its pass rate gives
    "cap.finding": {"id": "{check} gagal (keparahan {severity})", "en": "{check} {severity} fail"},
    "cap.endpoint": {"id": "dibatasi: {finding}", "en": "capped: {finding}"},
    "cap.group": {
        "id": "dibatasi: {finding}; {count} endpoint dibatasi",
        "en": "capped: {finding}; {count} endpoints capped",
    },
    "cap.group_one": {
        "id": "dibatasi: {finding}; 1 endpoint dibatasi",
        "en": "capped: {finding}; 1 endpoint capped",
    },
    "cap.uncapped": {"id": "{index} tanpa batas", "en": "{index} uncapped"},
    # -- status, severity, predicates ----------------------------------------
    "status.pass": {"id": "lulus", "en": "pass"},
    "status.fail": {"id": "gagal", "en": "fail"},
    "status.warn": {"id": "peringatan", "en": "warning"},
    "status.error": {"id": "tidak dapat ditentukan", "en": "undetermined"},
    "status.skip": {"id": "tidak berlaku", "en": "not applicable"},
    "status.waived": {"id": "dikecualikan", "en": "waived"},
    "severity.critical": {"id": "kritis", "en": "critical"},
    "severity.high": {"id": "tinggi", "en": "high"},
    "severity.medium": {"id": "sedang", "en": "medium"},
    "severity.low": {"id": "rendah", "en": "low"},
    "severity.info": {"id": "informasi", "en": "info"},
    # SPBE predicates by the scoring module's ids; English keeps the official word too.
    "predicate.memuaskan": {"id": "Memuaskan", "en": "Satisfactory (Memuaskan)"},
    "predicate.sangat_baik": {"id": "Sangat Baik", "en": "Very good (Sangat Baik)"},
    "predicate.baik": {"id": "Baik", "en": "Good (Baik)"},
    "predicate.cukup": {"id": "Cukup", "en": "Fair (Cukup)"},
    "predicate.kurang": {"id": "Kurang", "en": "Poor (Kurang)"},
    "predicate.none": {"id": "tanpa predikat", "en": "no rating"},
    # -- check categories (the registry's English words) ---------------------
    "category.interop": {"id": "interoperabilitas", "en": "interoperability"},
    "category.protocol": {"id": "protokol", "en": "protocol"},
    "category.certificate": {"id": "sertifikat", "en": "certificate"},
    "category.health": {"id": "kesehatan layanan", "en": "health"},
    "category.reflection": {"id": "refleksi layanan", "en": "reflection"},
    "category.configuration": {"id": "konfigurasi", "en": "configuration"},
    "category.key-exchange": {"id": "pertukaran kunci", "en": "key exchange"},
    "category.identity": {"id": "identitas", "en": "identity"},
    "category.host-key": {"id": "kunci host", "en": "host key"},
    "category.performance": {"id": "kinerja", "en": "performance"},
    "category.transport": {"id": "transport", "en": "transport"},
    "category.authentication": {"id": "autentikasi", "en": "authentication"},
    "category.encryption": {"id": "enkripsi", "en": "encryption"},
    "category.integrity": {"id": "integritas", "en": "integrity"},
    "category.time": {"id": "waktu", "en": "time"},
    "category.alpn": {"id": "ALPN", "en": "ALPN"},
    "category.key": {"id": "kunci", "en": "key"},
    "category.cipher": {"id": "cipher", "en": "cipher"},
    # -- agency levels -------------------------------------------------------
    "level.pusat": {"id": "pusat", "en": "central"},
    "level.provinsi": {"id": "provinsi", "en": "province"},
    "level.kabupaten": {"id": "kabupaten", "en": "regency"},
    "level.kota": {"id": "kota", "en": "city"},
    # -- table columns -------------------------------------------------------
    "col.province": {"id": "Provinsi", "en": "Province"},
    "col.code": {"id": "Kode", "en": "Code"},
    "col.agency": {"id": "Instansi", "en": "Agency"},
    "col.agencies": {"id": "Instansi", "en": "Agencies"},
    "col.level": {"id": "Jenis", "en": "Type"},
    "col.index": {"id": "Indeks", "en": "Index"},
    "col.predicate": {"id": "Predikat", "en": "Rating"},
    "col.compliance": {"id": "Kepatuhan", "en": "Compliance"},
    "col.confidence": {"id": "Keyakinan", "en": "Confidence"},
    "col.serious": {"id": "Temuan kritis/tinggi", "en": "Critical/high findings"},
    "col.findings": {"id": "Temuan", "en": "Findings"},
    "col.endpoints": {"id": "Endpoint", "en": "Endpoints"},
    "col.category": {"id": "Kategori", "en": "Category"},
    "col.check": {"id": "Pemeriksaan", "en": "Check"},
    "col.severity": {"id": "Tingkat keparahan", "en": "Severity"},
    "col.status": {"id": "Status", "en": "Status"},
    "col.endpoint": {"id": "Endpoint", "en": "Endpoint"},
    "col.application": {"id": "Aplikasi", "en": "Application"},
    "col.protocol": {"id": "Protokol", "en": "Protocol"},
    "col.reason": {"id": "Alasan", "en": "Reason"},
    "col.reason_evidence": {"id": "Alasan dan bukti", "en": "Reason and evidence"},
    "col.remediation": {"id": "Perbaikan", "en": "Remediation"},
    "col.waiver": {"id": "Pengecualian", "en": "Waiver"},
    "col.subject": {"id": "Subjek", "en": "Subject"},
    "col.not_after": {"id": "Berlaku hingga", "en": "Valid until"},
    "col.days_left": {"id": "Sisa hari", "en": "Days left"},
    "col.reachability": {"id": "Keterjangkauan", "en": "Reachability"},
    "col.observed": {"id": "Yang teramati", "en": "Observed"},
    "col.before": {"id": "Sebelum", "en": "Before"},
    "col.after": {"id": "Sesudah", "en": "After"},
    "col.justification": {"id": "Justifikasi", "en": "Justification"},
    "col.approver": {"id": "Disetujui oleh", "en": "Approved by"},
    "col.expires": {"id": "Berakhir", "en": "Expires"},
    "col.waiver_id": {"id": "Pengecualian", "en": "Waiver"},
    "col.waived_status": {"id": "Status asli", "en": "Original status"},
    "col.results": {"id": "Hasil tercakup", "en": "Results covered"},
    "col.unreachable": {"id": "Tak terjangkau", "en": "Unreachable"},
    "col.scope": {"id": "Cakupan", "en": "Scope"},
    # -- what to fix first --------------------------------------------------
    "fix.explain": {
        "id": "Satu entri per perbaikan: perubahan yang harus dibuat, upayanya, pemeriksaan yang diselesaikan"
        " dan endpoint yang diperbaiki. Urutan: tingkat keparahan, lalu jumlah endpoint yang diperbaiki.",
        "en": "One entry per fix: the change to make, its effort, the checks it clears and the endpoints it"
        " fixes. Order: severity, then how many endpoints it fixes.",
    },
    "fix.national_explain": {
        "id": "Perbaikan yang menaikkan predikat instansi terbanyak, dihitung dengan penilaian yang sama"
        " (termasuk batas).",
        "en": "The fixes that move the most agencies up a rating, computed with the same scoring (caps"
        " included).",
    },
    "fix.now": {"id": "Indeks sekarang: {index} ({predicate})", "en": "Index now: {index} ({predicate})"},
    "fix.after": {
        "id": "Indeks setelah perbaikan: {index} ({predicate})",
        "en": "Index after this fix: {index} ({predicate})",
    },
    "fix.effort": {"id": "Upaya", "en": "Effort"},
    "fix.after_all": {
        "id": "Indeks setelah semua perbaikan: {index} ({predicate})",
        "en": "Index after every fix: {index} ({predicate})",
    },
    "fix.cumulative": {
        "id": "Bersama perbaikan 1–{number}: {index} ({predicate})",
        "en": "With fixes 1–{number}: {index} ({predicate})",
    },
    "fix.no_gain": {
        "id": "sendiri belum mengubah indeks: temuan lain masih membatasi endpoint yang sama",
        "en": "on its own it does not change the index: other findings still cap the same endpoints",
    },
    "fix.checks": {"id": "Menyelesaikan pemeriksaan", "en": "Clears checks"},
    "fix.endpoints": {"id": "Memperbaiki endpoint", "en": "Fixes endpoints"},
    "fix.agencies_up": {
        "id": "{count} instansi naik predikat",
        "en": "{count} agencies move up a rating",
    },
    "fix.findings": {"id": "{count} temuan terbuka", "en": "{count} open findings"},
    "fix.more_endpoints": {"id": "dan {count} endpoint lain", "en": "and {count} more endpoints"},
    "fix.none": {
        "id": "Tidak ada temuan terbuka yang perlu diperbaiki.",
        "en": "There is no open finding to fix.",
    },
    # How much work a fix is (probes.model.EFFORTS).
    "effort.config": {"id": "ubah konfigurasi (menit)", "en": "configuration change (minutes)"},
    "effort.certificate": {
        "id": "terbitkan atau perbarui sertifikat (jam hingga hari)",
        "en": "issue or renew a certificate (hours to days)",
    },
    "effort.upgrade": {
        "id": "perbarui atau ganti perangkat lunak server (hari)",
        "en": "upgrade or replace the server software (days)",
    },
    "effort.code": {
        "id": "ubah kode aplikasi (hari hingga minggu)",
        "en": "change the application's code (days to weeks)",
    },
    # -- trend -----------------------------------------------------------------
    "trend.chart": {
        "id": "Diagram garis: indeks pada {count} sweep terakhir dengan inventaris dan profil yang sama.",
        "en": "Line chart: the index over the last {count} sweeps of the same inventory and profile.",
    },
    "trend.none": {
        "id": "Belum ada sweep lain dengan inventaris dan profil yang sama.",
        "en": "There is no other sweep of the same inventory and profile yet.",
    },
    "col.sweep": {"id": "Sweep", "en": "Sweep"},
    "col.date": {"id": "Tanggal", "en": "Date"},
    # -- findings and evidence ----------------------------------------------
    "evidence.observed": {"id": "Teramati", "en": "Observed"},
    "evidence.expected": {"id": "Diharapkan", "en": "Expected"},
    "evidence.none": {"id": "tanpa bukti", "en": "no evidence"},
    "evidence.raw": {"id": "Bukti mentah (JSON)", "en": "Raw evidence (JSON)"},
    "waiver.none": {"id": "—", "en": "—"},
    "waiver.applied": {"id": "Diterapkan", "en": "Applied"},
    "waiver.expired_list": {"id": "Kedaluwarsa (tidak lagi berlaku)", "en": "Expired (no longer applied)"},
    "waiver.unmatched": {
        "id": "Tidak cocok dengan hasil mana pun",
        "en": "Matched no result",
    },
    "waiver.nothing": {"id": "Tidak ada pengecualian.", "en": "No waivers."},
    "waiver.expiring": {"id": "Berakhir dalam 30 hari", "en": "Expiring within 30 days"},
    "endpoint.reachable": {"id": "terjangkau", "en": "reachable"},
    "endpoint.unreachable": {"id": "tak terjangkau", "en": "unreachable"},
    "endpoint.not_probed": {"id": "belum diperiksa", "en": "not checked yet"},
    # -- filter and sort controls --------------------------------------------
    "filter.label": {"id": "Saring temuan", "en": "Filter findings"},
    "filter.status": {"id": "Status", "en": "Status"},
    "filter.severity": {"id": "Tingkat keparahan", "en": "Severity"},
    "filter.text": {"id": "Cari", "en": "Search"},
    "filter.text_placeholder": {"id": "teks bebas…", "en": "free text…"},
    "filter.all": {"id": "semua", "en": "all"},
    "filter.showing": {"id": "Menampilkan", "en": "Showing"},
    "filter.of": {"id": "dari", "en": "of"},
    "filter.agencies_label": {"id": "Saring instansi", "en": "Filter agencies"},
    "sort.hint": {
        "id": "Klik judul kolom untuk mengurutkan.",
        "en": "Click a column header to sort.",
    },
    # -- caps and empty states ----------------------------------------------
    "list.more": {
        "id": "{count} baris lain tidak ditampilkan (lihat laporan JSON/CSV).",
        "en": "{count} more rows not shown (see the JSON/CSV report).",
    },
    "list.empty": {"id": "Tidak ada.", "en": "None."},
    "list.more_agencies": {
        "id": "{count} instansi lain ada di tabel semua instansi.",
        "en": "{count} more agencies are in the table of all agencies.",
    },
    "findings.none": {"id": "Tidak ada temuan.", "en": "No findings."},
    "findings.scope": {
        "id": "Semua hasil selain lulus dan dilewati, yang paling parah lebih dahulu.",
        "en": "Every result other than pass and skip, most severe first.",
    },
    "attention.unmeasured": {
        "id": "{count} instansi tidak dapat diukur sama sekali (semua hasil tak terjangkau atau tidak dapat"
        " ditentukan); lihat tabel semua instansi.",
        "en": "{count} agencies could not be measured at all (every result unreachable or undetermined);"
        " see the table of all agencies.",
    },
    "top.explain": {
        "id": "Temuan gagal dan peringatan dengan tingkat keparahan tertinggi di seluruh sweep.",
        "en": "Failed and warning findings of the highest severity across the sweep.",
    },
    "attention.explain": {
        "id": "Urutan: indeks terendah, lalu temuan kritis/tinggi terbuka (gagal atau peringatan) terbanyak.",
        "en": "Order: lowest index first, then most open (fail or warning) critical/high findings.",
    },
    "chart.provinces": {
        "id": "Diagram batang: indeks kepatuhan {count} provinsi, diwarnai menurut predikat.",
        "en": "Bar chart: compliance index of {count} provinces, coloured by rating.",
    },
    "chart.categories": {
        "id": "Diagram batang: kepatuhan per kategori pemeriksaan (persen lulus).",
        "en": "Bar chart: compliance by check category (percent passing).",
    },
    "chart.certificates": {
        "id": "Garis waktu: {count} sertifikat menurut sisa masa berlaku; yang kedaluwarsa dan kurang dari"
        " 30 hari disorot.",
        "en": "Timeline: {count} certificates by days left; expired and under 30 days highlighted.",
    },
    "chart.data_table": {"id": "Data diagram sebagai tabel", "en": "Chart data as a table"},
    "chart.no_score": {"id": "tanpa skor", "en": "no score"},
    "chart.legend": {"id": "Keterangan", "en": "Legend"},
    "cert.expired": {"id": "kedaluwarsa", "en": "expired"},
    "cert.soon": {"id": "< 30 hari", "en": "< 30 days"},
    "cert.ok": {"id": "≥ 30 hari", "en": "≥ 30 days"},
    "cert.column": {
        "id": "{count} sertifikat, sisa {range} hari",
        "en": "{count} certificates, {range} days left",
    },
    "cert.today": {"id": "hari ini", "en": "today"},
    "cert.days": {"id": "{days} hari", "en": "{days} days"},
    "cert.soon_title": {"id": "Berakhir dalam 30 hari", "en": "Expiring within 30 days"},
    "cert.expired_title": {"id": "Sudah kedaluwarsa", "en": "Already expired"},
    "cert.none": {"id": "Tidak ada sertifikat yang teramati.", "en": "No certificates observed."},
    "changes.none": {
        "id": "Tidak ada sweep sebelumnya untuk dibandingkan.",
        "en": "There is no previous sweep to compare with.",
    },
    "changes.against": {
        "id": "Dibandingkan dengan sweep {sweep} ({when}).",
        "en": "Compared with sweep {sweep} ({when}).",
    },
    "changes.regressions": {"id": "Kemunduran", "en": "Regressions"},
    "changes.fixes": {"id": "Perbaikan", "en": "Fixes"},
    "changes.new": {"id": "Endpoint baru", "en": "New endpoints"},
    "changes.gone": {"id": "Endpoint hilang", "en": "Gone endpoints"},
    "changes.by_endpoint": {"id": "Per endpoint", "en": "Per endpoint"},
    "changes.by_endpoint_explain": {
        "id": "Temuan terbuka (gagal atau peringatan) setiap endpoint dibandingkan dengan sweep sebelumnya.",
        "en": "Each endpoint's open findings (fail or warning) compared with the previous sweep.",
    },
    "changes.new_findings": {"id": "Baru", "en": "New"},
    "changes.fixed": {"id": "Sudah diperbaiki", "en": "Fixed"},
    "changes.still_open": {"id": "Masih terbuka", "en": "Still open"},
    # -- metadata ------------------------------------------------------------
    "meta.sweep": {"id": "ID sweep", "en": "Sweep id"},
    "meta.inventory": {"id": "Inventaris", "en": "Inventory"},
    "meta.profile": {"id": "Profil", "en": "Profile"},
    "meta.profile_digest": {"id": "Digest profil", "en": "Profile digest"},
    "meta.engine": {"id": "Mesin", "en": "Engine"},
    "meta.started": {"id": "Mulai", "en": "Started"},
    "meta.finished": {"id": "Selesai", "en": "Finished"},
    "meta.state": {"id": "Keadaan", "en": "State"},
    "meta.endpoints": {"id": "Endpoint", "en": "Endpoints"},
    "meta.tool": {"id": "Alat", "en": "Tool"},
    "meta.generated": {"id": "Laporan dibuat", "en": "Report generated"},
    "meta.language": {"id": "Bahasa", "en": "Language"},
    "meta.language_name": {"id": "Bahasa Indonesia", "en": "English"},
    "meta.results": {"id": "Hasil pemeriksaan", "en": "Check results"},
    "state.running": {"id": "berjalan", "en": "running"},
    "state.interrupted": {"id": "terputus", "en": "interrupted"},
    "state.complete": {"id": "selesai", "en": "complete"},
    "state.failed": {"id": "gagal", "en": "failed"},
    "common.unknown": {"id": "tidak diketahui", "en": "unknown"},
    "common.none": {"id": "—", "en": "—"},
}

_MONTHS = {
    "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
# (thousands separator, decimal separator)
_NUMBER_SEPARATORS = {"id": (".", ","), "en": (",", ".")}


def normalise_language(lang: str | None) -> str:
    """``id`` unless the model asks for a language the catalogue has (``en``, ``en-GB`` …)."""
    base = (lang or DEFAULT_LANGUAGE).split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


class Translator:
    """UI strings and number/date formatting for one language."""

    def __init__(self, lang: str | None):
        self.lang = normalise_language(lang)

    def __call__(self, key: str, **values: Any) -> str:
        entry = MESSAGES[key]  # KeyError: a template asked for a string the catalogue lacks
        text = entry.get(self.lang) or entry[DEFAULT_LANGUAGE]
        return text.format(**values) if values else text

    def optional(self, prefix: str, value: Any, fallback: str | None = None) -> str:
        """The catalogue's word for a data value (a status, a category), else the value itself."""
        if value is None:
            return fallback if fallback is not None else self("common.unknown")
        key = f"{prefix}.{value}"
        return self(key) if key in MESSAGES else str(value)

    def cap(self, cap: Mapping[str, Any] | None) -> str:
        """Why a score is capped (``Score.to_dict()["cap"]``), one line; empty when it is not.

        An endpoint's names its worst open finding ("capped: SSH-KEX-001 high fail");
        a group's its main capping check and how many endpoints are capped.
        """
        if not cap:
            return ""
        finding = self(
            "cap.finding",
            check=cap.get("check") or self("common.unknown"),
            severity=self.optional("severity", cap.get("severity")),
        )
        if cap.get("max_index") is not None:  # an endpoint
            return self("cap.endpoint", finding=finding)
        count = int(cap.get("endpoints") or 0)
        if count == 1:
            return self("cap.group_one", finding=finding)
        return self("cap.group", finding=finding, count=self.number(count))

    def number(self, value: float | None, digits: int = 0) -> str:
        if value is None:
            return self("common.none")
        thousands, decimal = _NUMBER_SEPARATORS[self.lang]
        text = f"{value:,.{digits}f}"
        return text.translate(str.maketrans(",.", thousands + decimal))

    def percent(self, fraction: float | None, digits: int = 0) -> str:
        """``0.873`` -> ``87%`` (the model's ratios are 0..1)."""
        if fraction is None:
            return self("common.none")
        return f"{self.number(fraction * 100, digits)}%"

    def date(self, value: datetime | str | None, *, with_time: bool = False) -> str:
        """``5 Mar 2027`` / ``5 Mar 2027 14:02 UTC``; an unparsable text is shown as it came."""
        if value is None or value == "":
            return self("common.none")
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return value
        else:
            moment = value
        text = f"{moment.day} {_MONTHS[self.lang][moment.month - 1]} {moment.year}"
        if with_time:
            zone = moment.strftime("%Z") if moment.tzinfo else ""
            text += f" {moment:%H:%M}" + (
                f" {'UTC' if zone in ('UTC', 'UTC+00:00') else zone}" if zone else ""
            )
        return text

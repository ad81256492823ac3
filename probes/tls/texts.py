"""The tls checks' texts beyond their English registration: Bahasa Indonesia, and the effort of each fix.

``TEXTS[language][check id]`` is a ``CheckText`` (title, rationale,
remediation); technical names (algorithms, RFCs, configuration keywords)
stay as in English. ``EFFORT[check id]`` is one of ``probes.model.EFFORTS``.
A test fails when a registered check lacks either.
"""

from __future__ import annotations

from probes.model import CheckText
from probes.tls.facts import LEGACY_VERSIONS

_ID: dict[str, CheckText] = {
    "TLS-ALPN-001": CheckText(
        "ALPN memilih h2",
        'gRPC berjalan di atas HTTP/2, yang pada TLS dinegosiasikan dengan ALPN "h2"; klien gRPC terkini '
        "(antara lain grpc-go sejak 1.67) menolak server yang tidak memilihnya.",
        'Aktifkan ALPN dengan "h2" pada TLS terminator di depan layanan gRPC.',
    ),
    "TLS-CERT-001": CheckText(
        "Rantai sertifikat terverifikasi terhadap trust store yang dikonfigurasi",
        "Klien menolak rantai yang tidak dapat mereka bangun hingga ke CA tepercaya, atau yang "
        "ditandatangani dengan kunci atau digest di bawah tingkat keamanan mereka (OpenSSL level 2, bawaan "
        "Debian dan Python).",
        "Sajikan rantai lengkap (leaf dan intermediate) yang diterbitkan oleh CA yang dipercaya klien, "
        "dengan kunci yang mutakhir dan tanda tangan SHA-256 atau yang lebih kuat.",
    ),
    "TLS-CERT-002": CheckText(
        "Sertifikat mencantumkan nama endpoint",
        "Klien mencocokkan nama yang digunakannya untuk terhubung dengan subjectAltName pada sertifikat; "
        "ketidakcocokan menggagalkan setiap klien yang melakukan verifikasi dan membuka peluang penyadapan.",
        "Terbitkan sertifikat dengan entri subjectAltName (nama DNS atau alamat IP) untuk setiap nama yang "
        "digunakan klien untuk menjangkau endpoint.",
    ),
    "TLS-CERT-003": CheckText(
        "Sertifikat berada dalam masa berlakunya",
        "Sertifikat yang kedaluwarsa (atau belum berlaku) ditolak oleh setiap klien yang melakukan "
        "verifikasi: bagi mereka, layanan tidak tersedia.",
        "Perbarui sertifikat sekarang dan otomatiskan pembaruannya (misalnya dengan ACME).",
    ),
    "TLS-CERT-004": CheckText(
        "Sertifikat tidak akan segera kedaluwarsa",
        "Memperbarui sebelum minggu-minggu terakhir menyisakan waktu untuk memperbaiki pembaruan yang gagal "
        "sebelum klien terganggu.",
        "Perbarui sertifikat dan otomatiskan pembaruannya jauh sebelum masa berlakunya habis.",
    ),
    "TLS-CERT-005": CheckText(
        "Sertifikat tidak ditandatangani dengan SHA-1 atau MD5",
        "Tanda tangan SHA-1 dan MD5 dapat dipalsukan dengan serangan collision; CA telah berhenti "
        "menerbitkannya dan klien pada tingkat keamanan bawaan menolaknya.",
        "Terbitkan ulang sertifikat dengan tanda tangan SHA-256 (atau yang lebih kuat).",
    ),
    "TLS-KEY-001": CheckText(
        "Kunci sertifikat cukup kuat",
        "Kunci dengan tingkat keamanan di bawah 112 bit (RSA di bawah 2048 bit, kurva di bawah P-224) tidak "
        "diizinkan oleh NIST SP 800-131A. RSA-2048 (112 bit) tetap dapat diterima hingga 2030; atur "
        "warn_below_bits ke 128 untuk menandai kunci yang perlu diganti sebelum itu. EC P-256 ke atas "
        "memberikan 128 bit atau lebih.",
        "Terbitkan ulang sertifikat dengan kunci EC P-256/P-384, atau RSA 2048 (lebih baik 3072) bit.",
    ),
    "TLS-PROTO-001": CheckText(
        "Klien bawaan menegosiasikan TLS 1.2 atau yang lebih baru",
        "TLS 1.2 adalah versi minimum untuk sistem pemerintah; server yang tidak dapat menyelesaikan "
        "handshake TLS 1.2+ dengan klien standar hanya menjalankan versi usang atau tidak interoperabel.",
        "Aktifkan TLS 1.2 dan TLS 1.3 pada endpoint dengan cipher suite yang mutakhir.",
    ),
    "TLS-PROTO-004": CheckText(
        "TLS 1.3 didukung",
        "NIST SP 800-52r2 mewajibkan server TLS pemerintah mendukung TLS 1.3 sejak 1 Januari 2024; TLS 1.3 "
        "menghapus pertukaran kunci lama dan mengenkripsi lebih banyak bagian handshake.",
        "Aktifkan TLS 1.3 bersama TLS 1.2 (OpenSSL 1.1.1+ mendukungnya).",
    ),
    "TLS-PROTO-005": CheckText(
        "Cipher suite yang dinegosiasikan memiliki forward secrecy dan mode AEAD",
        "Pertukaran kunci ephemeral (EC)DHE melindungi sesi sebelumnya jika kunci server bocor; mode AEAD "
        "(GCM, ChaCha20-Poly1305, CCM) menghindari serangan padding CBC. NIST SP 800-52r2 mengutamakan "
        "suite semacam ini.",
        "Atur urutan cipher suite TLS 1.2 pada server agar mengutamakan ECDHE dengan AES-GCM atau "
        "ChaCha20-Poly1305.",
    ),
}


def _legacy_text(label: str) -> CheckText:
    """A legacy version's texts, built from its row as probes/tls/checks.py builds the English."""
    return CheckText(
        f"{label} ditolak",
        f"{label} tidak memiliki cipher suite modern dan memiliki kelemahan yang telah diketahui; RFC 8996 "
        "menyatakannya usang (deprecated) dan NIST SP 800-52r2 melarangnya untuk server pemerintah.",
        f"Nonaktifkan {label} (dan versi yang lebih lama) pada endpoint: jadikan TLS 1.2 sebagai versi "
        "minimum.",
    )


TEXTS: dict[str, dict[str, CheckText]] = {
    "id": {
        **_ID,
        **{check_id: _legacy_text(label) for check_id, label, _ in LEGACY_VERSIONS.values()},
    },
}

EFFORT: dict[str, str] = {
    "TLS-ALPN-001": "config",
    "TLS-CERT-001": "certificate",
    "TLS-CERT-002": "certificate",
    "TLS-CERT-003": "certificate",
    "TLS-CERT-004": "certificate",
    "TLS-CERT-005": "certificate",
    "TLS-KEY-001": "certificate",
    "TLS-PROTO-001": "config",
    "TLS-PROTO-004": "config",  # one line where OpenSSL is 1.1.1 or newer; an older stack needs an upgrade
    "TLS-PROTO-005": "config",
    **{check_id: "config" for check_id, _, _ in LEGACY_VERSIONS.values()},  # raise the minimum version
}

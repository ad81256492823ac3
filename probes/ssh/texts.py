"""The ssh checks' texts beyond their English registration: Bahasa Indonesia, and the effort of each fix.

``TEXTS[language][check id]`` is a ``CheckText`` (title, rationale,
remediation); technical names (algorithms, RFCs, configuration keywords)
stay as in English. ``EFFORT[check id]`` is one of ``probes.model.EFFORTS``.
A test fails when a registered check lacks either.
"""

from __future__ import annotations

from probes.model import CheckText

# The rows of ``probes.ssh.checks.LIST_CHECKS`` end their English rationale with the profile
# parameters (``_VERDICTS_DOC``, and ``_ALLOWED_DOC`` where the row allows ``allowed``); their
# Indonesian rationale ends with this translation of it.
_VERDICTS_DOC = (
    " Parameter profil: `verdicts` memetakan sebuah algoritma (atau glob) ke pass/warn/fail, menimpa "
    "tabel bawaan"
)
_ALLOWED_DOC = (
    "; `allowed` (sebuah daftar, atau null) menggagalkan setiap algoritma yang ditawarkan di luar daftar itu"
)


def _policy_check(title: str, rationale: str, remediation: str, *, allowlist: bool = True) -> CheckText:
    """The text of a check judged against its ``POLICY`` table: its rationale ends with the profile
    parameters it takes."""
    return CheckText(
        title, rationale + _VERDICTS_DOC + (_ALLOWED_DOC if allowlist else "") + ".", remediation
    )


_CONFIG_FILE = "/etc/ssh/sshd_config"

TEXTS: dict[str, dict[str, CheckText]] = {
    "id": {
        # -- probes/ssh/checks.py: without login ------------------------------
        "SSH-BANNER-001": CheckText(
            "Server menggunakan protokol SSH 2.0",
            "SSH-1 sudah rusak dan tidak dapat diperbaiki; server wajib mengumumkan protokol 2.0 pada baris "
            "identifikasinya (RFC 4253 §4.2). Versi 1.99 berarti server masih menerima klien SSH-1 juga.",
            "Nonaktifkan dukungan SSH-1 (OpenSSH: hapus `Protocol 1`); ganti server yang hanya mendukung "
            "SSH-1.",
        ),
        "SSH-KEX-001": _policy_check(
            "Tidak ada algoritma pertukaran kunci lemah yang ditawarkan",
            "Grup 1024-bit dan hash pertukaran SHA-1 tidak lagi melindungi sesi: RFC 9142 menyatakan "
            "group1-sha1 dan group-exchange-sha1 SHOULD NOT digunakan dan rsa1024-sha1 MUST NOT digunakan, "
            "mempertahankan group14-sha1 hanya untuk masa transisi, dan NIST SP 800-131A tidak mengizinkan "
            "tanda tangan SHA-1 atas hash pertukaran (exchange hash).",
            "Tawarkan hanya curve25519-sha256, sntrup761x25519-sha512/mlkem768x25519-sha256 dan "
            "diffie-hellman-group14-sha256/group16-sha512 (OpenSSH: `KexAlgorithms`).",
        ),
        "SSH-KEX-002": _policy_check(
            "Pertukaran kunci dengan kurva NIST P",
            "ECDH dengan kurva NIST P masih dapat diterima, tetapi curve25519 lebih disarankan; profil yang "
            "ketat dapat menjadikannya kegagalan.",
            "Utamakan curve25519-sha256 dan hapus ecdh-sha2-nistp* dari `KexAlgorithms` bila klien "
            "memungkinkan.",
            allowlist=False,
        ),
        "SSH-ENC-001": _policy_check(
            "Tidak ada cipher lemah yang ditawarkan",
            "Mode CBC, cipher blok 64-bit (3DES, Blowfish, CAST), RC4 dan `none` memungkinkan pemulihan "
            "plaintext atau sama sekali tidak memberikan kerahasiaan.",
            "Tawarkan hanya chacha20-poly1305@openssh.com, aes256-gcm@openssh.com, aes128-gcm@openssh.com "
            "dan aes*-ctr (OpenSSH: `Ciphers`).",
        ),
        "SSH-MAC-001": _policy_check(
            "Tidak ada kode autentikasi pesan (MAC) lemah yang ditawarkan",
            "MAC MD5 dan MAC terpotong 96-bit berstatus gagal; MAC SHA-1 dan tag 64-bit berstatus peringatan "
            "(BSI TR-02102-4 menghapus HMAC-SHA1 pada 2020).",
            "Tawarkan hanya hmac-sha2-256-etm@openssh.com dan hmac-sha2-512-etm@openssh.com (serta bentuk "
            "SHA-2 non-etm untuk klien lama) (OpenSSH: `MACs`).",
        ),
        "SSH-HKEY-004": _policy_check(
            "Kunci host dengan kurva NIST P (ECDSA)",
            "ECDSA dengan kurva NIST P masih disetujui (FIPS 186-5), tetapi Ed25519 lebih disarankan: setiap "
            "tanda tangan ECDSA memerlukan nonce rahasia yang baru, dan nonce yang bias atau berulang "
            "membocorkan kunci host, sedangkan Ed25519 menurunkan nonce-nya secara deterministik. Dinilai "
            "seperti pertukaran kunci dengan kurva NIST (SSH-KEX-002); profil yang ketat dapat menjadikannya "
            "kegagalan.",
            "Tawarkan kunci host Ed25519 (`ssh-keygen -t ed25519`, `HostKey`) dan hapus ecdsa-sha2-nistp* "
            "dari `HostKeyAlgorithms` (hapus `HostKey` ECDSA) bila klien memungkinkan; perbarui known_hosts "
            "dan pin pada inventaris.",
            allowlist=False,
        ),
        "SSH-HKEY-001": _policy_check(
            "Tidak ada tanda tangan kunci host DSA atau RSA SHA-1",
            "ssh-dss adalah DSA 1024-bit dengan SHA-1 dan ssh-rsa menandatangani dengan SHA-1; klien yang "
            "menegosiasikannya mengautentikasi server dengan fungsi hash yang sudah rusak.",
            "Hapus kunci host DSA dan tawarkan rsa-sha2-512/rsa-sha2-256 sebagai pengganti ssh-rsa "
            "(OpenSSH: `HostKeyAlgorithms`, `HostKey`).",
        ),
        "SSH-KEX-003": CheckText(
            "Pertukaran kunci ketat (strict key exchange) terhadap Terrapin (CVE-2023-48795)",
            "Dengan chacha20-poly1305, atau cipher CBC bersama MAC encrypt-then-MAC, penyerang di jalur "
            "komunikasi dapat membuang paket di awal sesi terenkripsi tanpa terdeteksi (Terrapin), kecuali "
            "kedua pihak menggunakan pertukaran kunci ketat (`kex-strict-s-v00@openssh.com`). Bila server "
            "menawarkan pertukaran kunci ketat, algoritma yang rentan tetap tercantum dalam bukti sebagai "
            "`mitigated`. Parameter profil: `verdicts` memetakan algoritma yang rentan (atau glob) ke "
            "pass/warn/fail bila pertukaran kunci ketat tidak ditawarkan.",
            "Lakukan upgrade ke rilis yang mendukung pertukaran kunci ketat (OpenSSH 9.6+, "
            "Dropbear 2024.84+, atau build distribusi yang sudah ditambal); sampai saat itu hapus "
            "chacha20-poly1305@openssh.com dan cipher CBC (atau MAC *-etm).",
        ),
        "SSH-KEX-004": CheckText(
            "Pertukaran kunci hibrida pasca-kuantum ditawarkan",
            "Lalu lintas yang direkam hari ini dapat didekripsi begitu komputer kuantum berskala besar ada; "
            "metode hibrida (sntrup761x25519, mlkem768x25519) mempertahankan jaminan klasik dan menambahkan "
            "jaminan pasca-kuantum. Parameter: `hybrid_methods` (nama yang diperhitungkan) dan "
            "`verdict_if_absent` (warn atau fail).",
            "Lakukan upgrade ke OpenSSH 9.0+ (sntrup761x25519-sha512@openssh.com) atau 9.9+ "
            "(mlkem768x25519-sha256) dan "
            "letakkan algoritma hibrida di urutan pertama pada `KexAlgorithms`.",
        ),
        "SSH-HKEY-002": CheckText(
            "Ukuran kunci host RSA memadai",
            "RSA di bawah 2048 bit tidak diizinkan (NIST SP 800-131A); di bawah 3072 bit tidak mencapai "
            "keamanan 128-bit yang diminta BSI TR-02102-4. Parameter: `fail_below_bits`, `warn_below_bits`.",
            "Buat kunci host baru (`ssh-keygen -t rsa -b 3072`, atau lebih baik Ed25519) dan perbarui "
            "known_hosts pada klien serta pin pada inventaris.",
        ),
        "SSH-HKEY-003": CheckText(
            "Kunci host sesuai dengan pin pada inventaris",
            "Kunci host yang berbeda dari yang didaftarkan instansi berarti server telah diganti, alamat "
            "diarahkan ke tempat yang salah, atau ada intersepsi. Tanpa pin, pemeriksaan ini dilewati. "
            "Parameter `unpinned_extra_keys` (warn atau fail): status ketika kunci yang di-pin ada, tetapi "
            "server juga menawarkan kunci yang tidak di-pin oleh siapa pun.",
            "Jika penggantian kunci memang direncanakan, perbarui pin pada inventaris (`ssh-keygen -lf` atas "
            "kunci publik yang baru); jika tidak, perlakukan server sebagai telah disusupi sampai ada "
            "penjelasan.",
        ),
        "SSH-AUTH-001": CheckText(
            "Tidak ada autentikasi berbasis kata sandi yang ditawarkan",
            "Kata sandi dan login keyboard-interactive dapat ditebak dan dicuri melalui phishing; kunci "
            "publik atau sertifikat tidak. Diketahui dari permintaan autentikasi 'none' (RFC 4252 §5.2) "
            "untuk pengguna yang seharusnya tidak ada; server yang menerima 'none' sama sekali tidak "
            "memerlukan kredensial. Parameter: `forbidden_methods`, `username` (akun yang disebut dalam "
            "permintaan).",
            "OpenSSH: `PasswordAuthentication no` dan `KbdInteractiveAuthentication no`; Dropbear: `-s`. "
            "Sebagai gantinya, distribusikan kunci publik atau SSH CA.",
        ),
        # -- probes/ssh/authenticated/checks.py: with login --------------------
        "SSH-CONF-001": CheckText(
            "Root tidak dapat login melalui SSH",
            "Login root secara langsung adalah sasaran paling berharga bagi penebakan kata sandi dan "
            "pencurian kunci, dan tidak meninggalkan catatan administrator mana yang bertindak; login dengan "
            "akun pribadi lalu menaikkan hak akses dengan sudo menjaga atribusi sekaligus memberi penghalang "
            "kedua.",
            f"Atur 'PermitRootLogin no' di {_CONFIG_FILE} (dan di setiap berkas yang dimuat dengan Include), "
            "berikan akun pribadi dengan sudo kepada administrator, lalu muat ulang sshd.",
        ),
        "SSH-CONF-002": CheckText(
            "Jumlah percobaan autentikasi per koneksi rendah",
            "Setiap percobaan yang diizinkan dalam satu koneksi adalah satu tebakan lagi bagi penyerang "
            "brute-force; batas yang rendah juga membuat kegagalan lebih cepat terlihat di log.",
            f"Atur 'MaxAuthTries 4' (atau lebih rendah) di {_CONFIG_FILE} dan muat ulang sshd.",
        ),
        "SSH-CONF-003": CheckText(
            "Koneksi yang belum terautentikasi segera diputus",
            "Setiap koneksi yang belum terautentikasi menempati satu slot server sampai grace time berakhir; "
            "grace time yang panjang atau tanpa batas memungkinkan penyerang menghabiskan MaxStartups dan "
            "membuat administrator tidak dapat masuk.",
            f"Atur 'LoginGraceTime 60' (atau lebih rendah, jangan pernah 0) di {_CONFIG_FILE} dan muat ulang "
            "sshd.",
        ),
        "SSH-CONF-004": CheckText(
            "X11 forwarding dinonaktifkan",
            "Server tidak memerlukan sesi grafis; tampilan X11 yang di-forward memungkinkan server yang "
            "telah disusupi membaca ketikan papan ketik dan layar desktop administrator.",
            f"Atur 'X11Forwarding no' (atau 'DisableForwarding yes') di {_CONFIG_FILE} dan muat ulang sshd.",
        ),
        "SSH-TIME-001": CheckText(
            "Jam server berselisih tidak lebih dari satu detik dari jam probe",
            "Korelasi log antarinstansi, masa berlaku sertifikat, Kerberos, dan kata sandi sekali pakai "
            "(one-time password) semuanya bergantung pada jam yang selaras; jam yang bergeser membuat "
            "linimasa insiden tidak dapat diandalkan dan dapat menggagalkan autentikasi.",
            "Sinkronkan jam secara terus-menerus dengan NTP (systemd-timesyncd atau chrony) terhadap sumber "
            "waktu instansi atau sumber waktu nasional, dan pastikan 'timedatectl' melaporkan "
            "'System clock synchronized: yes'.",
        ),
    },
}

# Host-key checks are "config": the server side is an ssh-keygen run and a `HostKey` line;
# EFFORTS has no class for telling clients (known_hosts) and the inventory about a new key.
EFFORT: dict[str, str] = {
    "SSH-BANNER-001": "config",  # `Protocol 1` removed; a server that speaks only SSH-1 is replaced
    "SSH-KEX-001": "config",  # KexAlgorithms
    "SSH-KEX-002": "config",  # KexAlgorithms
    "SSH-ENC-001": "config",  # Ciphers
    "SSH-MAC-001": "config",  # MACs
    "SSH-HKEY-004": "config",  # an Ed25519 HostKey, HostKeyAlgorithms
    "SSH-HKEY-001": "config",  # HostKeyAlgorithms, HostKey
    "SSH-KEX-003": "upgrade",  # strict key exchange needs OpenSSH 9.6+ / Dropbear 2024.84+
    "SSH-KEX-004": "upgrade",  # hybrid key exchange needs OpenSSH 9.0+ / 9.9+
    "SSH-HKEY-002": "config",  # a new host key
    "SSH-HKEY-003": "config",  # the inventory pins (or an incident when the change was not planned)
    "SSH-AUTH-001": "config",  # PasswordAuthentication, KbdInteractiveAuthentication
    "SSH-CONF-001": "config",
    "SSH-CONF-002": "config",
    "SSH-CONF-003": "config",
    "SSH-CONF-004": "config",
    "SSH-TIME-001": "config",  # NTP client
}

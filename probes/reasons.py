"""The reason templates: ``CATALOGUE[key][language]``, the one map of every frame a reason is said in.

Data only; ``probes.messages`` renders them. Every key has a text in every language of
``probes.model.LANGUAGES`` with the same placeholders (a test holds that), and is used by a probe.
Formal Bahasa Indonesia for government IT staff; technical names stay as in English.
"""

from __future__ import annotations

# key -> language -> template. Placeholders name the values a check passes; ``{x:g}`` and the
# like format numbers, ``{x!r}`` quotes a server's text as the English reason always did.
# Technical names (algorithms, SERVING, sshd_config keywords, gRPC methods) stay English.
CATALOGUE: dict[str, dict[str, str]] = {
    # -- the probe as a whole: runner, facts, connections ------------------------------------
    "probe.not_collected": {"en": "not collected", "id": "tidak dikumpulkan"},
    "probe.fact_missing": {"en": "{fact}: {why}", "id": "{fact}: {why}"},
    "probe.unreachable": {"en": "target unreachable: {error}", "id": "target tidak dapat dijangkau: {error}"},
    "probe.deadline": {
        "en": "probe deadline of {deadline:g} s exceeded",
        "id": "batas waktu probe {deadline:g} s terlampaui",
    },
    "probe.overran": {
        "en": "probe overran its deadline of {deadline:g} s",
        "id": "probe melampaui batas waktunya {deadline:g} s",
    },
    "probe.failed": {"en": "probe failed: {error}", "id": "probe gagal: {error}"},
    "probe.crashed": {"en": "probe crashed: {error}", "id": "probe berhenti karena galat: {error}"},
    "probe.check_failed": {"en": "check failed: {error}", "id": "pemeriksaan gagal: {error}"},
    "probe.out_of_scope": {
        "en": "outside the inventory scope: not probed",
        "id": "di luar cakupan inventaris: tidak diperiksa",
    },
    "probe.plaintext_no_tls": {
        "en": "plaintext endpoint: TLS is not in use",
        "id": "endpoint plaintext: TLS tidak digunakan",
    },
    "net.address": {"en": "{address}: {error}", "id": "{address}: {error}"},
    "net.timed_out": {"en": "timed out", "id": "waktu habis"},
    "net.timed_out_detail": {"en": "timed out: {detail}", "id": "waktu habis: {detail}"},
    "net.refused": {"en": "connection refused", "id": "koneksi ditolak"},
    "net.reset": {"en": "connection reset by peer", "id": "koneksi diputus (reset) oleh peer"},
    "net.closed_after": {
        "en": "connection closed by peer after {count} bytes",
        "id": "koneksi ditutup oleh peer setelah {count} byte",
    },
    # -- SSH without login ---------------------------------------------------------------------
    "ssh.banner.accepted": {
        "en": "server announces SSH protocol {version}",
        "id": "server mengumumkan protokol SSH {version}",
    },
    "ssh.banner.tolerated": {
        "en": "server announces protocol {version}: it also accepts SSH-1",
        "id": "server mengumumkan protokol {version}: server juga menerima SSH-1",
    },
    "ssh.banner.refused": {
        "en": "server announces protocol {version!r}, not 2.0",
        "id": "server mengumumkan protokol {version!r}, bukan 2.0",
    },
    # What each row of probes.ssh.checks.LIST_CHECKS judges, as the frames below name it.
    "ssh.what.weak_kex": {"en": "weak key-exchange methods", "id": "metode pertukaran kunci lemah"},
    "ssh.what.nist_kex": {"en": "NIST-curve ECDH methods", "id": "metode ECDH dengan kurva NIST"},
    "ssh.what.weak_ciphers": {"en": "weak ciphers", "id": "cipher lemah"},
    "ssh.what.weak_macs": {"en": "weak MACs", "id": "MAC lemah"},
    "ssh.what.nist_hostkeys": {
        "en": "NIST-curve ECDSA host-key algorithms",
        "id": "algoritma host key ECDSA dengan kurva NIST",
    },
    "ssh.what.weak_hostkeys": {"en": "weak host-key algorithms", "id": "algoritma host key lemah"},
    "ssh.none_offered": {"en": "no {what} offered", "id": "tidak ada {what} yang ditawarkan"},
    "ssh.offered": {"en": "{what} offered: {names}", "id": "{what} ditawarkan: {names}"},
    "ssh.offered_also": {
        "en": "{what} offered: {names}; also discouraged: {lesser}",
        "id": "{what} ditawarkan: {names}; juga tidak dianjurkan: {lesser}",
    },
    "ssh.strict_kex": {"en": "strict key exchange is offered", "id": "strict key exchange ditawarkan"},
    "ssh.no_terrapin_exposure": {
        "en": "no Terrapin-susceptible cipher or MAC offered",
        "id": "tidak ada cipher atau MAC rentan Terrapin yang ditawarkan",
    },
    "ssh.terrapin_exposed": {
        "en": "no strict key exchange while offering {names}",
        "id": "strict key exchange tidak ditawarkan, padahal {names} ditawarkan",
    },
    "ssh.hybrid_offered": {
        "en": "hybrid key exchange offered: {names}",
        "id": "pertukaran kunci hibrida ditawarkan: {names}",
    },
    "ssh.hybrid_absent": {
        "en": "no post-quantum hybrid key exchange offered",
        "id": "tidak ada pertukaran kunci hibrida pasca-kuantum yang ditawarkan",
    },
    "ssh.rsa_bits": {"en": "{bits}-bit RSA host key", "id": "host key RSA {bits} bit"},
    "ssh.rsa_bits_below": {
        "en": "{bits}-bit RSA host key (below {limit})",
        "id": "host key RSA {bits} bit (di bawah {limit})",
    },
    "ssh.no_rsa_key": {"en": "no RSA host key offered", "id": "tidak ada host key RSA yang ditawarkan"},
    "ssh.rsa_key_unreadable": {
        "en": "RSA host key ({algorithm}) could not be read: {error}",
        "id": "host key RSA ({algorithm}) tidak dapat dibaca: {error}",
    },
    "ssh.host_key_unreadable": {
        "en": "host key for {algorithm} could not be read: {error}",
        "id": "host key untuk {algorithm} tidak dapat dibaca: {error}",
    },
    "ssh.no_host_key": {"en": "the server offered no host key", "id": "server tidak menawarkan host key"},
    "ssh.pins_mismatch": {
        "en": "no offered host key matches a pin (server offers {fingerprints})",
        "id": "tidak satu pun host key yang ditawarkan cocok dengan pin (server menawarkan {fingerprints})",
    },
    "ssh.pins_extra": {
        "en": "pinned key present, but unpinned keys offered too: {fingerprints}",
        "id": "host key yang di-pin ada, tetapi host key yang tidak di-pin juga ditawarkan: {fingerprints}",
    },
    "ssh.pins_match": {
        "en": "all {count} host keys match the pins",
        "id": "semua {count} host key cocok dengan pin",
    },
    "ssh.auth_forbidden": {
        "en": "server offers {methods} authentication",
        "id": "server menawarkan autentikasi {methods}",
    },
    "ssh.auth_only": {"en": "server offers only {methods}", "id": "server hanya menawarkan {methods}"},
    "ssh.auth_nothing": {
        "en": "server offers only no methods",
        "id": "server tidak menawarkan metode autentikasi apa pun",
    },
    # -- SSH with login: sshd settings and the clock --------------------------------------------
    "ssh.setting_ok": {"en": "{setting} is {observed}", "id": "{setting} bernilai {observed}"},
    "ssh.setting_bad": {
        "en": "{setting} is {observed}, expected {expected}",
        "id": "{setting} bernilai {observed}, seharusnya {expected}",
    },
    "ssh.setting_unlimited": {
        "en": "{setting} is {observed} (0 means unlimited), expected {expected}",
        "id": "{setting} bernilai {observed} (0 berarti tanpa batas), seharusnya {expected}",
    },
    "ssh.setting_unreported": {
        "en": "{source} did not report {keyword}",
        "id": "{source} tidak melaporkan {keyword}",
    },
    "ssh.setting_unreadable": {
        "en": "{source} reported an unreadable {keyword}",
        "id": "{source} melaporkan nilai {keyword} yang tidak dapat dibaca",
    },
    "ssh.clock_offset": {
        "en": "clock is off by {offset:+.3f} s",
        "id": "jam server berselisih {offset:+.3f} s",
    },
    "ssh.clock_off_limit": {
        "en": "clock is off by {offset:+.3f} s (limit {limit:g} s)",
        "id": "jam server berselisih {offset:+.3f} s (batas {limit:g} s)",
    },
    "ssh.clock_unmeasurable": {
        "en": "round trip too slow to measure the offset within {limit:g} s "
        "(uncertainty {uncertainty:.3f} s)",
        "id": "waktu pulang-pergi terlalu lambat untuk mengukur selisih dalam {limit:g} s "
        "(ketidakpastian {uncertainty:.3f} s)",
    },
    # -- TLS ------------------------------------------------------------------------------------
    "tls.negotiated": {"en": "negotiated {name}", "id": "hasil negosiasi: {name}"},
    "tls.legacy_accepted": {
        "en": "the server accepted a {label} handshake ({cipher})",
        "id": "server menerima handshake {label} ({cipher})",
    },
    "tls.legacy_refused": {"en": "the server refused {label}", "id": "server menolak {label}"},
    "tls.tls13_refused": {
        "en": "a client offering TLS 1.3 was refused ({failure})",
        "id": "klien yang menawarkan TLS 1.3 ditolak ({failure})",
    },
    "tls.tls13_got": {
        "en": "a client offering TLS 1.3 got {version}",
        "id": "klien yang menawarkan TLS 1.3 mendapatkan {version}",
    },
    "tls.suite13": {"en": "TLS 1.3 suite {cipher}", "id": "cipher suite TLS 1.3 {cipher}"},
    "tls.suite_lacks_fs": {
        "en": "negotiated {cipher}, which lacks forward secrecy",
        "id": "hasil negosiasi: {cipher}, tanpa forward secrecy",
    },
    "tls.suite_lacks_aead": {
        "en": "negotiated {cipher}, which lacks an AEAD mode",
        "id": "hasil negosiasi: {cipher}, tanpa mode AEAD",
    },
    "tls.suite_lacks_both": {
        "en": "negotiated {cipher}, which lacks forward secrecy and an AEAD mode",
        "id": "hasil negosiasi: {cipher}, tanpa forward secrecy dan tanpa mode AEAD",
    },
    "tls.no_suite": {
        "en": "the server refused every TLS 1.2+ handshake: no suite to judge (see TLS-PROTO-001)",
        "id": "server menolak setiap handshake TLS 1.2+: tidak ada cipher suite yang dapat dinilai "
        "(lihat TLS-PROTO-001)",
    },
    "tls.alpn_selected": {"en": "the server selected {protocol}", "id": "server memilih {protocol}"},
    "tls.alpn_selected_other": {
        "en": "the server selected {protocol!r}",
        "id": "server memilih {protocol!r}",
    },
    "tls.alpn_none": {
        "en": "the server selected no ALPN protocol",
        "id": "server tidak memilih protokol ALPN apa pun",
    },
    "tls.chain_ok": {"en": "the chain verifies", "id": "rantai sertifikat terverifikasi"},
    "tls.chain_bad": {
        "en": "the chain does not verify: {reason} ({detail})",
        "id": "rantai sertifikat tidak terverifikasi: {reason} ({detail})",
    },
    "tls.name_matches": {"en": "{name} matches {matched_by}", "id": "{name} cocok dengan {matched_by}"},
    "tls.name_mismatch": {
        "en": "hostname mismatch: no subjectAltName covers {name}",
        "id": "nama host tidak cocok: tidak ada subjectAltName yang mencakup {name}",
    },
    "tls.not_yet_valid": {"en": "not valid before {date}", "id": "belum berlaku sebelum {date}"},
    "tls.expired": {"en": "expired on {date}", "id": "kedaluwarsa pada {date}"},
    "tls.valid_until": {"en": "valid until {date}", "id": "berlaku hingga {date}"},
    "tls.days_left": {"en": "{days:g} days of validity left", "id": "masa berlaku tersisa {days:g} hari"},
    "tls.days_left_below": {
        "en": "{days:g} days of validity left (threshold {threshold})",
        "id": "masa berlaku tersisa {days:g} hari (ambang batas {threshold})",
    },
    "tls.signed_with": {"en": "signed with {algorithm}", "id": "ditandatangani dengan {algorithm}"},
    "tls.signature_unknown": {
        "en": "unrecognised signature algorithm {oid}",
        "id": "algoritma tanda tangan tidak dikenali: {oid}",
    },
    "tls.key_strength": {
        "en": "{key} gives {bits} bits of security",
        "id": "{key} memberikan keamanan {bits} bit",
    },
    "tls.key_unknown": {
        "en": "unrecognised key {key}: strength unknown",
        "id": "kunci {key} tidak dikenali: kekuatannya tidak diketahui",
    },
    # -- gRPC -----------------------------------------------------------------------------------
    "grpc.subject.server_health": {"en": 'health of the server ("")', "id": 'health server ("")'},
    "grpc.subject.first_watch": {"en": 'first Watch message for ""', "id": 'pesan Watch pertama untuk ""'},
    "grpc.subject.unknown_method": {
        "en": "an unknown method",
        "id": "panggilan ke metode yang tidak dikenal",
    },
    "grpc.subject.unknown_service": {
        "en": "an unknown service",
        "id": "panggilan ke layanan yang tidak dikenal",
    },
    "grpc.status_is": {"en": "{subject} is {status}", "id": "{subject} berstatus {status}"},
    "grpc.answered": {"en": "{subject} answered {code}", "id": "{subject} dijawab dengan {code}"},
    "grpc.answered_detail": {
        "en": "{subject} answered {code} ({detail})",
        "id": "{subject} dijawab dengan {code} ({detail})",
    },
    "grpc.health_answered": {
        "en": "{subject}: answered {code} ({meaning})",
        "id": "{subject}: dijawab dengan {code} ({meaning})",
    },
    # What a health call's status answer means (probes.grpc.checks.HEALTH_REFUSALS).
    "grpc.refusal.no_health": {
        "en": "the server has no grpc.health.v1.Health service",
        "id": "server tidak memiliki layanan grpc.health.v1.Health",
    },
    "grpc.refusal.not_registered": {
        "en": "the service is not registered with the health service",
        "id": "layanan tidak terdaftar pada layanan health",
    },
    "grpc.refusal.not_serving": {"en": "the service is not serving", "id": "layanan sedang tidak melayani"},
    "grpc.refusal_detail": {"en": "{refusal}: {detail}", "id": "{refusal}: {detail}"},
    "grpc.no_detail": {"en": "no further detail", "id": "tanpa keterangan lebih lanjut"},
    "grpc.not_serving": {"en": "not SERVING: {services}", "id": "tidak berstatus SERVING: {services}"},
    "grpc.all_serving": {
        "en": "all {count} declared services are SERVING",
        "id": "semua {count} layanan yang dideklarasikan berstatus SERVING",
    },
    "grpc.list_unimplemented": {
        "en": "Health.List is not implemented (it is optional)",
        "id": "Health.List tidak diimplementasikan (bersifat opsional)",
    },
    "grpc.list_missing": {
        "en": "Health.List missing {services}",
        "id": "Health.List tidak memuat {services}",
    },
    "grpc.list_not_serving": {
        "en": "Health.List not SERVING: {entries}",
        "id": "Health.List mencantumkan layanan yang tidak berstatus SERVING: {entries}",
    },
    "grpc.list_missing_not_serving": {
        "en": "Health.List missing {services}; not SERVING: {entries}",
        "id": "Health.List tidak memuat {services}; layanan yang tidak berstatus SERVING: {entries}",
    },
    "grpc.list_all_serving": {
        "en": "Health.List shows {count} statuses, all SERVING",
        "id": "Health.List menampilkan {count} status, semuanya SERVING",
    },
    "grpc.no_reflection": {
        "en": "no server reflection ({tried})",
        "id": "tidak ada server reflection ({tried})",
    },
    "grpc.reflection_lists": {
        "en": "reflection {api} lists {count} services",
        "id": "reflection {api} mencantumkan {count} layanan",
    },
    "grpc.reflection_absent": {
        "en": "the server offers no reflection (see GRPC-REFL-001)",
        "id": "server tidak menyediakan reflection (lihat GRPC-REFL-001)",
    },
    "grpc.not_listed": {
        "en": "not listed by reflection: {services}",
        "id": "tidak dicantumkan oleh reflection: {services}",
    },
    "grpc.all_listed": {
        "en": "all {count} declared services are listed",
        "id": "semua {count} layanan yang dideklarasikan tercantum",
    },
    "grpc.descriptors_resolved": {
        "en": "descriptors resolved for {count} services",
        "id": "descriptor berhasil diperoleh untuk {count} layanan",
    },
    "grpc.nothing_to_resolve": {
        "en": "reflection lists no service and none is declared for this endpoint",
        "id": "reflection tidak mencantumkan layanan apa pun dan tidak ada layanan yang dideklarasikan "
        "untuk endpoint ini",
    },
    "grpc.reflection_v1": {"en": "reflection v1 is served", "id": "reflection v1 tersedia"},
    "grpc.reflection_deprecated": {
        "en": "only the deprecated reflection {api} is served",
        "id": "hanya reflection {api} yang sudah usang (deprecated) yang tersedia",
    },
    "grpc.identity_empty": {
        "en": "Describe leaves {fields} empty",
        "id": "Describe membiarkan {fields} kosong",
    },
    "grpc.identity": {
        "en": "Describe: agency {agency}, application {application}",
        "id": "Describe: instansi {agency}, aplikasi {application}",
    },
    "grpc.identity_unconfirmed": {
        "en": "cannot confirm the endpoint's identity: ServiceInfo.Describe answered {code}",
        "id": "identitas endpoint tidak dapat dipastikan: ServiceInfo.Describe dijawab dengan {code}",
    },
    "grpc.identity_field": {
        "en": "{field} {observed!r} (expected {expected!r})",
        "id": "{field} {observed!r} (seharusnya {expected!r})",
    },
    "grpc.misregistered": {
        "en": "misregistered endpoint: {fields}",
        "id": "endpoint salah terdaftar: {fields}",
    },
    "grpc.identity_matches": {
        "en": "identity matches the expected agency and application",
        "id": "identitas sesuai dengan instansi dan aplikasi yang diharapkan",
    },
    "grpc.not_declared": {
        "en": "not declared by the endpoint: {services}",
        "id": "tidak dideklarasikan oleh endpoint: {services}",
    },
    "grpc.declares_all": {
        "en": "the endpoint declares every expected service",
        "id": "endpoint mendeklarasikan setiap layanan yang diharapkan",
    },
    "grpc.no_service_info": {
        "en": "the endpoint does not implement ServiceInfo (see GRPC-IDEN-001)",
        "id": "endpoint tidak mengimplementasikan ServiceInfo (lihat GRPC-IDEN-001)",
    },
    "grpc.latency": {
        "en": "median health check round trip {median:g} ms",
        "id": "median waktu pulang-pergi health check {median:g} ms",
    },
    "grpc.latency_over": {
        "en": "median health check round trip {median:g} ms > {threshold:g} ms",
        "id": "median waktu pulang-pergi health check {median:g} ms > {threshold:g} ms",
    },
    "grpc.tls_verified": {
        "en": "gRPC channel established over TLS with a verified certificate",
        "id": "kanal gRPC terbentuk melalui TLS dengan sertifikat yang terverifikasi",
    },
    "grpc.tls_unverified": {
        "en": "no verified TLS channel: {failure}",
        "id": "tidak ada kanal TLS terverifikasi: {failure}",
    },
    "grpc.tls_refused": {
        "en": "not assessed: the TLS connection failed: {failure} ({detail}); see the TLS checks",
        "id": "tidak dapat dinilai: koneksi TLS gagal: {failure} ({detail}); lihat pemeriksaan TLS",
    },
    # What grpcio's words for a failed TLS connection mean (probes.grpc.gather.TLS_FAILURES).
    "grpc.tls.expired": {
        "en": "the server's certificate has expired",
        "id": "sertifikat server sudah kedaluwarsa",
    },
    "grpc.tls.name_mismatch": {
        "en": "the server's certificate does not match the expected name",
        "id": "sertifikat server tidak cocok dengan nama yang diharapkan",
    },
    "grpc.tls.unverified": {
        "en": "the server's certificate does not verify against the CA bundle",
        "id": "sertifikat server tidak dapat diverifikasi terhadap CA bundle",
    },
    "grpc.tls.not_tls": {"en": "the server does not speak TLS", "id": "server tidak menggunakan TLS"},
    "grpc.tls.handshake_failed": {"en": "the TLS handshake failed", "id": "handshake TLS gagal"},
    "grpc.plaintext": {
        "en": "the endpoint is reached over plaintext gRPC",
        "id": "endpoint dijangkau melalui gRPC plaintext (tanpa enkripsi)",
    },
    "grpc.no_answer": {
        "en": "{call}: no answer before the deadline",
        "id": "{call}: tidak ada jawaban sebelum batas waktu",
    },
    "grpc.handshake_timeout": {
        "en": "no gRPC (HTTP/2) handshake completed within {seconds:g} s",
        "id": "tidak ada handshake gRPC (HTTP/2) yang selesai dalam {seconds:g} s",
    },
    "grpc.connection_failed": {"en": "gRPC connection failed", "id": "koneksi gRPC gagal"},
    "grpc.connection_failed_detail": {
        "en": "gRPC connection failed: {detail}",
        "id": "koneksi gRPC gagal: {detail}",
    },
    # -- gRPC interop cases ----------------------------------------------------------------------
    "interop.not_served": {
        "en": "grpc.testing.TestService not served",
        "id": "grpc.testing.TestService tidak disediakan",
    },
    "interop.passed": {
        "en": "the server answered as the interop case requires",
        "id": "server menjawab sesuai ketentuan kasus interop",
    },
}

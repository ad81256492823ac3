"""The grpc checks' texts beyond their English registration: Bahasa Indonesia, and the effort of each fix.

``TEXTS[language][check id]`` is a ``CheckText`` (title, rationale,
remediation); technical names (algorithms, RFCs, configuration keywords)
stay as in English. ``EFFORT[check id]`` is one of ``probes.model.EFFORTS``.
A test fails when a registered check lacks either.
"""

from __future__ import annotations

from probes.grpc.interop.cases import CASES, Case
from probes.model import CheckText

_ID: dict[str, CheckText] = {
    "GRPC-HLTH-001": CheckText(
        "Layanan health melaporkan server sebagai SERVING",
        "Load balancer, orkestrator, dan operator nasional menentukan apakah lalu lintas diarahkan ke sebuah "
        "endpoint berdasarkan grpc.health.v1.Health; tanpa layanan tersebut, atau dengan status NOT_SERVING, "
        "endpoint tidak terlihat oleh mereka atau dianggap tidak beroperasi.",
        "Daftarkan grpc.health.v1.Health (grpcio-health-checking, grpc-go health, …) dan tetapkan status "
        'nama layanan kosong "" menjadi SERVING setelah aplikasi siap.',
    ),
    "GRPC-HLTH-002": CheckText(
        "Setiap layanan yang dideklarasikan melaporkan SERVING",
        "Setiap layanan yang tercantum di inventaris untuk endpoint ini adalah layanan yang dipanggil oleh "
        "instansi lain; status health miliknya sendiri menunjukkan apakah layanan itu siap, bukan hanya "
        "prosesnya.",
        "Tetapkan status health untuk setiap layanan yang disediakan aplikasi (health.set(name, SERVING)) "
        "dan jaga agar status tersebut tetap mutakhir.",
    ),
    "GRPC-HLTH-003": CheckText(
        "Health Watch mengirimkan status terkini secara streaming",
        "Health checking sisi klien di gRPC dan di banyak proxy menggunakan Watch, bukan Check; server tanpa "
        "Watch dianggap tidak sehat atau tidak pernah diterima kembali.",
        "Gunakan implementasi health yang menyediakan Watch (semua implementasi referensi menyediakannya) "
        "dan pastikan nama layanan kosong berstatus SERVING.",
    ),
    "GRPC-HLTH-004": CheckText(
        "Health List, jika diimplementasikan, menampilkan layanan yang dideklarasikan dengan status SERVING",
        "List (ditambahkan ke protokol health pada 2024) memberi operator semua status sekaligus; bila "
        "server menyediakannya, hasilnya harus sesuai dengan Check.",
        "Jaga agar List konsisten dengan Check: setiap layanan yang disediakan tercantum dengan status "
        "SERVING.",
    ),
    "GRPC-IDEN-001": CheckText(
        "Kontrak identitas SPBE ServiceInfo telah diimplementasikan",
        "Berdasarkan baseline SPBE, setiap endpoint gRPC yang terdaftar menyatakan instansi dan aplikasi "
        "mana dirinya (spbe.interop.v1.ServiceInfo/Describe), sehingga kesalahan pendaftaran dan server "
        "tanpa pemilik dapat ditemukan.",
        "Sediakan layanan spbe.interop.v1.ServiceInfo (protos/spbe/interop/v1/service_info.proto) dengan "
        "kode instansi dan id aplikasi sesuai inventaris, versi yang di-deploy, serta alamat kontak.",
    ),
    "GRPC-IDEN-002": CheckText(
        "Endpoint adalah instansi dan aplikasi yang didaftarkan di inventaris",
        "Endpoint yang mengidentifikasi diri sebagai instansi atau aplikasi lain berarti salah terdaftar: "
        "hasil, metrik, dan remediasi akan sampai ke pemilik yang salah, dan konsumen mungkin sedang "
        "berkomunikasi dengan sistem yang salah.",
        "Perbaiki entri inventaris, atau jawaban ServiceInfo dari endpoint, sehingga keduanya menyebut kode "
        "instansi dan id aplikasi yang sama.",
    ),
    "GRPC-IDEN-003": CheckText(
        "ServiceInfo mendeklarasikan layanan yang tercantum di inventaris",
        "Inventaris dan deklarasi endpoint itu sendiri menjadi tidak selaras ketika layanan ditambahkan atau "
        "dihentikan; perbedaannya menunjukkan mana yang perlu diperbarui.",
        "Cantumkan setiap layanan yang disediakan dalam DescribeResponse.declared_services, atau perbarui "
        "inventaris.",
    ),
    "GRPC-LAT-001": CheckText(
        "Latensi health check berada dalam ambang batas",
        "Health check adalah panggilan paling ringan yang dijawab server; bila health check lambat, setiap "
        "panggilan ke endpoint juga lambat, dan deadline pemanggil mulai terlampaui.",
        "Periksa beban server dan jalur jaringan (tautan regional, gateway); jaga agar handler health bebas "
        "dari pekerjaan yang memblokir.",
    ),
    "GRPC-REFL-001": CheckText(
        "Server reflection tersedia",
        "Reflection memungkinkan operator dan instansi pengguna menemukan layanan beserta skemanya (grpcurl, "
        "Postman, gateway) tanpa perlu mengirimkan berkas .proto ke sana kemari.",
        "Aktifkan server reflection (grpc.reflection.v1, atau v1alpha pada grpcio-reflection) pada endpoint, "
        "dengan mencantumkan setiap layanan yang disediakan.",
    ),
    "GRPC-REFL-002": CheckText(
        "Reflection mencantumkan setiap layanan yang dideklarasikan",
        "Layanan yang dideklarasikan tetapi tidak muncul di reflection berarti tidak disediakan di endpoint "
        "ini atau tersembunyi dari discovery; keduanya merusak konsumen yang mengandalkan inventaris.",
        "Sediakan layanan yang dideklarasikan di endpoint ini dan sertakan dalam nama-nama layanan yang "
        "diberikan ke reflection; atau perbaiki inventaris.",
    ),
    "GRPC-REFL-003": CheckText(
        "Reflection memberikan descriptor untuk setiap layanan",
        "Layanan yang tercantum tetapi file descriptor-nya tidak dapat diambil tidak dapat dipanggil oleh "
        "klien generik atau gateway: discovery berhenti pada namanya saja.",
        "Daftarkan descriptor hasil generate dari setiap layanan yang disediakan ke descriptor pool yang "
        "dibaca layanan reflection (impor modul *_pb2 / tautkan descriptor-nya).",
    ),
    "GRPC-REFL-004": CheckText(
        "Reflection menyediakan API v1 yang stabil",
        "grpc.reflection.v1alpha sudah usang (deprecated); klien terkini meminta v1 terlebih dahulu dan "
        "sebagian tidak lagi beralih ke versi lama.",
        "Sediakan grpc.reflection.v1 (bersama v1alpha untuk klien lama).",
    ),
    "GRPC-TLS-001": CheckText(
        "Lalu lintas gRPC dilewatkan melalui TLS yang terverifikasi",
        "Data yang dipertukarkan antarsistem pemerintah melintasi jaringan yang tidak dikendalikan instansi; "
        "gRPC tanpa enkripsi (plaintext) membuka data tersebut dan memungkinkan siapa pun di jalur itu "
        "mengubahnya.",
        "Sajikan gRPC melalui TLS (1.2 atau lebih baru) dengan sertifikat untuk nama yang terdaftar dan "
        "daftarkan endpoint sebagai grpcs:// di inventaris.",
    ),
    "GRPC-UNIM-001": CheckText(
        "Metode yang tidak dikenal pada layanan yang disediakan mengembalikan UNIMPLEMENTED",
        "Klien mendeteksi perbedaan versi melalui UNIMPLEMENTED; server yang menjawab OK, INTERNAL, atau "
        "menggantung pada metode yang tidak dimilikinya menyesatkan klien sehingga mencoba ulang atau "
        "menerima data sampah.",
        "Biarkan framework gRPC yang menjawab metode yang tidak dikenal (jangan memasang handler catch-all "
        "yang menjawab setiap path).",
    ),
    "GRPC-UNIM-002": CheckText(
        "Layanan yang tidak dikenal mengembalikan UNIMPLEMENTED",
        "Panggilan ke layanan yang tidak disediakan endpoint harus gagal dengan jelas dengan UNIMPLEMENTED "
        "agar panggilan yang salah alamat terlihat.",
        "Jangan arahkan layanan yang tidak dikenal ke handler default; biarkan framework yang menjawab "
        "UNIMPLEMENTED.",
    ),
}

# Per interop case (``Case.name`` in probes.grpc.interop.cases.CASES): its summary and why it matters,
# in Indonesian; the check's texts are built from them as probes/grpc/interop/checks.py builds English.
INTEROP_CASES_ID: dict[str, tuple[str, str]] = {
    "empty_unary": (
        "EmptyCall dengan request kosong berhasil dengan response kosong",
        (
            "Pesan berukuran nol adalah pesan gRPC yang sah; server atau proxy yang salah menanganinya merusak "
            "health check dan metode tanpa argumen."
        ),
    ),
    "large_unary": (
        "UnaryCall menjawab 314159 byte nol untuk request berukuran 271828 byte",
        (
            "Pesan berukuran beberapa ratus kilobyte melintasi banyak frame HTTP/2 dan jendela flow control; "
            "server atau proxy yang memotong atau menyusun ulang frame-nya merusak dokumen yang sesungguhnya."
        ),
    ),
    "client_streaming": (
        "StreamingInputCall menggabungkan 4 payload yang di-stream menjadi 74922 byte",
        "Unggahan yang dikirim sebagai beberapa pesan harus tiba utuh dan berurutan.",
    ),
    "server_streaming": (
        "StreamingOutputCall men-stream 4 response berukuran 31415, 9, 2653, 58979 byte",
        "Unduhan yang di-stream harus mengirimkan setiap pesan, secara berurutan, dengan ukuran penuh.",
    ),
    "ping_pong": (
        "FullDuplexCall menjawab masing-masing dari 4 request secara bergiliran dengan ukuran yang diminta",
        (
            "Stream dua arah harus menjawab setiap pesan saat pesan itu tiba; server atau proxy yang menahan "
            "(buffer) hingga akhir membuat klien interaktif macet."
        ),
    ),
    "empty_stream": (
        "FullDuplexCall tanpa request berakhir OK tanpa response",
        (
            "Stream tanpa pesan di kedua arah tetap harus berakhir OK; klien membuka dan menutup sesi dengan "
            "cara itu."
        ),
    ),
    "custom_metadata": (
        (
            "x-grpc-test-echo-initial dan x-grpc-test-echo-trailing-bin dikembalikan (echo) pada panggilan unary "
            "dan duplex"
        ),
        (
            "Klien membawa id request, token, dan konteks trace dalam metadata ASCII dan biner (-bin) serta "
            "membaca hasil dari header dan trailer; server atau proxy yang membuangnya merusak tracing dan "
            "autentikasi."
        ),
    ),
    "status_code_and_message": (
        "Kode status dan pesan yang diminta kembali tanpa perubahan pada panggilan unary dan duplex",
        (
            "Error sampai ke klien hanya sebagai kode status dan pesan; keduanya harus bertahan tanpa perubahan "
            "pada panggilan unary maupun streaming."
        ),
    ),
    "special_status_message": (
        "Pesan status dengan whitespace dan Unicode non-ASCII kembali tanpa perubahan",
        (
            "Pesan status dikirim sebagai UTF-8 dengan percent-encoding; server yang memangkas atau mengubahnya "
            "merusak teks error dalam semua bahasa kecuali bahasa Inggris biasa."
        ),
    ),
    "unimplemented_method": (
        "TestService/UnimplementedCall menjawab UNIMPLEMENTED",
        (
            "Klien beralih ke alternatif atau melapor dengan jelas saat menerima UNIMPLEMENTED; jawaban lain "
            "untuk metode yang tidak dikenal menyesatkan mereka."
        ),
    ),
    "unimplemented_service": (
        "grpc.testing.UnimplementedService menjawab UNIMPLEMENTED",
        (
            "Klien mengetahui layanan apa saja yang disediakan server dengan memanggilnya; layanan yang tidak "
            "dikenal harus menjawab UNIMPLEMENTED, bukan berhasil atau gagal dengan cara lain."
        ),
    ),
    "cancel_after_begin": (
        (
            "Panggilan client-streaming yang dibatalkan sebelum ada request berakhir CANCELLED, bukan diakhiri "
            "oleh server"
        ),
        (
            "Hanya klien yang boleh mengakhiri unggahan yang belum diselesaikannya; server yang terlalu dini "
            "mengakhiri unggahan yang sedang diam merusak klien yang lambat. Kasus ini terutama menguji klien, "
            "karena itu tingkatnya info."
        ),
    ),
    "cancel_after_first_response": (
        (
            "Panggilan duplex yang dibatalkan setelah response pertamanya berakhir CANCELLED, bukan diakhiri "
            "oleh server"
        ),
        (
            "Server harus menjaga stream duplex tetap terbuka selama klien masih dapat mengirim; mengakhirinya "
            "setelah jawaban pertama merusak klien percakapan (conversational). Kasus ini terutama menguji "
            "klien, karena itu tingkatnya info."
        ),
    ),
    "timeout_on_sleeping_server": (
        (
            "Panggilan duplex yang dibiarkan terbuka melewati deadline-nya berakhir DEADLINE_EXCEEDED, dengan "
            "server tetap membukanya"
        ),
        (
            "Server harus menjaga stream tetap terbuka hingga klien mengakhirinya atau deadline-nya lewat. "
            "Deadline 1 ms dalam spesifikasi habis sebelum server mana pun dapat menjawab, sehingga kasus itu "
            "hanya menguji klien; sebagai gantinya probe menunggu deadline_s (0.5 s), sehingga server yang "
            "mengakhiri stream terlalu dini dapat terlihat. Kasus ini terutama menguji klien, karena itu "
            "tingkatnya info."
        ),
    ),
}


def _interop_text(case: Case) -> CheckText:
    summary, why = INTEROP_CASES_ID[case.name]
    return CheckText(
        f"Interop gRPC {case.name}: {summary}",
        f"{why} {case.name} adalah salah satu kasus interop yang diujikan pada setiap implementasi resmi "
        "gRPC, sehingga server yang gagal pada kasus ini merusak klien yang ditulis dalam "
        "bahasa pemrograman lain.",
        f"Jalankan kasus {case.name} dari klien interop gRPC terhadap server, lalu perbaiki handler "
        "grpc.testing.TestService (atau proxy di depannya) hingga kasus tersebut lulus.",
    )


TEXTS: dict[str, dict[str, CheckText]] = {
    "id": {
        **_ID,
        # A case without a row is left out here and reported by registry.missing_texts().
        **{case.check_id: _interop_text(case) for case in CASES if case.name in INTEROP_CASES_ID},
    },
}

# The effort of the first fix a remediation names (an inventory correction is config).
EFFORT: dict[str, str] = {
    "GRPC-HLTH-001": "code",
    "GRPC-HLTH-002": "code",
    "GRPC-HLTH-003": "upgrade",
    "GRPC-HLTH-004": "code",
    "GRPC-IDEN-001": "code",
    "GRPC-IDEN-002": "config",
    "GRPC-IDEN-003": "code",
    "GRPC-LAT-001": "config",
    "GRPC-REFL-001": "code",
    "GRPC-REFL-002": "code",
    "GRPC-REFL-003": "code",
    "GRPC-REFL-004": "upgrade",
    "GRPC-TLS-001": "certificate",
    "GRPC-UNIM-001": "code",
    "GRPC-UNIM-002": "code",
    **{case.check_id: "code" for case in CASES},  # fixing an interop handler
}

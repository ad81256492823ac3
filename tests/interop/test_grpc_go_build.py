"""How the grpc-go peers are built: the private apt sources, the cache, the Makefile hook."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.testbed import grpc_go

REPO = Path(__file__).resolve().parents[2]
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def apt_dir(tmp_path: Path, sources: str = "", one_line: str = "") -> Path:
    (tmp_path / "sources.list.d").mkdir()
    if sources:
        (tmp_path / "sources.list.d" / "debian.sources").write_text(sources)
    if one_line:
        (tmp_path / "sources.list").write_text(one_line)
    return tmp_path


DEB822 = f"""Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: {KEYRING}

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: {KEYRING}
"""


def test_the_mirror_comes_from_the_deb822_sources(tmp_path):
    mirror = grpc_go.debian_mirror(apt_dir(tmp_path, sources=DEB822), codename="bookworm")

    assert mirror == grpc_go.Mirror("http://deb.debian.org/debian", "bookworm", KEYRING)
    assert mirror.sources_list() == (
        f"deb [signed-by={KEYRING}] http://deb.debian.org/debian bookworm main\n"
        f"deb-src [signed-by={KEYRING}] http://deb.debian.org/debian bookworm main\n"
    )


def test_the_mirror_comes_from_a_one_line_sources_list(tmp_path):
    one_line = (
        "# a comment\n"
        "deb http://security.debian.org/debian-security bookworm-security main\n"
        "deb [arch=amd64] http://mirror.example.id/debian bookworm main contrib\n"
    )

    mirror = grpc_go.debian_mirror(apt_dir(tmp_path, one_line=one_line), codename="bookworm")

    assert mirror == grpc_go.Mirror("http://mirror.example.id/debian", "bookworm", None)
    assert mirror.sources_list().startswith("deb http://mirror.example.id/debian bookworm main\n")


def test_a_disabled_stanza_is_not_the_mirror(tmp_path):
    disabled = DEB822.replace("Types: deb\n#", "Enabled: no\nTypes: deb\n#", 1)

    with pytest.raises(grpc_go.BuildError, match="no 'deb … bookworm main' entry"):
        grpc_go.debian_mirror(apt_dir(tmp_path, sources=disabled), codename="bookworm")


def test_private_apt_keeps_to_its_own_directory(tmp_path):
    apt = grpc_go.PrivateApt(
        tmp_path / "apt", grpc_go.Mirror("http://deb.debian.org/debian", "bookworm", None)
    )

    options = dict(pair.split("=", 1) for pair in apt.options()[1::2])

    for key in ("Dir::Etc::SourceList", "Dir::Etc::SourceParts", "Dir::State::Lists", "Dir::Cache"):
        assert options[key].startswith(str(tmp_path / "apt")), key
    assert not any((tmp_path / "apt" / "sources.list.d").iterdir())


def test_a_second_build_uses_the_cache(grpc_go_peers):
    again = grpc_go.build()

    assert again == grpc_go_peers
    assert again.built_from.startswith(
        f"golang-google-grpc {grpc_go.installed_version('golang-google-grpc-dev')};"
    )


def test_make_test_builds_the_peers_first():
    makefile = (REPO / "Makefile").read_text()

    assert re.search(r"^test:.*\bgrpc-go\b", makefile, re.MULTILINE)
    assert re.search(
        r"^grpc-go:.*\n\t\$\(PY\) -m orchestrator\.testbed\.grpc_go build$", makefile, re.MULTILINE
    )

"""``interop tokens add/list/revoke``; only hashes on disk; a bad tokens file is exit 2 with file:line:field;
a token revoked while the service runs is refused from the next request on."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from orchestrator.service.access import TokenSource, load_tokens, parse_role
from tests.service.conftest import OWN, bearer

INTEROP = [sys.executable, "-m", "orchestrator.cli"]


def interop(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*INTEROP, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env=env
    )


def test_add_list_revoke(tmp_path):
    path = tmp_path / "tokens.yaml"
    added = interop(
        "tokens", "add", "--role", f"agency:{OWN}", "--tokens", str(path), "--note", "Prometheus Bandung"
    )
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert len(token) > 40 and "\n" not in token and "shown only this once" in added.stderr
    text = path.read_text()
    assert token not in text and hashlib.sha256(token.encode()).hexdigest() in text
    assert path.stat().st_mode & 0o777 == 0o600
    operator = interop("tokens", "add", "--role", "operator", "--tokens", str(path))
    assert operator.returncode == 0

    listed = interop("tokens", "list", "--tokens", str(path), "--json")
    assert listed.returncode == 0
    rows = json.loads(listed.stdout)
    assert [row["role"] for row in rows] == [f"agency:{OWN}", "operator"]
    assert rows[0]["note"] == "Prometheus Bandung" and all("sha256" not in row for row in rows)
    table = interop("tokens", "list", "--tokens", str(path))
    entries = load_tokens(path)
    assert all(entry.id in table.stdout and entry.sha256 not in table.stdout for entry in entries)
    assert token not in table.stdout + listed.stdout

    revoked = interop("tokens", "revoke", rows[0]["id"], "--tokens", str(path))
    assert revoked.returncode == 0, revoked.stderr
    assert [entry.role for entry in load_tokens(path)] == ["operator"]
    again = interop("tokens", "revoke", rows[0]["id"], "--tokens", str(path))
    assert again.returncode == 2 and "no token with id" in again.stderr


def test_the_file_may_be_named_by_the_environment(tmp_path):
    path = tmp_path / "tokens.json"
    env = {**__import__("os").environ, "INTEROP_TOKENS": str(path)}
    assert interop("tokens", "add", "--role", "operator", env=env).returncode == 0
    assert json.loads(path.read_text())["tokens"][0]["role"] == "operator"
    assert interop("tokens", "list", env=env).returncode == 0


@pytest.mark.parametrize("role", ["admin", "agency", "agency:", "agency:a b", "operator:x", "agency:../x"])
def test_bad_roles_are_refused(tmp_path, role):
    done = interop("tokens", "add", "--role", role, "--tokens", str(tmp_path / "t.yaml"))
    assert done.returncode == 2 and "give operator or agency:<code>" in done.stderr
    assert not (tmp_path / "t.yaml").exists()
    with pytest.raises(ValueError, match="give operator or agency"):
        parse_role(role)


BAD_FILES = {
    "unknown field": (
        "tokens:\n  - id: a\n    role: operator\n    sha256: "
        + "0" * 64
        + "\n    created: '2026-01-01'\n    token: plain\n",
        "t.yaml:6: tokens[0].token: unknown field",
    ),
    "bad role": (
        "tokens:\n  - id: a\n    role: root\n    sha256: " + "0" * 64 + "\n    created: '2026-01-01'\n",
        "t.yaml:3: tokens[0].role: role 'root'",
    ),
    "not a hash": (
        "tokens:\n  - id: a\n    role: operator\n    sha256: spbe_abc\n    created: '2026-01-01'\n",
        "t.yaml:4: tokens[0].sha256: give the token's SHA-256",
    ),
    "duplicate id": (
        "tokens:\n"
        + "".join(
            f"  - id: a\n    role: operator\n    sha256: {d * 64}\n    created: '2026-01-01'\n" for d in "ab"
        ),
        "t.yaml:6: tokens[1].id: the same id as tokens[0]",
    ),
    "not yaml": ("tokens: [\n", "t.yaml:2: (yaml): not valid YAML"),
    "a list": ("- a\n", "t.yaml:1: (document): a tokens file is a mapping"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_tokens_file_is_exit_2_with_file_line_field(tmp_path, case):
    text, expected = BAD_FILES[case]
    (tmp_path / "t.yaml").write_text(text)
    for args in (
        ["tokens", "list", "--tokens", "t.yaml"],
        ["serve", "--store", "nowhere.db", "--tokens", "t.yaml", "--listen", "127.0.0.1:1"],
    ):
        done = subprocess.run(
            [*INTEROP, *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 2 and expected in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_a_token_revoked_while_serving_is_refused_at_once(http, tokens):
    added = interop("tokens", "add", "--role", f"agency:{OWN}", "--tokens", str(tokens.path))
    token = added.stdout.strip()
    assert http.get("/metrics", headers=bearer(token)).status_code == 200
    token_id = next(
        entry.id
        for entry in load_tokens(tokens.path)
        if entry.sha256 == hashlib.sha256(token.encode()).hexdigest()
    )
    assert interop("tokens", "revoke", token_id, "--tokens", str(tokens.path)).returncode == 0
    assert http.get("/metrics", headers=bearer(token)).status_code == 401
    assert http.get("/metrics", headers=bearer(tokens.by_name["own"])).status_code == 200


def test_a_tokens_file_broken_while_serving_refuses_every_token(tmp_path):
    """Fails closed: nothing is let in on a file that cannot be read (and readiness says so)."""
    path = tmp_path / "t.yaml"
    interop("tokens", "add", "--role", "operator", "--tokens", str(path))
    source = TokenSource(path)
    assert source.problem() is None
    path.write_text("tokens: [\n")
    assert source.problem() is not None
    with pytest.raises(Exception, match="not valid YAML"):
        source.authenticate("anything")

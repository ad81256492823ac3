"""``interop tokens add|list|revoke``: the bearer tokens of ``interop serve`` (``orchestrator.service.access``).

``add`` prints the new token once, on stdout alone (so a script can capture
it), and stores only its SHA-256 in the file; nobody can show it again.
``list`` shows ids, roles, creation times and notes, never hashes.
``revoke`` removes a token; a running service re-reads the file and refuses
it from the next request on. Exit codes: 0 done; 2 usage error (bad role,
unreadable or invalid tokens file with file:line:field, unknown token id).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from orchestrator.cli.common import stderr, stdout, usage_error
from orchestrator.inventory.yaml_nodes import ConfigError
from orchestrator.service.access import (
    NOTE_MAX_CHARS,
    ROLES,
    TOKENS_ENV,
    TokenEntry,
    add_token,
    load_tokens,
    parse_role,
    revoke_token,
)

tokens_app = typer.Typer(
    name="tokens", help="Bearer tokens of interop serve: add, list, revoke.", no_args_is_help=True
)

TokensOption = Annotated[
    Path,
    typer.Option(
        "--tokens",
        envvar=TOKENS_ENV,
        show_default=False,
        help="Tokens file (YAML, or JSON by its .json suffix); it stores hashes only.",
    ),
]


def _entries(path: Path) -> list[TokenEntry]:
    if not path.exists():
        raise usage_error(f"no tokens file at {path} (interop tokens add creates it)")
    try:
        return load_tokens(path)
    except ConfigError as exc:
        raise usage_error(f"tokens file:\n{exc}") from None


@tokens_app.command("add")
def add(
    role: Annotated[
        str,
        typer.Option(
            "--role",
            show_default=False,
            help="; ".join(f"{role}: {sees}" for role, sees in ROLES.items()) + ".",
        ),
    ],
    tokens: TokensOption,
    note: Annotated[
        str | None,
        typer.Option("--note", show_default=False, help="Who or what the token is for (shown by list)."),
    ] = None,
) -> None:
    """Create a token: printed once on stdout, its hash stored in the tokens file."""
    try:
        parsed = parse_role(role)
    except ValueError as exc:
        raise usage_error(str(exc)) from None
    if note is not None and len(note) > NOTE_MAX_CHARS:
        raise usage_error(f"--note: at most {NOTE_MAX_CHARS} characters")
    if tokens.exists():
        _entries(tokens)  # a broken file is reported, never overwritten
    try:
        entry, token = add_token(tokens, parsed, note)
    except OSError as exc:
        raise usage_error(f"cannot write {tokens}: {exc}") from None
    print(token, flush=True)
    stderr.print(
        Text(f"token {entry.id} ({entry.role}) added to {tokens}; it is shown only this once"), soft_wrap=True
    )


@tokens_app.command("list")
def list_tokens(
    tokens: TokensOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """List the tokens: id, role, created, note (never a hash)."""
    shown = [entry.model_dump(exclude={"sha256"}) for entry in _entries(tokens)]
    if as_json:
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return
    columns = ("id", "role", "created", "note")
    table = Table(header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in shown:
        table.add_row(*(Text(row[column] or "") for column in columns))
    stdout.print(table)


@tokens_app.command("revoke")
def revoke(
    token_id: Annotated[
        str, typer.Argument(metavar="ID", help="The token's id (interop tokens list).", show_default=False)
    ],
    tokens: TokensOption,
) -> None:
    """Remove a token; a running service refuses it from the next request on."""
    _entries(tokens)
    try:
        entry = revoke_token(tokens, token_id)
    except KeyError:
        raise usage_error(f"no token with id {token_id!r} in {tokens}") from None
    except OSError as exc:
        raise usage_error(f"cannot write {tokens}: {exc}") from None
    stderr.print(Text(f"token {entry.id} ({entry.role}) revoked"), soft_wrap=True)

"""docs/operators.md: its commands are right — the CLI parses them, their files exist, promtool takes its job.

Every `interop …` command of its console blocks is parsed by the CLI's own
parser (command names, option names, types and choices), every file of this
repository it names exists, and the scrape job it gives is checked by
Prometheus' promtool (also shown a broken copy, so a pass means it looked).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.commands import interop_params

REPO = Path(__file__).resolve().parents[2]
OPERATORS_DOC = REPO / "docs" / "operators.md"
CHECKOUT = "/opt/spbe-interop/"  # where the document installs this repository
PROMPTS = ("$ ", "# ")
AS_INTEROP = "sudo -u interop "
REPO_PATH = re.compile(r"(?<![\w/.-])((?:deploy|examples|docs)/[\w./-]+\w)")


def console_lines() -> list[str]:
    """Commands of the ```console blocks, prompts removed."""
    blocks = re.findall(r"```console\n(.*?)```", OPERATORS_DOC.read_text(), re.S)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith(PROMPTS)]


def interop_commands() -> list[list[str]]:
    commands = []
    for line in console_lines():
        line = line.removeprefix(AS_INTEROP)
        if line.startswith("interop "):
            words = shlex.split(line, comments=True)
            if ">" in words:  # output redirected to a file
                words = words[: words.index(">")]
            commands.append(words[1:])
    return commands


def test_the_document_shows_the_commands_of_each_step():
    names = {" ".join(words[:2]) for words in interop_commands()}
    steps = ["tokens add", "tokens list", "tokens revoke", "inventory validate", "store compact", "sweep run"]
    assert set(steps) <= names, set(steps) - names


@pytest.mark.parametrize("arguments", interop_commands(), ids=lambda words: " ".join(words)[:60])
def test_every_interop_command_in_the_document_parses(arguments):
    interop_params(arguments)


def test_the_parser_refuses_a_wrong_option():
    """The control: an option the CLI does not have is refused."""
    with pytest.raises(Exception, match="No such option: --token"):
        interop_params(["tokens", "add", "--role", "operator", "--token", "tokens.yaml"])


def test_every_file_of_the_repository_the_document_names_exists():
    text = OPERATORS_DOC.read_text()
    in_checkout = {p.removeprefix(CHECKOUT) for p in re.findall(rf"{CHECKOUT}[\w./-]+\w", text)}
    named = set(REPO_PATH.findall(text)) | in_checkout
    named = {path for path in named if not path.startswith(".venv")}
    assert named
    missing = sorted(path for path in named if not (REPO / path).exists() and not list(REPO.glob(path)))
    assert missing == []


def _scrape_config() -> dict:
    blocks = re.findall(r"```yaml\n(.*?)```", OPERATORS_DOC.read_text(), re.S)
    [block] = [b for b in blocks if "scrape_configs" in b]
    return yaml.safe_load(block)


def promtool(config: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    assert shutil.which("promtool"), "prometheus is a test dependency (Makefile DEBIAN_PACKAGES)"
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run(
        ["promtool", "check", "config", str(path)], capture_output=True, text=True, timeout=60
    )


def _with_token_file(config: dict, tmp_path: Path) -> dict:
    token = tmp_path / "spbe-interop.token"
    token.write_text("spbe_example\n")
    [job] = config["scrape_configs"]
    job["authorization"]["credentials_file"] = str(token)
    return config


def test_the_scrape_job_with_a_bearer_token_passes_promtool(tmp_path):
    config = _scrape_config()
    [job] = config["scrape_configs"]
    assert job["authorization"]["type"] == "Bearer"  # the service's tokens are bearer tokens
    result = promtool(_with_token_file(config, tmp_path), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_sees_a_mistake(tmp_path):
    config = _with_token_file(_scrape_config(), tmp_path)
    job = config["scrape_configs"][0]
    job["authorization"]["credential_file"] = job["authorization"].pop("credentials_file")
    result = promtool(config, tmp_path)
    assert result.returncode != 0 and "credential_file" in result.stdout + result.stderr

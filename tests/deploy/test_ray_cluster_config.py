"""deploy/ray/cluster.yaml: a `ray up` config Ray accepts; nodes start with token auth, no usage stats, a vantage each.

Validated three ways: against the ``ray-schema.json`` the ray wheel ships
(jsonschema), through the preparation ``ray up`` itself runs before it logs
in anywhere (``_bootstrap_config``: the local provider's checks, defaults,
schema), and by running the shipped start commands in bash as ``ray up``
runs them on a node (``export RAY_HEAD_IP=…; COMMAND``) with this node's
``hostname`` and the install's ``ray`` replaced by recorders: what reaches
``ray start`` is then parsed by ``ray start``'s own option parser. Each check
is also shown a broken copy, so a pass means it looked.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import jsonschema
import pytest
import ray.autoscaler
import yaml

from tests.deploy.commands import ray_start_params

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploy" / "ray" / "cluster.yaml"
SCHEMA = Path(ray.autoscaler.__file__).parent / "ray-schema.json"
INSTALL_PREFIX = "/opt/spbe-interop/.venv"
STATE = "/var/lib/spbe-interop"
# What every node's `ray start` runs with (Ray 2.60: RAY_AUTH_MODE=token turns token auth on).
RAY_ENVIRONMENT = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token"}
HEAD_PORT = "6379"

# Stand-ins for the node's own programs: each records its arguments and the environment it saw.
RECORDER = """#!/bin/sh
{ printf '%s\\n' "$@"; echo '--env--'; env; } > "$RECORD"
"""
HOSTNAME = """#!/bin/sh
if [ "$1" = "-I" ]; then echo "$NODE_ADDRESSES"; else echo node; fi
"""


def load() -> dict:
    return yaml.safe_load(CONFIG.read_text())


def worker_vantages(config: dict) -> dict[str, str]:
    """The ADDRESS=REGION pairs the worker start command looks itself up in."""
    [start] = [c for c in config["worker_start_ray_commands"] if " start " in c]
    [pairs] = [part.split("=", 1)[1] for part in start.split(";") if part.strip().startswith("vantages=")]
    return dict(pair.split("=", 1) for pair in shlex.split(pairs)[0].split())


def test_the_config_is_valid_by_the_schema_the_ray_wheel_ships():
    jsonschema.validate(load(), json.loads(SCHEMA.read_text()))


def test_the_schema_check_sees_a_mistake():
    broken = load()
    broken["provider"]["worker_ip"] = broken["provider"].pop("worker_ips")  # accepted: provider is open
    broken["head_start_ray_comands"] = broken.pop("head_start_ray_commands")  # top level is closed
    with pytest.raises(jsonschema.ValidationError, match="head_start_ray_comands"):
        jsonschema.validate(broken, json.loads(SCHEMA.read_text()))


def test_ray_up_prepares_it_one_worker_per_address():
    """``ray up``'s own preparation: the local provider's checks, its defaults, the schema again."""
    from ray.autoscaler._private.commands import _bootstrap_config

    config = load()
    prepared = _bootstrap_config(config, no_config_cache=True)
    assert prepared["provider"]["type"] == "local"
    [node_type] = prepared["available_node_types"].values()
    count = len(config["provider"]["worker_ips"])
    assert node_type["min_workers"] == node_type["max_workers"] == prepared["max_workers"] == count > 0


def test_ray_up_refuses_a_local_config_without_worker_ips():
    from ray.autoscaler._private.commands import _bootstrap_config

    broken = load()
    del broken["provider"]["worker_ips"]
    with pytest.raises(BaseException, match="worker_ips"):
        _bootstrap_config(broken, no_config_cache=True)


def test_each_worker_address_has_one_vantage_and_the_token_reaches_every_node():
    config = load()
    vantages = worker_vantages(config)
    assert sorted(vantages) == sorted(config["provider"]["worker_ips"])
    from orchestrator.inventory.schema import NAME_RULES

    pattern, _ = NAME_RULES["vantage"]
    assert all(pattern.fullmatch(region) for region in vantages.values()), vantages
    # The token file of the machine running `ray up`, at Ray's default path on every node.
    assert config["file_mounts"] == {"~/.ray/auth_token": "~/.ray/auth_token"}


def _run_on_node(tmp_path: Path, command: str, addresses: str) -> tuple[int, list[str], dict[str, str], str]:
    """Run one start command as `ray up` does on a node; what `ray start` would have received."""
    prefix = tmp_path / "venv"
    (prefix / "bin").mkdir(parents=True, exist_ok=True)
    shims = tmp_path / "shims"
    shims.mkdir(exist_ok=True)
    for path, text in ((prefix / "bin" / "ray", RECORDER), (shims / "hostname", HOSTNAME)):
        path.write_text(text)
        path.chmod(0o755)
    record = tmp_path / "record"
    record.unlink(missing_ok=True)
    environment = {
        "PATH": f"{shims}:/usr/bin:/bin",
        "RECORD": str(record),
        "NODE_ADDRESSES": addresses,
        "HOME": str(tmp_path),
    }
    script = f"export RAY_HEAD_IP=10.0.0.5; {command.replace(INSTALL_PREFIX, str(prefix))}"
    result = subprocess.run(
        ["bash", "-c", script], env=environment, capture_output=True, text=True, timeout=30
    )
    if not record.exists():
        return result.returncode, [], {}, result.stderr
    arguments, _, env_text = record.read_text().partition("--env--\n")
    env = dict(line.split("=", 1) for line in env_text.splitlines() if "=" in line)
    return result.returncode, arguments.splitlines(), env, result.stderr


def _parsed_by_ray_start(arguments: list[str]) -> dict:
    assert arguments[0] == "start"
    return ray_start_params(arguments[1:])


@pytest.mark.parametrize("address", sorted(worker_vantages(load())))
def test_a_worker_starts_with_its_vantage_token_auth_and_no_usage_stats(tmp_path, address):
    config = load()
    [command] = [c for c in config["worker_start_ray_commands"] if " start " in c]
    code, arguments, env, stderr = _run_on_node(tmp_path, command, f"127.0.0.1 {address} fe80::1")
    assert code == 0, stderr
    params = _parsed_by_ray_start(arguments)
    assert json.loads(params["resources"]) == {f"vantage:{worker_vantages(config)[address]}": 1}
    assert params["address"] == f"10.0.0.5:{HEAD_PORT}" and not params["head"]
    assert params["disable_usage_stats"] and params["temp_dir"] == f"{STATE}/ray"
    assert {k: env.get(k) for k in RAY_ENVIRONMENT} == RAY_ENVIRONMENT


def test_a_worker_whose_address_is_not_listed_refuses_to_start(tmp_path):
    [command] = [c for c in load()["worker_start_ray_commands"] if " start " in c]
    code, arguments, _, stderr = _run_on_node(tmp_path, command, "192.0.2.7")
    assert code != 0 and arguments == []
    assert "no vantage for node (192.0.2.7)" in stderr


def test_the_head_starts_with_token_auth_no_usage_stats_and_the_autoscaler(tmp_path):
    [command] = [c for c in load()["head_start_ray_commands"] if " start " in c]
    code, arguments, env, stderr = _run_on_node(tmp_path, command, "10.0.0.5")
    assert code == 0, stderr
    params = _parsed_by_ray_start(arguments)
    assert params["head"] and str(params["port"]) == HEAD_PORT and params["disable_usage_stats"]
    assert (
        params["autoscaling_config"] == "~/ray_bootstrap_config.yaml" and params["temp_dir"] == f"{STATE}/ray"
    )
    assert params["include_dashboard"] is False
    assert {k: env.get(k) for k in RAY_ENVIRONMENT} == RAY_ENVIRONMENT


def test_the_recorders_see_a_start_without_token_auth(tmp_path):
    """The control: a head command without RAY_AUTH_MODE is seen as such."""
    [command] = [c for c in load()["head_start_ray_commands"] if " start " in c]
    _, _, env, _ = _run_on_node(tmp_path, command.replace(" RAY_AUTH_MODE=token", ""), "10.0.0.5")
    assert env["RAY_USAGE_STATS_ENABLED"] == "0" and "RAY_AUTH_MODE" not in env

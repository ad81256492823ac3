"""Profiles: built-ins load, user profiles extend and override, mistakes name file, line and field."""

from __future__ import annotations

import textwrap

import pytest

from orchestrator.profiles import builtin_names, load_profile
from orchestrator.yamlsrc import ConfigError
from probes import registry
from probes.model import Severity


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def a_check_with_params():
    for meta in registry.checks().values():
        numeric = {k: v for k, v in meta.params.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if numeric:
            return meta, next(iter(numeric))
    raise AssertionError("no registered check has a numeric parameter")


def test_builtins_load_and_select_registered_checks():
    assert {"spbe-baseline", "spbe-strict"} <= set(builtin_names())
    baseline = load_profile("spbe-baseline")
    strict = load_profile("spbe-strict")
    assert set(baseline.selection) <= set(registry.checks())
    assert strict.chain == ("spbe-strict", "spbe-baseline")
    assert baseline.digest != strict.digest


def test_strict_is_at_least_as_severe_as_baseline():
    baseline = load_profile("spbe-baseline")
    strict = load_profile("spbe-strict")
    for check_id, settings in baseline.selection.items():
        assert check_id in strict.selection, check_id
        assert strict.selection[check_id].severity.rank >= settings.severity.rank, check_id


def test_user_profile_extends_and_overrides(tmp_path):
    meta, param = a_check_with_params()
    other = next(c for c in registry.checks() if c != meta.id)
    path = write(
        tmp_path,
        "agency.yaml",
        f"""\
        name: dinas-kominfo
        extends: spbe-baseline
        exclude: ["{other}"]
        checks:
          {meta.id}:
            severity: critical
            params: {{{param}: 7}}
        """,
    )
    profile = load_profile(str(path))
    assert profile.chain == ("dinas-kominfo", "spbe-baseline")
    assert other not in profile.selection
    assert profile.selection[meta.id].severity is Severity.CRITICAL
    assert profile.selection[meta.id].params[param] == 7
    # Parameters not overridden keep their defaults.
    for name, value in meta.params.items():
        if name != param:
            assert profile.selection[meta.id].params[name] == value


def test_disabled_in_parent_stays_disabled_when_child_only_changes_params(tmp_path):
    meta, param = a_check_with_params()
    write(tmp_path, "parent.yaml", f"name: parent\nchecks:\n  {meta.id}: {{enabled: false}}\n")
    child = write(tmp_path, "child.yaml", f"name: child\nextends: parent.yaml\nchecks:\n  {meta.id}: {{params: {{{param}: 1}}}}\n")
    assert meta.id not in load_profile(str(child)).selection


@pytest.mark.parametrize(
    "body, line, field, message",
    [
        ("name: x\nchecks:\n  NOPE-XXX-001: {}\n", 3, "checks.NOPE-XXX-001", "unknown check id"),
        ("name: x\ncolour: blue\n", 2, "colour", "unknown field"),
        ("name: x\ninclude: ['ZZZ-*']\n", 2, "include[0]", "matches no check"),
        ("name: Bad Name\n", 1, "name", "String should match pattern"),
        ("name: x\nprobe:\n  deadline_s: -1\n", 3, "probe.deadline_s", "greater than 0"),
        ("name: x\nchecks: [1, 2]\n", 2, "checks", "valid dictionary"),
        ("name: x\nchecks: {\n", 3, "", "invalid YAML"),
    ],
)
def test_mistakes_name_file_line_and_field(tmp_path, body, line, field, message):
    path = write(tmp_path, "bad.yaml", body)
    with pytest.raises(ConfigError) as caught:
        load_profile(str(path))
    problem = caught.value.problems[0]
    assert problem.file == str(path)
    assert problem.line == line
    assert problem.field == field
    assert message in problem.message
    assert f"{path}:{line}" in str(caught.value)


def test_bad_severity_and_parameter_are_located(tmp_path):
    meta, param = a_check_with_params()
    path = write(
        tmp_path,
        "bad.yaml",
        f"""\
        name: x
        checks:
          {meta.id}:
            severity: catastrophic
            params:
              {param}: "many"
              no_such_param: 1
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_profile(str(path))
    fields = {(p.line, p.field) for p in caught.value.problems}
    assert (4, f"checks.{meta.id}.severity") in fields


def test_parameter_problems(tmp_path):
    meta, param = a_check_with_params()
    path = write(tmp_path, "bad.yaml", f"name: x\nchecks:\n  {meta.id}:\n    params:\n      {param}: many\n      no_such_param: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_profile(str(path))
    problems = {p.field: (p.line, p.message) for p in caught.value.problems}
    assert problems[f"checks.{meta.id}.params.{param}"][0] == 5
    assert "expected" in problems[f"checks.{meta.id}.params.{param}"][1]
    assert problems[f"checks.{meta.id}.params.no_such_param"][0] == 6
    assert "unknown parameter" in problems[f"checks.{meta.id}.params.no_such_param"][1]


def test_extends_cycle_and_missing_file(tmp_path):
    write(tmp_path, "a.yaml", "name: a\nextends: b.yaml\n")
    write(tmp_path, "b.yaml", "name: b\nextends: a.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_profile(str(tmp_path / "a.yaml"))
    with pytest.raises(ConfigError, match="no such profile file"):
        load_profile(str(tmp_path / "missing.yaml"))


def test_table_parameters_are_amended_not_replaced():
    baseline = load_profile("spbe-baseline").selection["SSH-MAC-001"].params["verdicts"]
    strict = load_profile("spbe-strict").selection["SSH-MAC-001"].params["verdicts"]
    assert baseline["hmac-sha1"] == "warn" and strict["hmac-sha1"] == "fail"
    # Entries the strict profile does not mention are inherited unchanged.
    assert strict["hmac-md5*"] == baseline["hmac-md5*"] == "fail"

"""Profiles: built-ins load, user profiles extend and override, mistakes name file, line and field."""

from __future__ import annotations

import textwrap

import pytest

from orchestrator.inventory.yaml_nodes import ConfigError
from orchestrator.profiles import builtin_names, load_profile
from probes import registry
from probes.model import Severity


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def a_check_with_params():
    for meta in registry.checks().values():
        numeric = {
            k: v for k, v in meta.params.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
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
    child = write(
        tmp_path,
        "child.yaml",
        f"name: child\nextends: parent.yaml\nchecks:\n  {meta.id}: {{params: {{{param}: 1}}}}\n",
    )
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
        ("name: x\nchecks: {\n", 3, "(yaml)", "not valid YAML"),
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
    path = write(
        tmp_path,
        "bad.yaml",
        f"name: x\nchecks:\n  {meta.id}:\n    params:\n      {param}: many\n      no_such_param: 1\n",
    )
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


@pytest.mark.parametrize(
    "extends",
    ["spbe-baselin", "missing.yaml", "sub/dir/missing.yaml", '"a\\0b"', "x" * 5000, "''", "."],
)
def test_an_extends_that_names_nothing_is_located_in_the_extending_file(tmp_path, extends):
    path = write(tmp_path, "mine.yaml", f"name: mine\n# why\nextends: {extends}\n")
    with pytest.raises(ConfigError) as caught:
        load_profile(str(path))
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), 3, "extends")
    assert "no such profile file" in problem.message and "spbe-baseline" in problem.message


def test_a_cycle_is_located_where_it_closes(tmp_path):
    write(tmp_path, "a.yaml", "name: a\nextends: b.yaml\n")
    write(tmp_path, "b.yaml", "name: b\n\nextends: a.yaml\n")
    with pytest.raises(ConfigError) as caught:
        load_profile(str(tmp_path / "a.yaml"))
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(tmp_path / "b.yaml"), 3, "extends")


def test_date_like_text_stays_text(tmp_path):
    """YAML 1.1 would make 2026-02-30 a (crashing) date; every text field reads it as text."""
    path = write(tmp_path, "mine.yaml", "name: mine\ntitle: 2026-02-30\ndescription: 2026-01-01 10:00\n")
    profile = load_profile(str(path))
    assert (profile.title, profile.description) == ("2026-02-30", "2026-01-01 10:00")


@pytest.mark.parametrize(
    "check_id, params, phrase",
    [
        ("TLS-CERT-004", "{warn_days: .nan}", "expected a number of at least 0"),
        ("TLS-CERT-004", "{warn_days: -.inf}", "expected a number of at least 0"),
        ("TLS-CERT-004", "{warn_days: -3}", "expected a number of at least 0"),
        ("TLS-CERT-004", "{warn_days: true}", "expected int"),
        ("GRPC-INTR-001", "{required: 1}", "expected true or false"),
        ("SSH-KEX-004", "{verdict_if_absent: maybe}", "expected one of pass, warn, fail"),
        ("SSH-KEX-004", "{hybrid_methods: [1, 2]}", "expected a list of texts"),
        ("SSH-KEX-004", "{hybrid_methods: mlkem768x25519-sha256}", "expected a list"),
        ("SSH-MAC-001", "{verdicts: {hmac-sha1: forbidden}}", "hmac-sha1: expected one of pass, warn, fail"),
        ("SSH-MAC-001", "{verdicts: [hmac-sha1]}", "expected a mapping"),
        ("SSH-MAC-001", "{allowed: {a: 1}}", "expected a text or a list of texts"),
    ],
)
def test_parameters_keep_the_shape_of_their_defaults(tmp_path, check_id, params, phrase):
    """A parameter the check could not use is refused at load (exit 2), not an `error` at probe time."""
    path = write(tmp_path, "mine.yaml", f"name: mine\nchecks:\n  {check_id}:\n    params: {params}\n")
    with pytest.raises(ConfigError) as caught:
        load_profile(str(path))
    [problem] = caught.value.problems
    assert problem.line == 4 and problem.field.startswith(f"checks.{check_id}.params.")
    assert phrase in problem.message


@pytest.mark.parametrize(
    "body, line, field, phrase",
    [
        ("name: mine\nname: again\n", 2, "name", "the key 'name' appears twice"),
        ("name: mine\ntitle: !!binary AAAA\n", 2, "title", "has no place here"),
        ("name: mine\ntitle: !!int x\n", 2, "title", "'x' is not a valid int"),
        ("name: mine\nexclude: &e [*e]\n", 2, "exclude", "recursive alias"),
        ("name: mine\ndescription: \x07\n", 2, "(yaml)", "control characters are not allowed"),
        ("name: mine\nchecks: " + "[" * 150 + "]" * 150 + "\n", 2, "checks[0][0][0]", "nested more than 100"),
    ],
)
def test_yaml_that_is_not_plain_data_is_located(tmp_path, body, line, field, phrase):
    path = tmp_path / "mine.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as caught:
        load_profile(str(path))
    [problem] = caught.value.problems
    assert problem.line == line and problem.field.startswith(field) and len(problem.field) <= 160
    assert phrase in problem.message

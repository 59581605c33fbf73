"""The pytest plugin: `pytest specs/` collects *.plug files, one item per (config,
property); failures show the rendered trace; `expect violated` passes when the violation
is found; each config is checked once; --junitxml carries the state counts."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from checker import run as run_module

from .report_data import ROOT, TANK, check

pytest_plugins = ["pytester"]
TANK_TEXT = (ROOT / TANK).read_text(encoding="utf-8")


@pytest.fixture(autouse=True, scope="module")
def loaded() -> None:
    """pytester runs in this process and unloads the modules a run imported; numpy cannot be
    loaded twice, so every checker module (and what it imports) is loaded here first."""
    import importlib
    import pkgutil

    import checker

    for mod in pkgutil.walk_packages(checker.__path__, "checker."):
        try:
            importlib.import_module(mod.name)
        except ImportError:
            pass
    check([str(ROOT / TANK)])


@pytest.fixture
def args(request: pytest.FixtureRequest) -> list[str]:
    """Load the plugin explicitly unless the installed entry point already did."""
    return [] if request.config.pluginmanager.has_plugin("plugcheck") else ["-p", "checker.pytest_plugin"]


def test_items_and_verdicts(pytester: pytest.Pytester, args: list[str]) -> None:
    pytester.makefile(".plug", tank=TANK_TEXT)
    res = pytester.runpytest(*args, "-v", "tank.plug")
    res.assert_outcomes(passed=9, failed=1)
    res.stdout.fnmatch_lines(
        [
            "tank.plug::default::level_matches PASSED*",
            "tank.plug::default::never_both FAILED*",
            "tank.plug::default::one_full PASSED*",
            "tank.plug::default::deadlock PASSED*",
            "tank.plug::default::range PASSED*",
            "tank.plug::one::never_both PASSED*",
        ]
    )
    # the failure is the rendered counterexample, not a Python traceback
    res.stdout.fnmatch_lines(["*never_both (invariant) violated*", "*Counterexample: never_both (invariant), 3 steps*"])
    assert "fill(s=1)" in res.stdout.str()
    assert "pytest_plugin.py" not in res.stdout.str()


def test_expected_violations_pass(pytester: pytest.Pytester, args: list[str]) -> None:
    pytester.makefile(".plug", tank=TANK_TEXT)
    pytester.makefile(".plug", bug='extends "tank.plug"\nexpect violated never_both\nconfig big benchmark { N = 3 }\n')
    res = pytester.runpytest(*args, "-rfs", "bug.plug")
    # never_both holds in config `one`, where the spec expects a violation
    res.assert_outcomes(passed=9, failed=1, skipped=5)
    res.stdout.fnmatch_lines(
        [
            "*never_both (invariant) holds, expected violated*",
            "FAILED bug.plug::one::never_both*",
            "*a benchmark config*",
        ]
    )


def test_each_config_is_checked_once(
    pytester: pytest.Pytester, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    real = run_module.check_spec

    def counting(spec, opts, *a):  # type: ignore[no-untyped-def]
        calls.append(list(opts.configs))
        return real(spec, opts, *a)

    monkeypatch.setattr(run_module, "check_spec", counting)
    pytester.makefile(".plug", tank=TANK_TEXT)
    pytester.runpytest(*args, "tank.plug").assert_outcomes(passed=9, failed=1)
    assert calls == [["default"], ["one"]]


def test_junitxml_carries_states_and_the_trace(pytester: pytest.Pytester, args: list[str]) -> None:
    pytester.makefile(".plug", tank=TANK_TEXT)
    pytester.runpytest(*args, "tank.plug", "--junitxml=out.xml")
    root = ET.parse(pytester.path / "out.xml").getroot()
    # pytest's junitxml splits a node id at `::`: classname `tank.plug.default`, name `never_both`
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert len(cases) == 10
    props = {p.get("name"): p.get("value") for p in cases[("tank.plug.default", "level_matches")].iter("property")}
    assert props["states"] == "18" and props["engine"] == "explicit" and props["status"] == "holds"
    failure = cases[("tank.plug.default", "never_both")].find("failure")
    assert failure is not None and "fill(s=1)" in (failure.get("message") or "") + (failure.text or "")


def test_a_bad_spec_is_a_collection_error_with_its_position(pytester: pytest.Pytester, args: list[str]) -> None:
    pytester.makefile(".plug", bad="protocol bad\nvar x : 0 .. 3 = 9\n")
    res = pytester.runpytest(*args, "bad.plug")
    res.assert_outcomes(errors=1)
    res.stdout.fnmatch_lines(["*bad.plug:2:*error*"])


def test_exclude_patterns_apply_to_folders_not_named_files(pytester: pytest.Pytester, args: list[str]) -> None:
    pytester.makeini("[pytest]\nplugcheck_exclude = inputs/*\n")
    (pytester.path / "inputs").mkdir()
    (pytester.path / "inputs" / "tank.plug").write_text(TANK_TEXT, encoding="utf-8")
    pytester.runpytest(*args, ".").assert_outcomes()
    pytester.runpytest(*args, "inputs/tank.plug").assert_outcomes(passed=9, failed=1)


def test_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, checker.pytest_plugin\n"
        "heavy = ['lark', 'z3', 'numpy', 'rich', 'networkx', 'model', 'checker.run', 'checker.search']\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"

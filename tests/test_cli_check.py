"""`plugcheck check`: exit codes, JSON, configs and overrides, terminal output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from checker.cli import main

ROOT = Path(__file__).resolve().parent.parent

GOOD = """
const N = 3
var x : 0 .. N = 0
action inc when x < N { x := x + 1 }
action reset when x == N { x := 0 }
invariant small: x <= N
config two { N = 2 }
config big benchmark { N = 50 }
"""

BAD = """
var m : bitmap(3) = {}
action set(i : 0 .. 2) when not m[i] { m[i] := true }
action clear { m := {} }
invariant sparse: popcount(m) < 2
"""

HUGE = """
var x : 0 .. 100000
var y : 0 .. 100000
action ix when x < 100000 { x := x + 1 }
action iy when y < 100000 { y := y + 1 }
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return str(p)


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(["check", "--json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_all_hold_exit_0_and_every_non_benchmark_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json([write(tmp_path, "good.plug", GOOD)], capsys)
    assert code == 0 and doc["exit_code"] == 0
    assert [r["config"]["name"] for r in doc["results"]] == ["default", "two"]
    assert [r["states"] for r in doc["results"]] == [4, 3]
    assert doc["results"][1]["config"]["constants"] == {"N": 2}
    r = doc["results"][0]
    assert set(r) >= {"spec", "config", "engine", "states", "transitions", "depth", "seconds", "properties"}
    assert r["engine"] == "explicit"
    assert {p["name"]: (p["kind"], p["status"]) for p in r["properties"]}["small"] == ("invariant", "holds")


def test_benchmark_config_only_when_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json([write(tmp_path, "good.plug", GOOD), "--config", "big"], capsys)
    assert code == 0
    assert [(r["config"]["name"], r["states"]) for r in doc["results"]] == [("big", 51)]


def test_defines_check_exactly_one_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "good.plug", GOOD)
    code, doc = run_json([f, "-D", "N=7"], capsys)
    assert code == 0
    assert [(r["config"]["name"], r["config"]["constants"], r["states"]) for r in doc["results"]] == [
        ("default", {"N": 7}, 8)
    ]
    code, doc = run_json([f, "--config", "two", "-D", "N=9"], capsys)
    assert [(r["config"]["name"], r["states"]) for r in doc["results"]] == [("two", 10)]


def test_violation_exit_1_with_the_trace_in_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json([write(tmp_path, "bad.plug", BAD)], capsys)
    assert code == 1
    p = next(p for p in doc["results"][0]["properties"] if p["name"] == "sparse")
    assert p["status"] == "violated"
    assert p["trace"]["loop"] is None
    assert p["trace"]["steps"][0] == {"action": None, "args": {}, "state": {"m": []}}
    assert p["trace"]["steps"][1:] == [
        {"action": "set", "args": {"i": 0}, "state": {"m": [0]}},
        {"action": "set", "args": {"i": 1}, "state": {"m": [0, 1]}},
    ]
    assert p["location"]["line"] == 5


def test_budget_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json([write(tmp_path, "huge.plug", HUGE), "--max-states", "500"], capsys)
    assert code == 3
    r = doc["results"][0]
    assert r["verdict"] == "inconclusive" and r["stopped"] == "state budget 500 reached"
    assert r["stop"] == {"kind": "states", "limit": 500, "used": None, "message": "state budget 500 reached"}
    assert r["states"] >= 500


def test_spec_error_exit_2_and_other_files_still_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "specs/a_good.plug", GOOD)
    write(tmp_path, "specs/b_broken.plug", "var x : 0 .. 3\naction a { x := y }\n")
    code = main(["check", str(tmp_path / "specs")])
    out, err = capsys.readouterr()
    assert code == 2
    assert "b_broken.plug:2:17: error: `y` is not defined" in err
    assert "PASS" in out and "a_good.plug" in out


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "good.plug", GOOD)
    with pytest.raises(SystemExit) as e:
        main(["check", f, "--max-states", "zero"])
    assert e.value.code == 2
    assert main(["check", f, "--config", "nosuch"]) == 2
    assert "no config nosuch" in capsys.readouterr().err
    assert main(["check", f, "-D", "Q=1"]) == 2
    assert "`Q` is not a constant" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "missing.plug")]) == 2


def test_trace_table_shows_changes_and_bitmap_cells(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", write(tmp_path, "bad.plug", BAD)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL" in out and "Counterexample: sparse (invariant), 2 steps" in out
    assert "set(i=0)" in out and "set(i=1)" in out
    # bitmaps as cells; the bit that changed is marked, so the change reads without colour
    assert "+··" in out and "█+·" in out
    assert "bad.plug:5:1" in out and "invariant sparse: popcount(m) < 2" in out


def test_default_folder_is_specs(tmp_path: Path) -> None:
    write(tmp_path, "specs/one.plug", GOOD)
    env = dict(os.environ, NO_COLOR="1")
    p = subprocess.run(
        [sys.executable, "-m", "checker.cli", "check", "-q"], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert p.returncode == 0, p.stderr
    # -q on a green run: the summary alone, counting both configs of specs/one.plug
    assert p.stdout.splitlines() == [
        "2 configurations of 1 spec checked: 2 pass, 0 fail, 0 inconclusive — all properties hold (exit 0)"
    ]
    assert "Traceback" not in p.stderr


def test_plain_progress_lines_when_not_a_terminal(tmp_path: Path) -> None:
    # progress comes every second: a search cut by a 2 s budget reports at least once, however fast
    slow = """
    var x : 0 .. 100000
    var y : 0 .. 100000
    action ix when x < 100000 { x := x + 1 }
    action iy when y < 100000 { y := y + 1 }
    allow deadlock
    """
    f = write(tmp_path, "slow.plug", slow)
    p = subprocess.run(
        [sys.executable, "-m", "checker.cli", "check", f, "--kernel", "single", "--timeout", "2"],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 3, p.stderr
    assert "\r" not in p.stderr  # no terminal control in CI logs
    assert "states/s" in p.stderr


def test_quiet_says_why_a_stopped_search_left_properties_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write(tmp_path, "good.plug", GOOD)
    assert main(["check", f, "-q", "--config", "default", "--max-states", "3"]) == 3
    line = capsys.readouterr().out.splitlines()[0]
    assert "[default]: stopped: state budget 3 reached (3 states, depth " in line
    assert "; open: " in line and "(inconclusive)" not in line

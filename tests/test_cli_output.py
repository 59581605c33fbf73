"""What a person sees from `plugcheck check`: the default, quiet and verbose output, the
explanation of a failed invariant, tables that wrap, the --report folder, the --json
schema, the SARIF findings, replay with the trace's constants and the small things
(plurals, booleans, help, "did you mean", an ASCII terminal)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main
from checker.report import render_all

from .report_data import ROOT, TANK, check
from .test_cli_check import GOOD, write

SCHEMA = ROOT / "reports" / "plugcheck-json.schema.json"

# a seeded bug, as in specs/bugs: the check passes because the violation is found
EXPECTED = """
var x : 0 .. 3 = 0
action inc when x < 3 { x := x + 1 }
action reset when x == 3 { x := 0 }
invariant low: x < 2
expect violated low
"""

# the example: a driver bitmap `sb` that must match the device's `dev_bm`,
# a let `plugged`, and a quantifier over blocks
BLOCKS = """
const B = 2
const S = 2
type Block = 0 .. B-1
var sb : [Block] bitmap(S) = {}
var dev_bm : [Block] bitmap(S) = {}
var on : bool = false
let plugged = sum(b : Block. popcount(dev_bm[b]))
action plug(b : Block, s : 0 .. S-1, both : bool) when not dev_bm[b][s] {
  dev_bm[b][s] := true
  if b == 0 or both { sb[b][s] := true }
}
action toggle { on := not on }
invariant state_matches_bitmap: forall b : Block. on or plugged < 1 or sb[b] == dev_bm[b]
allow deadlock
"""

WIDE = """
var m : bitmap(64) = {}
action set(i : 0 .. 63) when not m[i] and popcount(m) < 40 { m := m | lowbits(i + 1) }
invariant sparse: popcount(m) < 40
allow deadlock
"""

LIVE = """
var x : 0 .. 2 = 0
action up when x < 2 { x := x + 1 }
property reaches3: eventually x == 3
"""


def cli(args: list[str], cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "checker.cli", *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT), **env},
        timeout=120,
    )


# ---- (1) --report on a fresh clone, and what a word after --report means
def test_report_into_the_shipped_reports_folder_keeps_its_readme_and_schema(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    readme = (ROOT / "reports" / "README.md").read_bytes()
    (reports / "README.md").write_bytes(readme)
    (reports / SCHEMA.name).write_bytes(SCHEMA.read_bytes())
    write(tmp_path, "specs/good.plug", GOOD)
    p = cli(["check", "--report"], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    names = sorted(x.name for x in reports.iterdir())
    assert {"README.md", SCHEMA.name, "summary.json", "junit.xml", "results.sarif", "report.html"} <= set(names)
    assert (reports / "README.md").read_bytes() == readme  # unchanged: git sees no change
    # a second run replaces the report and still keeps them
    assert cli(["check", "--report"], cwd=tmp_path).returncode == 0
    assert (reports / "README.md").read_bytes() == readme and (reports / SCHEMA.name).exists()


def test_a_word_after_report_is_a_spec_path_not_the_report_folder(tmp_path: Path) -> None:
    write(tmp_path, "my/bad.plug", EXPECTED.replace("expect violated low\n", ""))
    p = cli(["check", "--report", "my/"], cwd=tmp_path)
    assert p.returncode == 1, p.stderr  # my/ was checked: its invariant fails
    assert "my/bad.plug" in p.stdout
    assert (tmp_path / "reports" / "summary.json").exists()  # the report went to reports/
    assert sorted(x.name for x in (tmp_path / "my").iterdir()) == ["bad.plug"]
    p = cli(["check", "my/", "--report=out"], cwd=tmp_path)
    assert p.returncode == 1 and (tmp_path / "out" / "summary.json").exists()


# ---- (2) default output
def test_green_run_one_line_per_config_expected_violations_one_line_and_a_summary(tmp_path: Path) -> None:
    write(tmp_path, "s/a_good.plug", GOOD)
    write(tmp_path, "s/b_bug.plug", EXPECTED)
    p = cli(["check", "s"], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("PASS s/a_good.plug [default] (N=3) — explicit, 4 states, depth 3, ")
    assert lines[1].startswith("PASS s/a_good.plug [two] (N=2) — explicit, 3 states, depth 2, ")
    assert lines[2].startswith("PASS s/b_bug.plug [default] — explicit, 4 states, depth 3, ")
    assert lines[3] == "  expected violation found: low (invariant), trace of 2 steps"
    assert lines[4] == (
        "3 configurations of 2 specs checked: 3 pass, 0 fail, 0 inconclusive; 1 expected violation found"
        " (traces: -v or --report) — all properties hold (exit 0)"
    )
    assert len(lines) == 5 and "Counterexample" not in p.stdout
    v = cli(["check", "s", "-v"], cwd=tmp_path)
    assert "Counterexample: low (invariant), 2 steps" in v.stdout and "action coverage" in v.stdout


def test_failing_run_shows_the_failure_in_full_and_names_it_at_the_end(tmp_path: Path) -> None:
    write(tmp_path, "s/a_good.plug", GOOD)
    write(tmp_path, "s/c_blocks.plug", BLOCKS)
    p = cli(["check", "s"], cwd=tmp_path)
    assert p.returncode == 1
    out = p.stdout
    assert "FAIL s/c_blocks.plug [default] (B=2 S=2) — explicit" in out
    assert "  violated: state_matches_bitmap (invariant), trace of 1 step" in out
    assert "Counterexample: state_matches_bitmap (invariant), 1 step" in out
    assert out.splitlines()[-2] == "not as expected: s/c_blocks.plug [default]: state_matches_bitmap"
    assert out.splitlines()[-1].startswith("3 configurations of 2 specs checked: 2 pass, 1 fail, 0 inconclusive")
    q = cli(["check", "s", "-q"], cwd=tmp_path)
    assert q.stdout.splitlines() == [
        "FAIL s/c_blocks.plug [default]: state_matches_bitmap (violated)",
        "3 configurations of 2 specs checked: 2 pass, 1 fail, 0 inconclusive — a property is violated (exit 1)",
    ]


# ---- (5) why an invariant failed: the same text in the terminal, JUnit and SARIF
WHY = [
    "why: `state_matches_bitmap` fails for b = 1: `sb[b] == dev_bm[b]` is false",
    "  reads: on = false; sb[1] = ··; dev_bm[1] = █·",
]


def test_the_false_conjunct_its_quantifier_instance_reads_and_lets(tmp_path: Path) -> None:
    f = write(tmp_path, "blocks.plug", BLOCKS)
    out = cli(["check", f, "--width", "300"]).stdout
    lines = out.splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("why:"))
    assert lines[k] == WHY[0]
    assert lines[k + 1 : k + 6] == [
        f"  at {f}:14:72",
        "  given: `on` is false",
        "  given: `plugged < 1` is false",
        WHY[1],
        "  lets: plugged = 1",
    ]
    data = check([f])
    files = render_all(data)
    failure = next(ET.fromstring(files["junit.xml"]).iter("failure"))
    assert WHY[0] in (failure.text or "") and WHY[1] in (failure.text or "")
    (res,) = json.loads(files["results.sarif"])["runs"][0]["results"]
    assert WHY[0] in res["message"]["text"] and "lets: plugged = 1" in res["message"]["text"]
    assert WHY[1] in files["report.md"] and "lets: plugged = 1" in files["report.html"]


# ---- (8) one JSON shape, validated against the schema in reports/; structured spec errors
def _validate(doc: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.validate(doc, json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_json_output_follows_the_schema_for_every_kind_of_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [write(tmp_path, n, t) for n, t in (("a.plug", BLOCKS), ("b.plug", LIVE), ("c.plug", GOOD))]
    assert main(["check", "--json", *files]) == 1
    doc = json.loads(capsys.readouterr().out)
    _validate(doc)
    props = {p["name"]: p for r in doc["results"] for p in r["properties"]}
    assert props["state_matches_bitmap"]["trace"]["loop"] is None
    assert len(props["state_matches_bitmap"]["trace"]["steps"]) == 2
    live = props["reaches3"]["trace"]
    assert live["loop"] == 2 and [s["state"]["x"] for s in live["steps"]] == [0, 1, 2]
    assert main(["check", "--json", files[0], "--engine", "bmc", "--depth", "3"]) == 1
    _validate(json.loads(capsys.readouterr().out))
    broken = write(tmp_path, "broken.plug", "var x : 0 .. 3\naction a { x := y }\n")
    assert main(["check", "--json", broken, files[2]]) == 2
    doc = json.loads(capsys.readouterr().out)
    _validate(doc)
    (err,) = doc["errors"]
    assert (err["file"], err["line"], err["column"]) == (broken, 2, 17)
    assert err["message"] == "`y` is not defined" and err["text"].startswith(f"{broken}:2:17: error:")
    with pytest.raises(Exception, match="is not one of"):
        _validate({**doc, "exit_code": "2"})


def test_summary_json_follows_the_schema(at_root: None) -> None:
    _validate(json.loads(render_all(check([TANK]))["summary.json"]))


# ---- (3) SARIF: only findings, with fingerprints that survive an edit above the property
def test_sarif_fingerprints_survive_a_moved_property(tmp_path: Path) -> None:
    f = write(tmp_path, "s.plug", EXPECTED.replace("expect violated low\n", "") + "config two { }\n")
    first = json.loads(render_all(check([f]))["results.sarif"])["runs"][0]["results"]
    Path(f).write_text("# a comment moves every line\n" + Path(f).read_text(encoding="utf-8"), encoding="utf-8")
    second = json.loads(render_all(check([f]))["results.sarif"])["runs"][0]["results"]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in first] == [5, 5]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in second] == [6, 6]
    fps = [r["partialFingerprints"]["plugcheckFinding/v1"] for r in first]
    assert fps == [r["partialFingerprints"]["plugcheckFinding/v1"] for r in second]
    assert len(set(fps)) == 2  # one per config
    green = write(tmp_path, "bug.plug", EXPECTED)
    assert json.loads(render_all(check([green]))["results.sarif"])["runs"][0]["results"] == []


# ---- (4) replay with the constants the trace was found with
def test_replay_reads_constants_from_the_trace_meta(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = write(tmp_path, "good.plug", GOOD.replace("invariant small: x <= N", "invariant small: x < 4"))
    rep = tmp_path / "r"
    assert main(["check", f, "-D", "N=5", "-q", f"--report={rep}"]) == 1
    (trace,) = sorted((rep / "traces").iterdir())
    capsys.readouterr()
    assert main(["replay", str(trace), f]) == 0
    assert "[default]" in capsys.readouterr().out
    # a flag overrides the recorded constant: with N=3, x cannot pass 3
    assert main(["replay", str(trace), f, "-D", "N=3"]) == 1
    assert "step 4 (inc) is illegal: its guard is false" in capsys.readouterr().out
    # without #meta constants (a recorded driver trace) the config's own hold
    doc = json.loads(trace.read_text(encoding="utf-8"))
    del doc["#meta"]["constants"]
    trace.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["replay", str(trace), f]) == 1


# ---- (6)/(7) tables wrap, wide bitmaps in groups, a legend, the initial state collapsed
def test_narrow_tables_wrap_and_wide_bitmaps_are_grouped(tmp_path: Path) -> None:
    f = write(tmp_path, "wide.plug", WIDE)
    out = cli(["check", f, "--width", "60"]).stdout
    table = [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and all(len(line) <= 60 for line in table)
    assert "set(i=39)" in out  # the action name is whole
    cells = "".join(re.findall(r"[█·+\-]{8}", out))
    assert "██████" in cells and "+" in cells
    flat = " ".join(out.split())
    assert "█ set, · clear, + set by this step, - cleared by this step; bit 0 on the left" in flat
    assert "groups of 8 bits (0-7, 8-15, ..., 56-63)" in flat
    assert "(all 1 as declared)" in cli(["check", f, "--width", "200"]).stdout  # the initial state, one row
    wide = cli(["check", f, "--width", "200"]).stdout
    assert "→ ++++++++ ++++++++ ++++++++ ++++++++ ++++++++ ········ ········ ········" in wide
    assert "reads: m = ████████ ████████ ████████ ████████ ████████ ········ ········ ········" in wide


# ---- (9) papercuts
def test_booleans_and_plurals(tmp_path: Path) -> None:
    f = write(tmp_path, "blocks.plug", BLOCKS)
    out = cli(["check", f]).stdout
    assert "plug(b=1, s=0, both=false)" in out and "False" not in out
    one = write(
        tmp_path,
        "one.plug",
        "var x : 0 .. 1 = 0\naction up when x < 1 { x := 1 }\ninvariant lo: x < 1\nallow deadlock\n",
    )
    out = cli(["check", one]).stdout
    assert "1 configuration of 1 spec checked" in out and "trace of 1 step\n" in out
    assert "Counterexample: lo (invariant), 1 step" in out


def test_symbolic_runs_do_not_count_states(tmp_path: Path) -> None:
    f = write(tmp_path, "good.plug", GOOD)
    out = cli(["check", f, "--engine", "bmc", "--depth", "3", "--config", "two", "-v"]).stdout
    assert "states" not in out.split("\n")[0] and "0 states/s" not in out
    assert re.search(r"— bmc, depth 3, [0-9.]+ s", out)


def test_help_explains_budgets_and_exit_codes() -> None:
    out = cli(["check", "--help"], COLUMNS="200").stdout
    assert "stop after N states: an inconclusive verdict" in out
    assert "stop each configuration after SECONDS" in out
    assert "exit codes:" in out and "3  inconclusive: a budget ran out" in out


def test_did_you_mean_for_a_mistyped_flag() -> None:
    p = cli(["check", "--max-stats", "5"])
    assert p.returncode == 2 and "(did you mean --max-states?)" in p.stderr
    p = cli(["check", "--jsno"])
    assert "(did you mean --json?)" in p.stderr


def test_an_ascii_terminal_gets_ascii_glyphs_not_a_traceback(tmp_path: Path) -> None:
    f = write(tmp_path, "blocks.plug", BLOCKS)
    p = cli(["check", f], PYTHONIOENCODING="ascii")
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr
    assert "reads: on = false; sb[1] = ..; dev_bm[1] = #." in p.stdout
    assert "> +." in p.stdout and "\u2588" not in p.stdout


def test_junit_classname_splits_into_spec_and_config(at_root: None) -> None:
    root = ET.fromstring(render_all(check([TANK]))["junit.xml"])
    names = {c.get("classname") for c in root.iter("testcase")}
    assert names == {"tests/golden/specs/tank_plug.default", "tests/golden/specs/tank_plug.one"}
    for n in names:  # Jenkins: package = up to the last dot, class = the config
        assert n.rsplit(".", 1)[0] == "tests/golden/specs/tank_plug"


# ---- --watch and init
def test_init_writes_a_starter_spec_that_passes(tmp_path: Path) -> None:
    p = cli(["init", "my_driver"], cwd=tmp_path)
    assert p.returncode == 0 and "wrote my_driver.plug" in p.stdout
    text = (tmp_path / "my_driver.plug").read_text(encoding="utf-8")
    assert text.startswith("# my_driver: a starter spec") and "protocol my_driver" in text
    check = cli(["check", "my_driver.plug"], cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "2 configurations of 1 spec checked: 2 pass" in check.stdout
    again = cli(["init", "my_driver"], cwd=tmp_path)
    assert again.returncode == 2 and "exists; not overwriting it" in again.stderr
    assert cli(["init", "9lives"], cwd=tmp_path).returncode == 2


def test_watch_checks_again_after_a_save(tmp_path: Path) -> None:
    import signal
    import time

    base = write(tmp_path, "base.plug", GOOD)
    spec = write(tmp_path, "child.plug", 'extends "base.plug"\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "checker.cli", "check", spec, "--watch", "-q"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        assert "2 pass, 0 fail" in first
        assert proc.stderr.readline().startswith("watching 2 files")  # the spec and the file it extends
        time.sleep(0.5)
        # a save to the extended file: the next check sees the new invariant fail
        Path(base).write_text(GOOD + "invariant tiny: x < 2\n", encoding="utf-8")
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("FAIL") and "[default]: tiny (violated)" in lines[0]
        assert "[two]: tiny (violated)" in lines[1] and "0 pass, 2 fail" in lines[2]
        assert "base.plug changed: checking again" in proc.stderr.readline() + proc.stderr.readline()
        assert proc.stderr.readline().startswith("watching 2 files")  # waiting again
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 1  # the last check's verdict
    finally:
        proc.kill()


def test_reports_show_no_state_counts_for_symbolic_runs(tmp_path: Path) -> None:
    from checker.run import Options

    f = write(tmp_path, "good.plug", GOOD)
    files = render_all(check([f], Options(configs=["two"], engine="bmc", depth=3)))
    assert "| two | INCONCLUSIVE | bmc | — |" in files["report.md"]
    assert "| bmc | — | — | 3 |" in files["report.md"]

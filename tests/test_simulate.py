"""`plugcheck simulate`: random walks that find violations, reproduce from a seed, count
exactly what they did and never claim more than a simulation shows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checker.cli import main
from checker.replay import replay
from checker.simulate import LANES, SimOptions, Walker, prepare
from checker.swarm import simulate
from model import build_model, load_spec

ROOT = Path(__file__).resolve().parent.parent

RANGE = "protocol r\nvar x : 0 .. 3 = 0\naction inc { x := x + 1 }\n"
BIT = """protocol b
var m : bitmap(4) = {}
var i : 0 .. 7 = 0
action step when i < 7 { i := i + 1 }
action set when not m[i] { m[i] := true }
allow deadlock
"""
OK = """protocol ok
var x : 0 .. 3 = 0
action up when x < 3 { x := x + 1 }
action down when x > 0 { x := x - 1 }
invariant bounded: x <= 3
"""
DEAD = "protocol d\nvar x : 0 .. 2 = 0\naction up when x < 2 { x := x + 1 }\n"
# a product that may pass 62 bits: the kernels cannot run it, states go one at a time
ANY_WIDE = """protocol a
var x : 0 .. 7 = any
var w : bitmap(100) = any
var y : 0 .. 1000000000000 = 0
action up when x < 7 and y * y >= 0 { x := x + 1 }
invariant small: x < 7 or popcount(w) > 60
allow deadlock
"""


def spec(tmp_path: Path, text: str, name: str = "s.plug") -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["simulate", *argv, "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["exit_code"] == code
    return code, doc["simulation"]


def model_of(path: str, **defines: int):  # type: ignore[no-untyped-def]
    return build_model(load_spec(Path(path)), "default", defines)


def test_a_seed_reproduces_the_same_trace_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["specs/bugs/L5.plug", "--seed", "11", "--runs", "3000", "--depth", "60"]
    code, a = run(args, capsys)
    assert code == 1 and a["verdict"] == "violation"
    _, b = run(args, capsys)
    assert (a["runs"], a["steps"], a["run"], a["violation"]) == (b["runs"], b["steps"], b["run"], b["violation"])
    _, c = run([args[0], "--seed", "12", *args[3:]], capsys)
    assert (c["run"], c["violation"]["trace"]) != (a["run"], a["violation"]["trace"])


def test_the_violation_replays_and_is_the_expected_bug() -> None:
    model = model_of("specs/bugs/L5.plug")
    res = simulate(model, SimOptions(runs=2000, depth=60, seed=3))
    p = res.violation
    # L5 hands a block still ADDED to offline_and_remove_memory: the auxiliary invariant that
    # says so breaks one step before offline_only_owned does
    assert p is not None and p.kind == "invariant" and p.name == "aux_wait_block" and p.expected == "violated"
    assert p.trace is not None
    out = replay(model, p.trace)
    assert out.ok and out.steps == len(p.trace)
    assert out.violations and out.violations[-1] == ("aux_wait_block", len(p.trace))
    # a violation stops the run: the counts end with the violating walk's batch, at its step
    assert res.runs == 2000 and res.run is not None and 1 <= res.run <= 2000
    assert 0 < res.steps < 2000 * 60


# K1's first symptom is the base spec's auxiliary invariant (an added block with a firmware
# memmap entry, 3 steps), before the kexec'ed kernel loses its RAM (4 steps)
@pytest.mark.parametrize(
    ("path", "prop"), [("specs/bugs/K1.plug", "aux_added_no_memmap"), ("specs/bugs/Q1.plug", None)]
)
def test_bug_specs_are_found(path: str, prop: str | None) -> None:
    model = model_of(path)
    res = simulate(model, SimOptions(runs=LANES, depth=60, seed=1))
    assert res.violation is not None and res.violation.expected == "violated"
    assert prop is None or res.violation.name == prop
    assert res.violation.trace is not None and replay(model, res.violation.trace).ok


def test_no_violation_says_simulation_proves_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = spec(tmp_path, OK)
    code, doc = run([f, "--seed", "1", "--runs", "5", "--depth", "7"], capsys)
    # no deadlock in this spec: every walk takes every step
    assert code == 0 and doc["verdict"] == "no violation found" and (doc["runs"], doc["steps"]) == (5, 35)
    assert doc["kernels"] and not any("one at a time" in n for n in doc["notes"])
    assert main(["simulate", f, "--seed", "1", "--runs", "5", "--depth", "7"]) == 0
    out = capsys.readouterr().out
    assert (
        "NO VIOLATION FOUND" in out
        and "no violation found in 5 runs / 35 steps" in out
        and "simulation proves nothing" in out
    )
    assert "holds" not in out
    code, doc = run([f, "--seed", "1", "--runs", "5", "--depth", "7", "--uniform"], capsys)
    assert code == 0 and (doc["runs"], doc["steps"]) == (5, 35) and doc["options"]["uniform"]


def test_range_errors_are_found_as_the_explicit_search_defines_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = run([spec(tmp_path, RANGE), "--seed", "1", "--runs", "5", "--depth", "7"], capsys)
    p = doc["violation"]
    assert code == 1 and p["kind"] == "range" and p["message"] == "inc: `x` := 4 is out of its range 0..3"
    assert [s["state"]["x"] for s in p["trace"]["steps"]] == [0, 1, 2, 3, 4]  # the failing step last
    assert doc["steps"] == 15  # 5 walks, 3 steps each, then the error in the first walk's 4th
    # walks of 3 steps end in x = 3 without taking the 4th: nothing found
    code, doc = run([spec(tmp_path, RANGE), "--seed", "1", "--runs", "5", "--depth", "3"], capsys)
    assert code == 0 and (doc["runs"], doc["steps"]) == (5, 15)
    code, doc = run([spec(tmp_path, BIT, "b.plug"), "--seed", "1", "--runs", "5", "--depth", "7"], capsys)
    p = doc["violation"]
    assert code == 1 and p["kind"] == "range" and "bit 4 is out of 0..3" in p["message"]
    assert p["trace"]["steps"][-1]["action"] == "set" and p["trace"]["steps"][-1]["state"]["i"] == 4


def test_deadlock_unless_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = spec(tmp_path, DEAD)
    code, doc = run([f, "--seed", "2", "--runs", "4", "--depth", "9"], capsys)
    assert code == 1 and doc["violation"]["kind"] == "deadlock" and len(doc["violation"]["trace"]["steps"]) == 3
    # allowed: a walk ends at the deadlock, after 2 steps
    code, doc = run([f, "--seed", "2", "--runs", "4", "--depth", "9", "--no-deadlock"], capsys)
    assert code == 0 and (doc["runs"], doc["steps"]) == (4, 8)


def test_random_initial_states_and_the_single_state_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = spec(tmp_path, ANY_WIDE)
    code, doc = run([f, "--seed", "5", "--runs", "64", "--depth", "3"], capsys)
    assert code == 1 and not doc["kernels"]
    first = doc["violation"]["trace"]["steps"][0]["state"]
    assert first["x"] == 7 and len(first["w"]) <= 60  # drawn at random: x = 7 is one start in 8


def test_the_kernels_and_the_single_state_function_take_the_same_walks() -> None:
    model = model_of("specs/bugs/L5.plug")
    opts = SimOptions(runs=300, depth=60, seed=4)
    fast = prepare(model, opts)
    slow = Walker(fast.model, fast.gm, fast.comp, "single", opts)
    a, b = fast.batch(0), slow.batch(0)
    assert a.found is not None and (a.found, a.steps) == (b.found, b.steps)
    ta = fast.batch(0, follow=a.found.lane).violation
    tb = slow.batch(0, follow=a.found.lane).violation
    assert ta is not None and tb is not None and ta.trace == tb.trace
    # the trace from the batch's kept history is the one a run following the walk rebuilds
    assert a.violation is not None and b.violation is not None and a.violation.trace == ta.trace == b.violation.trace


def test_one_and_two_workers_report_the_same_violation(capsys: pytest.CaptureFixture[str]) -> None:
    # two batches; the violation is in the first, whichever process runs it
    args = ["specs/bugs/K1.plug", "--seed", "7", "--runs", str(LANES + 100), "--depth", "20"]
    _, one = run(args, capsys)
    _, two = run([*args, "--workers", "2"], capsys)
    keys = ("verdict", "runs", "steps", "run", "violation")
    assert [one[k] for k in keys] == [two[k] for k in keys] and one["verdict"] == "violation"


def test_bad_input_is_exit_2_with_a_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = spec(tmp_path, "protocol bad\nvar x : 0 .. 3 = y\n")
    assert main(["simulate", f]) == 2
    assert f"{f}:2:18: error: `y` is not defined" in capsys.readouterr().err
    assert main(["simulate", spec(tmp_path, OK, "ok.plug"), "-D", "Q=1"]) == 2
    assert "`Q` is not a constant" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["simulate", f, "--seed", "-1"])
    assert exc.value.code == 2


def test_the_time_budget_is_exit_3_with_what_was_reached(capsys: pytest.CaptureFixture[str]) -> None:
    t0 = time.perf_counter()
    code, doc = run(["specs/ref_sbm.plug", "--seed", "1", "--runs", "100000000", "--timeout", "0.5"], capsys)
    assert code == 3 and doc["verdict"] == "inconclusive" and doc["stopped"] == "time budget 0.5 s reached"
    assert 0 < doc["steps"] < 100000000 * 100 and time.perf_counter() - t0 < 10
    main(["simulate", "specs/ref_sbm.plug", "--seed", "1", "--runs", "100000000", "--timeout", "0.5"])
    out = capsys.readouterr().out
    assert "INCONCLUSIVE" in out and "no violation found in what was reached" in out


def _start(*extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "checker.cli", "simulate", "specs/ref_sbm.plug", *extra]
        + ["--runs", "100000000", "--seed", "1", "--timeout", "120"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.slow
def test_sigterm_ends_a_simulation_with_what_was_reached() -> None:
    proc = _start()
    try:
        time.sleep(3.0)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 3, out
        assert "INCONCLUSIVE" in out and "stopped: interrupted" in out and "no violation found in" in out
    finally:
        proc.kill()


@pytest.mark.slow
def test_a_killed_worker_ends_the_run_with_exit_3() -> None:
    proc = _start("--workers", "2")
    try:
        children: list[int] = []
        for _ in range(100):  # the workers this run spawned (its own children)
            time.sleep(0.2)
            kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            children = [int(k) for k in kids if "spawn_main" in Path(f"/proc/{k}/cmdline").read_text()]
            if len(children) == 2:
                break
        assert len(children) == 2
        time.sleep(1.0)
        os.kill(children[0], signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 3, out
        assert "ended unexpectedly" in out and "INCONCLUSIVE" in out
    finally:
        proc.kill()


def test_always_properties_are_checked_as_invariants(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = spec(tmp_path, OK.replace("invariant bounded: x <= 3", "property low: always x < 2"))
    code, doc = run([f, "--seed", "3", "--runs", "8", "--depth", "9"], capsys)
    p = doc["violation"]
    assert code == 1 and (p["name"], p["kind"]) == ("low", "invariant") and p["trace"]["steps"][-1]["state"]["x"] == 2

"""`--jobs N`: induction's action groups proved in worker processes give the verdicts of the
single-process run; a budget running out ends every worker and
reports how many groups were proved."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checker.results import INCONCLUSIVE, PROVED, RunResult
from checker.stops import StopKind
from checker.symbolic import induction as induction_mod
from checker.symbolic import parallel
from checker.symbolic.bmc import Found
from checker.symbolic.induction import induction
from checker.symbolic.unroll import SymOptions
from model import build_model, load_spec, spec_from_text

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / "specs" / "ref_sbm.plug"
MUTANT = ROOT / "tests" / "specs" / "mutants" / "no_offline_limit.plug"


def verdicts(res: RunResult) -> list[tuple[str, str, int | None]]:
    return [(p.name, p.status, None if p.trace is None else len(p.trace)) for p in res.properties]


def test_jobs_give_the_same_verdicts_and_counterexamples() -> None:
    for path, config in ((REF, "b2s3"), (MUTANT, "default")):
        model = build_model(load_spec(path), config)
        one = induction(model, SymOptions(jobs=1))
        two = induction(model, SymOptions(jobs=2))
        assert verdicts(one) == verdicts(two), path
        assert one.verdict == two.verdict
        # a counterexample to induction breaks the same invariant with the same action (which
        # instance and states depends on the terms z3's context has seen before)
        actions = [[s.action for s in p.trace.steps] for p in one.properties if p.trace is not None]
        assert actions == [[s.action for s in p.trace.steps] for p in two.properties if p.trace is not None]
    assert not multiprocessing.active_children()


def test_a_budget_ends_every_worker_and_says_how_far_it_got(monkeypatch: object) -> None:
    monkeypatch.setattr(parallel, "GRACE", 0.0)  # type: ignore[attr-defined]
    # no base case (on a loaded machine it could take the whole budget): the budget must end the workers
    monkeypatch.setattr(induction_mod, "search", lambda *a, **k: Found(depth=0))  # type: ignore[attr-defined]
    # SBM at Linux size: a few seconds per group, far more than the budget leaves
    model = build_model(load_spec(ROOT / "specs" / "virtio_mem_sbm.plug"), "linux")
    res = induction(model, SymOptions(timeout=6, jobs=2))
    assert not multiprocessing.active_children()
    assert res.stopped is not None and (res.stopped.kind, res.stopped.limit) == (StopKind.TIME, 6)
    assert "instance groups preserve every invariant" in str(res.stopped)
    assert {p.status for p in res.properties} == {INCONCLUSIVE}


def test_ctrl_c_ends_every_worker_and_reports_what_was_proved() -> None:
    """Ctrl-C at a terminal signals the whole process group: the workers ignore it, the parent
    ends them and reports the run as interrupted (exit 3); nothing of the group is left. SBM at
    Linux size, so the workers are busy when the signal comes (about 10 s on an idle machine)."""
    cmd = [sys.executable, "-m", "checker.cli", "check", "specs/virtio_mem_sbm.plug", "--config", "linux"]
    cmd += ["--engine", "induction", "--jobs", "2"]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # progress lines (one a second once 5 s have passed)
        if b"2 processes on" in line:
            break
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err.decode()
    assert out.startswith(b"INCONCLUSIVE specs/virtio_mem_sbm.plug [linux]")
    # no process of the run is left (an exited one may wait a moment to be reaped)
    with pytest.raises(ProcessLookupError):
        for _ in range(100):
            os.killpg(proc.pid, 0)
            time.sleep(0.1)


COUNTERS = """protocol counters
type I = 0 .. 9
var a : [I] 0 .. 3 = 0
var d : [I] 0 .. 2 = 0
action inc(i : I) when a[i] < 2 { a[i] := a[i] + 1 }
DEC
action bump(i : I) when d[i] < 2 { d[i] := d[i] + a[i] }
invariant low: forall i : I. a[i] <= 2
"""


def test_range_and_deadlock_answered_in_workers_are_those_of_one_process() -> None:
    # twenty action groups: the workers prove them, then answer deadlock and one range query
    # per action that may fail (`bump` can take d[i] past 2); their verdicts are the
    # single-process run's
    for dec, dead in (("action dec(i : I) when a[i] > 0 { a[i] := a[i] - 1 }", PROVED), ("", INCONCLUSIVE)):
        model = build_model(spec_from_text(COUNTERS.replace("DEC", dec), "counters.plug"))
        one = induction(model, SymOptions(jobs=1))
        two = induction(model, SymOptions(jobs=2))
        assert verdicts(one) == verdicts(two)
        status = {p.name: (p.status, None if p.trace is None else len(p.trace)) for p in two.properties}
        assert status["low"] == (PROVED, None)
        assert status["range"] == (INCONCLUSIVE, 0)  # one state (no step), where bump(i) overflows d[i]
        assert status["deadlock"][0] == dead
        bad = next(p for p in two.properties if p.name == "range")
        assert bad.trace is not None
        st = bad.trace.steps[0].state
        assert any(d < 2 and d + a > 2 for a, d in zip(st["a"], st["d"], strict=True)), st
    assert not multiprocessing.active_children()

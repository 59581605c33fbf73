"""Replaying traces: a counterexample written as ITF reads back to the same trace and
replays as legal (reference and compiled semantics); a tampered trace is refused at its
first illegal step, naming the guard conjunct that is false."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main
from checker.replay import replay
from checker.report.itf import ITFError, from_itf, to_itf
from checker.results import Trace
from checker.search import explore
from model import build_model, load_spec
from model.typed import Model

from .report_data import TANK

# every test runs at the checkout root: report paths are as a user typed them there
pytestmark = pytest.mark.usefixtures("at_root")


@pytest.fixture
def model(at_root: None) -> Model:
    return build_model(load_spec(TANK), None, {})


@pytest.fixture
def cex(model: Model) -> Trace:
    res, _ = explore(model)
    (p,) = [p for p in res.properties if p.name == "never_both"]
    assert p.trace is not None
    return p.trace


@pytest.fixture
def doc(model: Model, cex: Trace) -> dict[str, Any]:
    return json.loads(json.dumps(to_itf(model, cex, {"config": "default"})))


@pytest.mark.parametrize("compiled", [False, True])
def test_round_trip_write_read_replay(model: Model, cex: Trace, doc: dict[str, Any], compiled: bool) -> None:
    back = from_itf(model, doc)
    assert back == cex
    out = replay(model, back, compiled=compiled)
    assert out.ok and out.steps == 3
    assert out.violations == [("never_both", 3)]  # the counterexample still ends in the bad state


def test_round_trip_every_shipped_trace_kind() -> None:
    """ref_sbm's reachable witness (arrays of enums and bitmaps) survives the round trip."""
    m = build_model(load_spec("specs/ref_sbm.plug"), "tiny", {})
    res, _ = explore(m)
    (w,) = [p for p in res.properties if p.name == "all_plugged"]
    assert w.trace is not None and len(w.trace) > 0
    back = from_itf(m, json.loads(json.dumps(to_itf(m, w.trace))))
    assert back == w.trace
    assert replay(m, back).ok and replay(m, back, compiled=True).ok


def _tamper_args(doc: dict[str, Any], step: int, **args: int) -> dict[str, Any]:
    d = copy.deepcopy(doc)
    d["states"][step]["#meta"]["args"] = {k: {"#bigint": str(v)} for k, v in args.items()}
    return d


@pytest.mark.parametrize("compiled", [False, True])
def test_tampered_step_names_the_false_guard_conjunct(model: Model, doc: dict[str, Any], compiled: bool) -> None:
    out = replay(model, from_itf(model, _tamper_args(doc, 3, s=0)), compiled=compiled)
    assert not out.ok
    assert out.step == 3 and out.label == "fill(s=0)"
    assert out.reason == "its guard is false"
    assert out.guard is not None
    assert out.guard.text == "not full[s]"
    assert (out.guard.span.line, out.guard.span.column) == (15, 48)
    assert out.lines()[:2] == [
        "step 3 (fill(s=0)) is illegal: its guard is false",
        f"  {TANK}:15:48: false guard conjunct: not full[s]",
    ]


def test_a_false_comparison_shows_both_sides(model: Model, doc: dict[str, Any]) -> None:
    d = copy.deepcopy(doc)
    d["states"][2]["#meta"] = {"action": "start", "args": {}}  # start again while FILLING
    out = replay(model, from_itf(model, d))
    assert out.step == 2 and out.guard is not None
    assert out.guard.text == "mode == IDLE"
    assert out.guard.detail == "mode = FILLING"


def test_a_tampered_state_is_a_different_successor(model: Model, doc: dict[str, Any]) -> None:
    d = copy.deepcopy(doc)
    d["states"][2]["level"] = {"#bigint": "0"}
    out = replay(model, from_itf(model, d))
    assert (out.ok, out.step) == (False, 2)
    assert out.reason == "it leads to a different state: level would be 1, the trace has 0"
    assert ("level_matches", 2) in out.violations


def test_a_state_no_action_reaches(model: Model, doc: dict[str, Any]) -> None:
    d = copy.deepcopy(doc)
    for st in d["states"]:
        st.pop("#meta")
    out = replay(model, from_itf(model, d))
    assert out.ok and out.inferred == {1: "start", 2: "fill(s=0)", 3: "fill(s=1)"}
    d["states"][2]["full"] = {"#set": [{"#bigint": "1"}]}  # fill(s=0) really set bit 0
    out = replay(model, from_itf(model, d))
    assert (out.ok, out.step, out.reason) == (False, 2, "no action instance leads from state 1 to state 2")


def test_not_an_initial_state(model: Model, doc: dict[str, Any]) -> None:
    d = copy.deepcopy(doc)
    d["states"][0]["mode"] = "FILLING"
    out = replay(model, from_itf(model, d))
    assert (out.ok, out.step, out.reason) == (False, 0, "it is not an initial state of the spec")


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda d: d["states"][1].update(level={"#bigint": "x"}), "state 1: `level`: bad #bigint 'x'"),
        (lambda d: d["states"][1].pop("mode"), "state 1: no value for variable `mode`"),
        (lambda d: d["states"][1].update(mode="BUSY"), "state 1: `mode`: expected one of IDLE, FILLING, got 'BUSY'"),
        (lambda d: d["states"][2]["#meta"].update(action="pour"), "state 2: no action `pour` in the spec"),
        (lambda d: d["states"][2]["#meta"].update(args={}), "state 2: action `fill` needs argument `s`"),
        (lambda d: d.update(loop=7), "`loop` must be a state index in 0..3, got 7"),
        (lambda d: d["states"][1].update(full={"#set": [{"#bigint": "2"}]}), "state 1: `full`: bit 2 is out of 0..1"),
    ],
)
def test_itf_that_does_not_fit_the_spec(model: Model, doc: dict[str, Any], edit: Any, message: str) -> None:
    d = copy.deepcopy(doc)
    edit(d)
    with pytest.raises(ITFError) as e:
        from_itf(model, d)
    assert str(e.value) == message


def test_recorder_friendly_encodings(model: Model, doc: dict[str, Any], cex: Trace) -> None:
    """Plain numbers, bit lists and #tup arrays read as the canonical encodings do."""
    d = copy.deepcopy(doc)
    for st in d["states"]:
        st["level"] = int(st["level"]["#bigint"])
        st["full"] = [int(b["#bigint"]) for b in st["full"]["#set"]]
        st["seen"] = {"#tup": [v for _, v in st["seen"]["#map"]]}
    assert from_itf(model, d) == cex


def test_cli_replay(tmp_path: Path, doc: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.itf.json"
    good.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["replay", str(good), TANK]) == 0
    out = capsys.readouterr().out
    assert "the trace is a legal execution: 3 steps replayed" in out
    assert "state 3 violates invariant `never_both`" in out

    bad = tmp_path / "bad.itf.json"
    bad.write_text(json.dumps(_tamper_args(doc, 3, s=0)), encoding="utf-8")
    assert main(["replay", str(bad), TANK, "--compiled"]) == 1
    out = capsys.readouterr().out
    assert "step 3 (fill(s=0)) is illegal: its guard is false" in out
    assert "false guard conjunct: not full[s]" in out

    # config `one` has one slot: the trace's two-slot bitmap does not fit
    assert main(["replay", str(good), TANK, "--config", "one"]) == 2
    assert "state 0: `seen`: index 1 is not in 0..0" in capsys.readouterr().err
    (tmp_path / "junk.json").write_text("{", encoding="utf-8")
    assert main(["replay", str(tmp_path / "junk.json"), TANK]) == 2
    assert "cannot read the trace" in capsys.readouterr().err
    assert main(["replay", str(good), "nope.plug"]) == 2


def test_cli_report_traces_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The end-to-end path CI users take: --report writes ITF, replay accepts it."""
    assert main(["check", TANK, "-q", f"--report={tmp_path / 'r'}"]) == 1
    itf = tmp_path / "r" / "traces" / "tank_default_never_both.itf.json"
    capsys.readouterr()
    assert main(["replay", str(itf), TANK]) == 0
    assert f"against {TANK} [default]" in capsys.readouterr().out


LASSO_SPEC = """protocol blink "a lasso: without fairness inc may never run"
var x : 0 .. 3 = 0
var flag : bool = false
action inc when x < 3 { x := x + 1 }
action toggle { flag := not flag }
property done: eventually x == 3
"""


def test_a_lasso_round_trips_and_its_loop_is_checked(tmp_path: Path) -> None:
    spec = tmp_path / "blink.plug"
    spec.write_text(LASSO_SPEC, encoding="utf-8")
    m = build_model(load_spec(str(spec)), None, {})
    res, _ = explore(m)
    (p,) = [p for p in res.properties if p.name == "done"]
    if p.trace is None or p.trace.loop is None:
        pytest.skip("this engine reports no lasso for `eventually`")
    d = json.loads(json.dumps(to_itf(m, p.trace)))
    assert d["loop"] == p.trace.loop
    back = from_itf(m, d)
    assert back == p.trace and back.loop == p.trace.loop
    assert replay(m, back).ok and replay(m, back, compiled=True).ok
    # a cycle that cannot close: the last state cannot return to the loop state
    d["states"].append({"#meta": {"action": "inc", "args": {}}, "x": {"#bigint": "1"}, "flag": False})
    d["states"][-1]["flag"] = d["states"][-2]["flag"]
    d["loop"] = 0
    out = replay(m, from_itf(m, d))
    assert not out.ok
    assert out.reason == "no action instance leads from the last state back to state 0"


RANGE_SPEC = """protocol edge "inc overflows x"
var x : 0 .. 2 = 0
action inc when x < 3 { x := x + 1 }
"""


def test_a_range_violation_trace_replays_to_its_failing_step(tmp_path: Path, model: Model, doc: dict[str, Any]) -> None:
    spec = tmp_path / "edge.plug"
    spec.write_text(RANGE_SPEC, encoding="utf-8")
    m = build_model(load_spec(str(spec)), None, {})
    res, _ = explore(m)
    (p,) = [p for p in res.properties if p.name == "range"]
    assert p.trace is not None and p.trace.steps[-1].state == {"x": 3}
    out = replay(m, from_itf(m, json.loads(json.dumps(to_itf(m, p.trace)))))
    assert (out.ok, out.step, out.label) == (False, 3, "inc")
    assert out.reason == "the action fails: `x` := 3 is out of its range 0..2"
    # a value out of range that no step produced
    d = copy.deepcopy(doc)
    d["states"][1]["level"] = {"#bigint": "9"}
    for compiled in (False, True):
        out = replay(model, from_itf(model, d), compiled=compiled)
        assert (out.step, out.reason) == (1, "it leads to a different state: level would be 0, the trace has 9")

"""`plugcheck infer`: Houdini over template candidates finds the auxiliary invariant a proof
needs, drops the false ones, and states its candidate limit."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main
from checker.infer.houdini import infer
from checker.infer.templates import candidates
from checker.results import INCONCLUSIVE, PROVED
from checker.symbolic.induction import induction
from checker.symbolic.unroll import SymOptions
from model import build_model, spec_from_text
from model import typed as T

# `total_ok` is true but not inductive: from total == 4 with a block IDLE (no block state
# pins total), `start` breaks it. It needs total == the plugged subblocks, and blocks that
# are IDLE to be empty.
SPEC = """
protocol t
enum St { IDLE, BUSY }
type I = 0 .. 1
const W = 1
var st : [I] St = IDLE
var m : [I] bitmap(W) = {}
var total : 0 .. 8 = 0
action start(i : I) when st[i] == IDLE { st[i] := BUSY; m[i] := lowbits(W); total := total + W }
action stop(i : I) when st[i] == BUSY { st[i] := IDLE; m[i] := {}; total := total - W }
invariant total_ok: total <= 4
config wide { W = 2 }
"""

SUM = "total == sum(i : I. popcount(m[i]))"
FALSE = "forall i : I. st[i] == BUSY implies m[i] == {}"


def test_the_target_invariant_is_not_inductive_alone() -> None:
    res = induction(build_model(spec_from_text(SPEC, "t.plug")), SymOptions(deadlock=False))
    assert next(p for p in res.properties if p.name == "total_ok").status == INCONCLUSIVE


def test_infer_finds_the_needed_invariant_and_drops_false_candidates() -> None:
    spec = spec_from_text(SPEC, "t.plug")
    assert SUM in candidates(spec, build_model(spec)) and FALSE in candidates(spec, build_model(spec))
    every = infer(spec, None, None, {}, minimize=False)
    kept = [every.texts[n] for n in every.kept]
    assert SUM in kept and FALSE not in kept
    # at W = 1 one candidate is enough: the counter counts the BUSY blocks
    got = infer(spec, None, None, {})
    assert [got.texts[n] for n in got.kept] == ["total == count(i : I. st[i] == BUSY)"]
    assert got.originals == {"total_ok": "proved"} and got.proved_all
    # the printed text, pasted into the spec, proves it
    pasted = build_model(spec_from_text(SPEC + got.spec_text() + "\n", "t.plug"))
    res = induction(pasted, SymOptions(deadlock=False))
    assert {p.status for p in res.properties if p.kind == "invariant"} == {PROVED}


def test_the_explicit_filter_in_stages_drops_what_one_search_drops(monkeypatch: pytest.MonkeyPatch) -> None:
    # searches cut at a few states drop the candidates broken early; the full search the rest
    import checker.infer.houdini as houdini

    spec = spec_from_text(SPEC, "t.plug")
    searched: list[int | None] = []
    real = houdini.explore

    def counting(model: T.Model, budget: Any, *args: Any, **kw: Any) -> Any:
        searched.append(budget.max_states)
        return real(model, budget, *args, **kw)

    monkeypatch.setattr(houdini, "explore", counting)
    monkeypatch.setattr(houdini, "FILTER_STAGES", ())
    one = infer(spec, None, None, {}, minimize=False)
    assert searched == [houdini.EXPLICIT_STATES]
    monkeypatch.setattr(houdini, "FILTER_STAGES", (1, 3))
    staged = infer(spec, None, None, {}, minimize=False)
    assert searched[1:] == [1, 3, houdini.EXPLICIT_STATES]  # the model has 4 states: both cut searches stop
    assert staged.texts == one.texts and staged.kept == one.kept
    line = "14 candidates, 5 hold in every reached state (complete, 4 states)"
    assert staged.steps[0].detail == one.steps[0].detail == line


def test_cli_prints_spec_text_times_and_the_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "t.plug"
    f.write_text(SPEC)
    assert main(["infer", str(f), "--config", "wide", "--jobs", "1", "-q"]) == 0
    out = capsys.readouterr().out
    assert f"invariant aux_inferred_9: {SUM}" in out
    # `total == count(...BUSY)` holds at W = 1 (the explicit search); random walks at W = 2 drop it
    assert "# explicit search at `default`: 14 candidates, 5 hold in every reached state" in out
    assert "# random walks at `wide`: 8,192 walks of up to 100 steps; 5 candidates, 4 hold throughout" in out
    assert (
        "# fewest candidates at `default`: 4 induction rounds picked 3 against counterexamples, 3 Houdini checks;"
        " 3 of 4 candidates needed" in out
    )
    # the number of z3 queries depends on the counterexamples z3 picks
    # and they do not prove it at W = 2: the step says which original went
    assert re.search(
        r"# Houdini at `wide`: \d+ queries; \d of 3 candidates in the inductive subset; not proved here: total_ok", out
    )
    assert all(f": {t}" in out for t in NEEDED) and out.count("invariant aux_inferred_") == 3
    assert "total == count(" not in out and "# total_ok: proved" in out
    assert main(["infer", str(f), "--config", "wide", "--jobs", "1", "-q", "--keep-all"]) == 0
    out = capsys.readouterr().out
    assert "fewest" not in out and re.search(r"# Houdini at `wide`: \d+ queries; 4 of 4 candidates", out)
    assert out.count("invariant aux_inferred_") == 4
    assert main(["infer", str(f), "--limit", "3", "--jobs", "1", "-q"]) == 3
    out = capsys.readouterr().out
    assert "# 14 candidates from the templates (cut at the limit of 3)" in out
    assert "# total_ok: not proved" in out


NEEDED = [
    "forall i : I. st[i] == IDLE implies m[i] == {}",
    "forall i : I. st[i] == BUSY implies m[i] == lowbits(W)",
    SUM,
]


def test_infer_keeps_the_fewest_candidates_that_still_prove() -> None:
    spec = spec_from_text(SPEC, "t.plug")
    every = infer(spec, "wide", None, {}, minimize=False)
    fewest = infer(spec, "wide", None, {})
    assert [every.texts[n] for n in every.kept] == [
        NEEDED[0],
        "forall i : I. st[i] == BUSY implies m[i] != {}",  # implied by the `lowbits(W)` one: dropped
        NEEDED[1],
        SUM,
    ]
    assert [fewest.texts[n] for n in fewest.kept] == NEEDED and fewest.proved_all
    # each of the three is needed: without any one of them total_ok is not inductive at W = 2
    for drop in NEEDED:
        rest = "".join(f"invariant a{k}: {t}\n" for k, t in enumerate(NEEDED) if t != drop)
        res = induction(build_model(spec_from_text(SPEC + rest, "t.plug"), "wide"), SymOptions(deadlock=False))
        assert any(p.status != PROVED for p in res.properties if p.kind == "invariant")


# The driver's view `seen` agrees with the device's bitmap between requests; the proof needs
# the ghost copy taken at the reply to equal the view while an answer is in flight: a
# relation between scalar bitmaps under a state of a scalar enum.
GHOST = """
protocol g
enum Resp { NONE, ACK }
const N = 2
var bm : bitmap(N) = {}
var pre : bitmap(N) = {}
var seen : bitmap(N) = {}
var resp : Resp = NONE
action reply when resp == NONE { pre := bm; bm := ~bm; resp := ACK }
action receive when resp == ACK { seen := ~seen; resp := NONE; pre := {} }
invariant ack_flips: resp == ACK implies bm == ~pre
invariant views_agree: resp == NONE implies bm == seen
"""


def test_scalar_bitmap_templates_find_the_ghost_relation() -> None:
    spec = spec_from_text(GHOST, "g.plug")
    alone = induction(build_model(spec), SymOptions(deadlock=False))
    assert next(p for p in alone.properties if p.name == "views_agree").status == INCONCLUSIVE
    every = infer(spec, None, None, {}, minimize=False)
    assert [every.texts[n] for n in every.kept] == [
        "pre subseteq seen",
        "resp == NONE implies bm == seen",  # the original itself, as a candidate
        "resp == NONE implies pre == {}",
        "resp != NONE implies pre == seen",
        "resp == ACK implies pre == seen",
        "resp != ACK implies bm == seen",
        "resp != ACK implies pre == {}",
    ]
    got = infer(spec, None, None, {})
    assert got.spec_text() == "invariant aux_inferred_18: resp != NONE implies pre == seen"
    assert got.originals == {"ack_flips": "proved", "views_agree": "proved"}


# A step picks a block (`cur`) and adds it later: the proof needs what the picked block is
# while the step waits (`not fresh[cur]`, a cursor template) and that the limit had room when
# it was picked (the spec's own `<=` invariant made strict under the program-counter state).
CURSOR = """
protocol c
enum Pc { IDLE, ADD }
type I = 0 .. 2
const L = 2
var pc : Pc = IDLE
var cur : I
var fresh : [I] bool = false
var total : 0 .. 3 = 0
action pick(b : I) when pc == IDLE and total < L and not fresh[b] { cur := b; pc := ADD }
action add when pc == ADD { fresh[cur] := true; total := total + 1; pc := IDLE }
action settle(b : I) when fresh[b] { fresh[b] := false; total := total - 1 }
invariant counted: total == count(i : I. fresh[i])
invariant limit: count(i : I. fresh[i]) <= L
"""


def test_cursor_and_room_templates() -> None:
    spec = spec_from_text(CURSOR, "c.plug")
    alone = induction(build_model(spec), SymOptions(deadlock=False))
    assert {p.name for p in alone.properties if p.kind == "invariant" and p.status != PROVED} >= {"limit"}
    got = infer(spec, None, None, {})
    assert got.generated == 32
    assert got.steps[0].detail.startswith("32 candidates, 2 hold in every reached state")
    assert got.spec_text() == (
        "invariant aux_inferred_6: pc == ADD implies not fresh[cur]\n"
        "invariant aux_inferred_12: pc == ADD implies count(i : I. fresh[i]) < L"
    )
    assert got.proved_all


# Per-element state in nested arrays (`[D] [B]`, as the two-device spec keeps it): a marked
# copy `n` is only ever taken from `m`, so it stays inside it; without that fact `give`
# (allowed once `m` is empty) seems to free an element that is still marked.
NESTED = """
protocol n
type D = 0 .. 1
type B = 0 .. 1
enum St { FREE, USED }
var st : [D] [B] St = FREE
var m : [D] [B] bitmap(1) = {}
var n : [D] [B] bitmap(1) = {}
action take(d : D, b : B) when st[d][b] == FREE { st[d][b] := USED; m[d][b] := {} }
action fill(d : D, b : B) when st[d][b] == USED { m[d][b] := lowbits(1) }
action mark(d : D, b : B) when st[d][b] == USED { n[d][b] := m[d][b] }
action clear(d : D, b : B) when st[d][b] == USED { m[d][b] := {}; n[d][b] := {} }
action give(d : D, b : B) when st[d][b] == USED and m[d][b] == {} { st[d][b] := FREE }
invariant free_unmarked: forall d : D. forall b : B. st[d][b] == FREE implies n[d][b] == {}
"""


def test_nested_array_templates() -> None:
    spec = spec_from_text(NESTED, "n.plug")
    alone = induction(build_model(spec), SymOptions(deadlock=False))
    assert next(p for p in alone.properties if p.name == "free_unmarked").status == INCONCLUSIVE
    every = infer(spec, None, None, {}, minimize=False)
    assert (every.generated, every.spec_text()) == (
        16,
        "invariant aux_inferred_1: forall i : D. forall j : B. st[i][j] == FREE implies m[i][j] == {}\n"
        "invariant aux_inferred_7: forall i : D. forall j : B. st[i][j] == FREE implies n[i][j] == {}\n"
        "invariant aux_inferred_16: forall i : D. forall j : B. n[i][j] subseteq m[i][j]",
    )
    got = infer(spec, None, None, {})
    assert got.spec_text() == "invariant aux_inferred_16: forall i : D. forall j : B. n[i][j] subseteq m[i][j]"
    assert got.proved_all


# Linux numbers memory blocks over both devices' regions: a nested array's element (d, b) and
# a global array's element `gid(d, b)` describe the same block. Templates relate them only
# through a let the spec itself uses as an index (`pg[gid(`), never through `other(`.
MAPPED = """
protocol m
type D = 0 .. 1
type B = 0 .. 1
type G = 0 .. 3
enum St { FREE, USED }
let gid(d : D, b : B) = d * 2 + b
let other(d : D, b : B) = 3 - gid(d, b)
var st : [D] [B] St = FREE
var pg : [G] bitmap(1) = {}
action take(d : D, b : B) when st[d][b] == FREE and other(d, b) >= 0 { st[d][b] := USED }
action fill(d : D, b : B) when st[d][b] == USED { pg[gid(d, b)] := lowbits(1) }
action give(d : D, b : B) when st[d][b] == USED { st[d][b] := FREE; pg[gid(d, b)] := {} }
invariant used_filled: forall g : G. popcount(pg[g]) <= 1
"""


def test_mapped_templates_follow_the_specs_own_index_lets() -> None:
    spec = spec_from_text(MAPPED, "m.plug")
    got = [c for c in candidates(spec, build_model(spec)) if "gid" in c or "other" in c]
    assert got == [
        "forall i : D. forall j : B. st[i][j] == FREE implies pg[gid(i, j)] == {}",
        "forall i : D. forall j : B. st[i][j] == USED implies pg[gid(i, j)] == {}",
    ]
    every = infer(spec, None, None, {}, minimize=False)
    assert "forall i : D. forall j : B. st[i][j] == FREE implies pg[gid(i, j)] == {}" in every.spec_text()
    assert "USED implies pg[gid" not in every.spec_text()  # false after `fill`: the explicit search drops it


def test_many_survivors_are_picked_against_counterexamples_without_houdini(monkeypatch: pytest.MonkeyPatch) -> None:
    import checker.infer.houdini as houdini

    monkeypatch.setattr(houdini, "PICK_FIRST", 1)  # so that 5 survivors count as many
    spec = spec_from_text(SPEC, "t.plug")
    got = infer(spec, "wide", None, {})
    steps = [s.what for s in got.steps]
    # no Houdini at the small config; what it picks there is not inductive at W = 2 (it says
    # BUSY blocks are non-empty, not full), so picking goes on at `wide` from those 3, and
    # what it gives is minimised there
    assert steps == [
        "explicit search at `default`",
        "random walks at `wide`",
        "candidates against counterexamples at `default` (more than 1)",
        "Houdini at `wide`",
        "candidates against counterexamples at `wide` (from the 3 picked before)",
        "fewest candidates at `wide`",
    ]
    assert got.steps[2].detail.endswith("picked 3 of 4 candidates, 3 Houdini checks; 3 needed")
    assert got.steps[3].detail.endswith("2 of 3 candidates in the inductive subset; not proved here: total_ok")
    assert got.steps[4].detail == "2 induction rounds picked 1 more and dropped 0; 4 candidates prove the originals"
    assert [got.texts[n] for n in got.kept] == NEEDED and got.proved_all
    # above MINIMISE_AT_TARGET the set picked at the target is kept as it is
    monkeypatch.setattr(houdini, "MINIMISE_AT_TARGET", 3)
    big = infer(spec, "wide", None, {})
    assert len(big.steps) == 5 and big.steps[4].detail.endswith("(more than 3: not minimised here)")
    nonempty = "forall i : I. st[i] == BUSY implies m[i] != {}"  # picked at `default`, not needed at `wide`
    assert [big.texts[n] for n in big.kept] == [NEEDED[0], nonempty, *NEEDED[1:]] and big.proved_all
    # when picking at the target does not prove them, Houdini over every survivor does, minimised there
    monkeypatch.setattr(houdini, "_pick_at_target", lambda *a: None)
    again = infer(spec, "wide", None, {})
    assert [s.what for s in again.steps][4:] == ["Houdini again at `wide`", "fewest candidates at `wide`"]
    assert [again.texts[n] for n in again.kept] == NEEDED and again.proved_all
    small = infer(spec_from_text(CURSOR, "c.plug"), None, None, {})
    assert [s.what for s in small.steps][1] == "candidates against counterexamples at `default` (more than 1)"
    assert small.spec_text().count("invariant") == 2 and small.proved_all


# `y` counts twice `x`: no template says so, so no candidate excludes the state y == 3 from
# which `step` breaks the invariant
EVEN = """
protocol q
var x : 0 .. 7 = 0
var y : 0 .. 15 = 0
var f : bool = false
var g : bool = false
action step when x < 4 { x := x + 1; y := y + 2 }
action flip when not f { f := true; g := true }
invariant never_five: y != 5
"""


def test_picking_names_the_counterexample_no_candidate_excludes(monkeypatch: pytest.MonkeyPatch) -> None:
    import checker.infer.houdini as houdini

    monkeypatch.setattr(houdini, "PICK_FIRST", 1)
    got = infer(spec_from_text(EVEN, "q.plug"), None, None, {})
    assert got.steps[1].detail == (
        "1 induction rounds picked 0 of 5 candidates; they do not prove the originals (`never_five` broken"
        " by `step` from a state no candidate excludes): Houdini over every survivor follows"
    )
    assert got.originals == {"never_five": "not proved"}


def test_ctrl_c_between_induction_runs_reports_the_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the picked candidates are evaluated in a counterexample (Python, between
    two induction runs) ends `infer` with what it reached, not a traceback."""
    import checker.infer.houdini as houdini

    monkeypatch.setattr(houdini, "PICK_FIRST", 1)

    def interrupted(g: object, state: object) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(houdini, "_holds", interrupted)
    got = infer(spec_from_text(SPEC, "t.plug"), "wide", None, {})
    assert got.stopped == "interrupted" and not got.proved_all and not got.kept
    assert got.originals == {"total_ok": "not proved"}
    assert [(s.what, s.detail) for s in got.steps][2:] == [
        ("candidates against counterexamples at `default` (more than 1)", "interrupted")
    ]


def test_a_time_budget_names_the_commands_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "t.plug"
    f.write_text(SPEC)
    # a budget spent before the first induction run: the explicit search finishes, Houdini stops
    assert main(["infer", str(f), "--config", "wide", "--jobs", "1", "-q", "--timeout", "0.05"]) == 3
    out = capsys.readouterr().out
    assert "# stopped: time budget 0.05 s reached" in out and "# total_ok: not proved" in out
    assert "invariant aux_" not in out


def test_sigint_in_houdini_ends_infer_with_exit_3() -> None:
    """The BBM spec at the default config: some 2,500 candidates survive the explicit search
    and Houdini goes over them one action group at a time (about two minutes). Started the
    way a shell without job control starts `plugcheck infer ... &` (SIGINT ignored), SIGINT in
    that phase ends it at once: the steps reached, exit 3, no traceback."""
    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-m", "checker.cli", "infer", "specs/virtio_mem_bbm.plug", "--jobs", "1"]
    proc = subprocess.Popen(
        [*cmd, "--timeout", "900"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # progress lines, one per step once 5 s have passed
        seen.append(line)
        if "infer, Houdini at `default`: Houdini: action" in line:
            break
    else:
        raise AssertionError("".join(seen[-5:]))
    proc.send_signal(signal.SIGINT)
    t = time.perf_counter()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert time.perf_counter() - t < 30
    assert "Traceback" not in err
    step = next(ln for ln in out.splitlines() if ln.startswith("# Houdini at `default`"))
    assert "queries, stopped: interrupted" in step
    assert "# stopped: interrupted" in out and "# dev_accounting: not proved" in out


# The shapes the BBM driver's proof needs: a request and its answer, a block being worked
# on (`cur`) below a high-water mark (`next`), the memory rows of that block, and a device
# bitmap with one bit per block.
REQUEST = """
protocol r
enum Pc { IDLE, WAIT }
enum Req { NONE, ASK }
enum St { FREE, TAKEN }
type B = 0 .. 1
type J = 0 .. 1
var pc : Pc = IDLE
var req : Req = NONE
var cur : B
var next : 0 .. 2 = 0
var st : [B] St = FREE
var bm : bitmap(2) = {}
var row : [B] [J] bool = false
action go when pc == IDLE and next < 2 { cur := next; next := next + 1; req := ASK; pc := WAIT }
"""


def test_request_cursor_and_row_templates() -> None:
    spec = spec_from_text(REQUEST, "r.plug")
    got = set(candidates(spec, build_model(spec)))
    assert {
        "pc == WAIT implies (forall j : J. not row[cur][j])",  # the row of the block worked on
        "forall i : B. st[i] == TAKEN implies i == cur",  # a state only the block worked on is in
        "pc == WAIT implies cur < next",  # the block worked on was taken from below the mark
        "pc == IDLE and req == NONE implies not bm[cur]",  # a request and its answer fix a bit
        "forall i : B. req == NONE implies (st[i] == FREE implies not bm[i])",
        "req != ASK",  # a state never taken
    } <= got
    # only a scalar of an array's index type is a cursor (an enum-typed scalar is not)
    assert not any(t.startswith("pc == WAIT implies req <") for t in got)


# The device plugs the block a PLUG names before the driver reads the ACK and marks the block
# USED: between the two, that FREE block's bit is set, every other FREE block's is clear (the
# BBM driver's `aux_unused_unplugged`). Without that fact the PLUG's answer can be ERROR.
PLUG = """
protocol p
enum Req { NONE, PLUG }
enum Resp { NO_RESP, ACK, ERROR }
enum St { FREE, USED }
type B = 0 .. 2
var st : [B] St = FREE
var bm : bitmap(3) = {}
var req : Req = NONE
var resp : Resp = NO_RESP
var req_b : B
var broken : bool = false
action ask(b : B) when req == NONE and st[b] == FREE { req := PLUG; req_b := b }
action reply when req == PLUG and resp == NO_RESP {
  if bm[req_b] { resp := ERROR } else { bm[req_b] := true; resp := ACK }
}
action read when resp != NO_RESP {
  if resp == ERROR { broken := true } else { st[req_b] := USED }
  req := NONE; resp := NO_RESP
}
action free(b : B) when req == NONE and st[b] == USED { st[b] := FREE; bm[b] := false }
invariant never_broken: not broken
"""


def test_a_bit_per_element_except_where_a_request_is_answered() -> None:
    got = infer(spec_from_text(PLUG, "p.plug"), None, None, {})
    assert got.originals == {"never_broken": "proved"}
    exception = "forall i : B. (st[i] == FREE and not (req == PLUG and req_b == i)) implies not bm[i]"
    assert exception in {got.texts[n] for n in got.kept}
    res = induction(build_model(spec_from_text(PLUG + got.spec_text(), "p.plug")), SymOptions())
    assert {p.name: p.status for p in res.properties}["never_broken"] == PROVED


# The driver starts with nothing plugged and sends UNPLUG_ALL; once the device has answered,
# its blocks are all empty too (the SBM driver's start-up): whole arrays in one form under one
# state, or under a pair of states, of scalar enums.
UNPLUG_ALL = """
protocol u
enum Pc { START, UA_WAIT, RUN }
enum Resp { NO_RESP, ACK }
type B = 0 .. 1
var pc : Pc = START
var resp : Resp = NO_RESP
var dev : [B] bitmap(2) = lowbits(2)
var sb : [B] bitmap(2) = {}
action send when pc == START { pc := UA_WAIT }
action answer when pc == UA_WAIT and resp == NO_RESP { for b : B { dev[b] := {} } resp := ACK }
action done when pc == UA_WAIT and resp == ACK { pc := RUN; resp := NO_RESP }
action plug(b : B) when pc == RUN and resp == NO_RESP { sb[b] := lowbits(2); dev[b] := lowbits(2); resp := ACK }
action plugged when pc == RUN and resp == ACK { resp := NO_RESP }
invariant matches: pc == RUN implies (forall b : B. sb[b] == dev[b])
"""


def test_whole_arrays_under_one_or_two_enum_states() -> None:
    got = infer(spec_from_text(UNPLUG_ALL, "u.plug"), None, None, {})
    assert got.originals == {"matches": "proved"}
    kept = {got.texts[n] for n in got.kept}
    assert "pc == UA_WAIT implies (forall i : B. sb[i] == {})" in kept
    assert "pc == UA_WAIT and resp == ACK implies (forall i : B. dev[i] == {})" in kept


# the device applies a request's bits when it answers, the driver when it reads the answer:
# in between the two views differ by exactly those bits
PENDING = """
protocol pend
type Block = 0 .. 0
const S = 2
enum Req { NO_REQ, PLUG, UNPLUG }
enum Resp { NO_RESP, ACK }
var dev : [Block] bitmap(S) = {}
var drv : [Block] bitmap(S) = {}
var req : Req = NO_REQ
var resp : Resp = NO_RESP
var cur : Block
var bits : bitmap(S) = {}
action send_plug(b : Block) when req == NO_REQ and drv[b] != lowbits(S) {
  req := PLUG; cur := b; bits := lowbits(S) & ~drv[b]
}
action send_unplug(b : Block) when req == NO_REQ and drv[b] != {} { req := UNPLUG; cur := b; bits := drv[b] }
action reply when req != NO_REQ and resp == NO_RESP {
  if req == PLUG { dev[cur] := dev[cur] | bits } else { dev[cur] := dev[cur] & ~bits }
  resp := ACK
}
action done when resp == ACK {
  if req == PLUG { drv[cur] := drv[cur] | bits } else { drv[cur] := drv[cur] & ~bits }
  req := NO_REQ; resp := NO_RESP; bits := {}
}
invariant views: req == NO_REQ implies dev[cur] == drv[cur]
"""


def test_a_request_applied_by_one_side_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import checker.infer.templates as templates

    spec = spec_from_text(PENDING, "p.plug")
    pending = [c for c in candidates(spec, build_model(spec)) if " == (" in c]
    # the updates the spec writes, under pairs of the enums `done` resets beside `bits`
    assert len(pending) == 4 * 6 and pending[:2] == [
        "req == NO_REQ and resp == NO_RESP implies dev[cur] == (drv[cur] | bits)",
        "req == NO_REQ and resp == ACK implies dev[cur] == (drv[cur] | bits)",
    ]
    got = infer(spec, None, None, {})
    assert got.originals == {"views": "proved"}
    kept = {got.texts[n] for n in got.kept}
    assert "req == PLUG and resp == ACK implies dev[cur] == (drv[cur] | bits)" in kept
    assert "req == UNPLUG and resp == ACK implies dev[cur] == (drv[cur] & ~bits)" in kept
    monkeypatch.setattr(templates, "_pending_effect", lambda *a: [])
    assert infer(spec, None, None, {}).originals == {"views": "not proved"}


def _naive_houdini(model: T.Model, keep: set[str]) -> set[str]:
    """Houdini as `induction` rounds: drop every invariant with a counterexample (or false
    initially), again."""
    from dataclasses import replace

    while True:
        m = replace(model, properties=[p for p in model.properties if p.kind == "invariant" and p.name in keep])
        r = induction(m, SymOptions(deadlock=False, only=frozenset(keep)))
        bad = {p.name for p in r.properties if p.kind == "invariant" and p.status != PROVED and p.trace is not None}
        if not bad:
            return keep
        keep = keep - bad


def test_groupwise_houdini_finds_the_largest_inductive_subset() -> None:
    from checker.infer.groupwise import houdini
    from checker.infer.houdini import _build

    spec = spec_from_text(SPEC, "t.plug")
    texts = {f"c{i}": t for i, t in enumerate(candidates(spec, build_model(spec)))}
    for cfg in (None, "wide"):
        model = _build(spec, dict(texts), cfg, {})
        every = set(texts) | {"total_ok"}
        got, queries, stopped = houdini(model, every, None)
        assert not stopped and got == _naive_houdini(model, every)
        assert queries > 0
        assert "total_ok" in got
        # once a must-keep invariant is dropped it stops there, with that one gone
        gone = min(every - got)
        part, _, stopped = houdini(model, every, None, must=frozenset({gone}))
        assert not stopped and gone not in part and part >= got


# `quiet` is inductive alone, but `dec` fails (m below 0) in a state with m < n and `inc`
# (m above 4) in one with m > n: range needs both orderings of n and m.
COUNTERS = """
protocol toy
var n : 0 .. 4 = 0
var m : 0 .. 4 = 0
var busy : bool = false
action inc when n < 4 { n := n + 1  m := m + 1 }
action dec when n > 0 { n := n - 1  m := m - 1 }
action flip { busy := not busy }
invariant quiet: busy or not busy
"""


def test_infer_keeps_the_candidates_range_needs() -> None:
    alone = induction(build_model(spec_from_text(COUNTERS, "c.plug")), SymOptions())
    assert {p.name: p.status for p in alone.properties}["range"] == INCONCLUSIVE
    got = infer(spec_from_text(COUNTERS, "c.plug"), None, None, {})
    assert [got.texts[n] for n in got.kept] == ["n <= m", "m <= n"] and got.proved_all
    res = induction(build_model(spec_from_text(COUNTERS + got.spec_text(), "c.plug")), SymOptions())
    assert {p.status for p in res.properties if p.kind in ("invariant", "range")} == {PROVED}


# `sub` takes what `pick` measured: `left - take` stays in range only because `take <=
# left` while the step waits, which is false once it has subtracted (at IDLE `take` may
# exceed `left`): an ordering of counters under a program-counter state.
TAKE = """
protocol take
enum Pc { IDLE, TAKE }
var pc : Pc = IDLE
var left : 0 .. 4 = 4
var take : 0 .. 2 = 0
action pick when pc == IDLE and left > 0 { take := min(left, 2); pc := TAKE }
action sub when pc == TAKE { left := left - take; pc := IDLE }
action refill when pc == IDLE and left == 0 { left := 4 }
invariant two_states: pc == IDLE or pc == TAKE
"""


def test_infer_orders_counters_under_a_program_counter_state_for_range() -> None:
    alone = induction(build_model(spec_from_text(TAKE, "t.plug")), SymOptions())
    assert {p.name: p.status for p in alone.properties}["range"] == INCONCLUSIVE
    got = infer(spec_from_text(TAKE, "t.plug"), None, None, {})
    assert "take <= left" not in got.texts.values()  # false at IDLE: the explicit search dropped it
    assert got.spec_text().splitlines()[-1].endswith(": pc == TAKE implies take <= left")
    res = induction(build_model(spec_from_text(TAKE + got.spec_text(), "t.plug")), SymOptions())
    assert {p.name: p.status for p in res.properties}["range"] == PROVED


@pytest.mark.slow
def test_the_2020_spec_is_proved_at_linux_with_inferred_auxiliaries_only() -> None:
    """The 2020 spec without its hand-written `aux_*` invariants: `infer` finds auxiliaries
    that make every invariant and range inductive at `linux` (about 2 minutes)."""
    from dataclasses import replace

    from checker.infer.houdini import with_candidates
    from model import load_spec
    from model import syntax as S

    spec = load_spec(Path(__file__).resolve().parents[1] / "specs" / "virtio_mem_2020.plug")
    own = [d for d in spec.decls if isinstance(d, S.InvariantDecl) and d.name.startswith("aux_")]
    assert len(own) == 6
    bare = replace(spec, decls=[d for d in spec.decls if d not in own])
    got = infer(bare, "linux", None, {}, timeout=1800, jobs=2)
    assert got.proved_all and got.kept
    proof = with_candidates(bare, {n: got.texts[n] for n in got.kept})
    res = induction(build_model(proof, "linux"), SymOptions(timeout=900, jobs=2, deadlock=False))
    assert {p.status for p in res.properties if p.kind in ("invariant", "range")} == {PROVED}

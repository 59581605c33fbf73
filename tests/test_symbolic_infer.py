"""`plugcheck infer`: Houdini over template candidates finds the auxiliary invariant a proof
needs, drops the false ones, and states its candidate limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.cli import main
from checker.infer.houdini import infer
from checker.infer.templates import candidates
from checker.results import INCONCLUSIVE, PROVED
from checker.symbolic.induction import induction
from checker.symbolic.unroll import SymOptions
from model import build_model, spec_from_text

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
    got = infer(spec, None, None, {})
    kept = [got.texts[n] for n in got.kept]
    assert SUM in kept and FALSE not in kept
    assert got.originals == {"total_ok": "proved"} and got.proved_all
    # the printed text, pasted into the spec, proves it
    pasted = build_model(spec_from_text(SPEC + got.spec_text() + "\n", "t.plug"))
    res = induction(pasted, SymOptions(deadlock=False))
    assert {p.status for p in res.properties if p.kind == "invariant"} == {PROVED}


def test_cli_prints_spec_text_times_and_the_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "t.plug"
    f.write_text(SPEC)
    assert main(["infer", str(f), "--config", "wide", "--jobs", "1", "-q"]) == 0
    out = capsys.readouterr().out
    assert f"invariant aux_inferred_9: {SUM}" in out
    # `total == count(...BUSY)` holds at W = 1 (the explicit search) and is dropped by Houdini at W = 2
    assert "# explicit search at `default`: 9 candidates, 5 hold in every reached state" in out
    assert "# Houdini at `wide`: 2 induction rounds; 4 of 5 candidates in the inductive subset" in out
    assert "total == count(" not in out and "# total_ok: proved" in out
    assert main(["infer", str(f), "--limit", "3", "--jobs", "1", "-q"]) == 3
    out = capsys.readouterr().out
    assert "# 9 candidates from the templates (cut at the limit of 3)" in out
    assert "# total_ok: not proved" in out

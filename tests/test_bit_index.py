"""One rule for bit tests and indices in every backend: a bit index outside 0..width-1
(constant or dynamic, negative included) is a `range` violation in the reference semantics,
the compiled successors, the numpy kernels and the z3 encoding; an index whose every value is
outside the width is a static error (tests/test_errors.py). An array read evaluates the index, then only the chosen
option: the others' errors do not count in any backend."""

from __future__ import annotations

from typing import Any

import pytest
import z3

from checker.codegen import StepError, compile_model
from checker.native import compiler
from checker.results import HOLDS, INCONCLUSIVE, VIOLATED
from checker.search import explore
from checker.symbolic.bmc import bmc
from checker.symbolic.encode import Encoder
from checker.symbolic.env import Env
from checker.symbolic.unroll import SymOptions
from model import build_model, spec_from_text
from model import typed as T
from model.domains import BoolT, IntT
from model.ground import EvalError, Field, Select, evaluate, ground
from tests.oracle import oracle

NATIVE = pytest.param(
    "native", marks=pytest.mark.skipif(compiler() is None, reason="no C compiler: .ci/run installs gcc")
)

# the spec of the report: `m[s+1]` is bit 2 of a 2-bit bitmap in instance a(s=1)
PAST_WIDTH = """protocol bt
const S = 2
var m : bitmap(S) = {}
var x : 0 .. 1 = 0
action a(s : 0 .. S-1) when s == 1 and x == 0 and not m[s+1] { x := 1 }
invariant never: x == 0
"""

DYNAMIC = """protocol dyn
var m : bitmap(2) = {1}
var k : 0 .. 3 = 1
var y : bool = false
action up when k < 3 { k := k + 1 }
action test { y := (k - 1) in m }
action neg { y := (1 - k) in m }
invariant no_y: not y or k != 2
allow deadlock
"""


def verdicts(model: T.Model, engine: str) -> dict[str, tuple[str, int | None]]:
    """Per property: (verdict, trace length in steps) as one backend sees it."""
    if engine == "bmc":
        res = bmc(model, SymOptions(depth=3))
    else:
        res, _ = explore(model, kernel=engine)
    return {p.name: (p.status, len(p.trace.steps) - 1 if p.trace is not None else None) for p in res.properties}


@pytest.mark.parametrize("engine", ["single", "frontier", NATIVE, "bmc"])
def test_bit_past_the_width_is_a_range_violation(engine: str) -> None:
    model = build_model(spec_from_text(PAST_WIDTH, "bt.plug"))
    got = verdicts(model, engine)
    assert got["range"] == (VIOLATED, 1)
    # the guard fails instead of being false: x never becomes 1
    assert got["never"] == ((INCONCLUSIVE, None) if engine == "bmc" else (HOLDS, None))
    ref = oracle(model)
    assert (ref.range_error, ref.violated, ref.states) == (1, {}, 1)


def test_a_failing_guard_changes_nothing_in_the_trace() -> None:
    res, _ = explore(build_model(spec_from_text(PAST_WIDTH, "bt.plug")))
    tr = next(p.trace for p in res.properties if p.name == "range")
    assert tr is not None and [s.action for s in tr.steps] == [None, "a"]
    assert tr.steps[1].state == tr.steps[0].state == {"m": [], "x": 0}


@pytest.mark.parametrize("engine", ["single", "frontier", NATIVE, "bmc"])
def test_dynamic_and_negative_bit_indices(engine: str) -> None:
    model = build_model(spec_from_text(DYNAMIC, "dyn.plug"))
    got = verdicts(model, engine)
    ref = oracle(model)
    # k = 1 in the initial state: bit 0 for both; after one `up`, neg reads bit -1
    assert ref.range_error == 2 and got["range"] == (VIOLATED, 2)
    assert ref.violated == {"no_y": 2} and got["no_y"] == (VIOLATED, 2)


def chosen_only_select() -> tuple[Any, Select]:
    """A ground model and an array read `[x, 1 / x][i]`: option 1 fails where x = 0."""
    text = "protocol sel\nvar x : 0 .. 1 = any\nvar i : 0 .. 2 = any\naction a { x := x }\nallow deadlock\n"
    gm = ground(build_model(spec_from_text(text, "sel.plug")))
    x, i = Field("x", (), IntT(0, 1)), Field("i", (), IntT(0, 2))
    one_by_x = T.Bin("/", T.Lit(1, IntT(1, 1)), x, IntT(0, 1))
    return gm, Select((x, one_by_x), i, 0, IntT(0, 1))


def test_array_read_fails_only_through_the_chosen_option() -> None:
    gm, sel = chosen_only_select()
    guard = T.Bin("==", sel, T.Lit(0, IntT(0, 0)), BoolT())
    gm.instances[0] = gm.instances[0].__class__(0, "a", (), (), guard, (), "")
    comp = compile_model(gm)
    enc = Encoder(gm)
    pre = enc.state("s.")
    g, gerr = enc.ex(guard, Env(pre))
    types = {f.key: f.ty for f in gm.leaves}
    for st in gm.initial_states():
        try:
            want: object = evaluate(guard, st)
        except EvalError:
            want = "error"
        try:
            got: object = bool(comp.successors(comp.layout.pack(st)))
        except StepError:
            got = "error"
        assert got == want, st
        subst = [(pre[k], enc.const(types[k], v)) for k, v in st.items()]
        failed = gerr is not None and z3.is_true(z3.simplify(z3.substitute(gerr, *subst)))
        z3_says = "error" if failed else z3.is_true(z3.simplify(z3.substitute(g, *subst)))
        assert z3_says == want, st
    # the reference: x = 0 fails only where i picks option 1; i = 2 fails everywhere
    outcomes = set()
    for st in gm.initial_states():
        try:
            evaluate(sel, st)
            outcomes.add((st[("x", ())], st[("i", ())], "ok"))
        except EvalError:
            outcomes.add((st[("x", ())], st[("i", ())], "error"))
    assert (0, 0, "ok") in outcomes and (0, 1, "error") in outcomes and (1, 2, "error") in outcomes


WIDE_BITMAP_SMALL_INTS = """protocol wide
var x : 0 .. 1 = 0
var m : bitmap(127) = {0}
action set { m := lowbits(x) }
action test when m[x + 1] { x := 1 }
"""


def test_bitmap_width_fits_the_symbolic_integers() -> None:
    # the integers here fit in a few bits, the bit indices' bound 127 does not: no false range error
    model = build_model(spec_from_text(WIDE_BITMAP_SMALL_INTS, "wide.plug"))
    got = verdicts(model, "bmc")
    assert got["range"] == (INCONCLUSIVE, None) and got["deadlock"] == (INCONCLUSIVE, None)
    assert verdicts(model, "single")["range"] == (HOLDS, None)

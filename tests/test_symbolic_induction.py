"""Inductive-invariant checking: an inductive invariant is proved; a true but
non-inductive one gives a counterexample to induction (two states, naming the invariant
and the action) and is proved once a strengthening invariant is added; a false one is
never proved, and BMC finds its violation. ref-sbm's invariants are proved at sizes no
enumeration reaches."""

from __future__ import annotations

from pathlib import Path

from checker.results import INCONCLUSIVE, PROVED, VIOLATED, RunResult
from checker.run import Options, check_spec, plan
from checker.search import explore
from checker.symbolic.bmc import bmc
from checker.symbolic.encode import Encoder
from checker.symbolic.induction import Prover, groups, induction
from checker.symbolic.unroll import Clock, SymOptions
from model import build_model, load_spec, spec_from_text
from model.ground import ground

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / "specs" / "ref_sbm.plug"

COUNTER = """
var x : 0 .. 15
var y : 0 .. 15
action step when x < 10 { x := x + 2  y := y + 2 }
action reset { x := 0  y := 0 }
invariant even_step: y == x
{extra}
"""


def model(extra: str = "", text: str = COUNTER) -> object:
    return build_model(spec_from_text(text.replace("{extra}", extra), "counter.plug"))


def statuses(res: object) -> dict[str, str]:
    return {p.name: p.status for p in res.properties}  # type: ignore[attr-defined]


def test_inductive_invariant_is_proved() -> None:
    res = induction(model(), SymOptions())  # type: ignore[arg-type]
    assert statuses(res)["even_step"] == PROVED
    assert statuses(res)["range"] == PROVED and statuses(res)["deadlock"] == PROVED
    assert res.to_json()["properties"][0]["status"] == "proved"


def test_true_but_not_inductive_gives_cti_then_proved_with_strengthening() -> None:
    # x stays even, so x <= 10 holds; but from x == 9 (odd, allowed by the invariants) step gives 11
    weak = "invariant bounded: x <= 10"
    res = induction(model(weak), SymOptions())  # type: ignore[arg-type]
    p = next(p for p in res.properties if p.name == "bounded")
    assert p.status == INCONCLUSIVE and p.trace is not None and len(p.trace) == 1
    assert p.trace.steps[1].action == "step" and "not inductive: step breaks `bounded`" in p.message
    assert (p.trace.steps[0].state["x"], p.trace.steps[1].state["x"]) == (9, 11)
    assert statuses(res)["even_step"] == INCONCLUSIVE  # the conjunction is not inductive: no claims
    strong = weak + "\ninvariant even: x % 2 == 0"
    res = induction(model(strong), SymOptions())  # type: ignore[arg-type]
    assert statuses(res)["bounded"] == PROVED and statuses(res)["even"] == PROVED


def test_false_invariant_is_not_proved_and_bmc_finds_it() -> None:
    m = model("invariant small: x < 6")
    res = induction(m, SymOptions())  # type: ignore[arg-type]
    assert statuses(res)["small"] == INCONCLUSIVE
    b = bmc(m, SymOptions(depth=5))  # type: ignore[arg-type]
    small = next(p for p in b.properties if p.name == "small")
    assert small.status == VIOLATED and len(small.trace) == 3  # type: ignore[arg-type]


def test_initially_false_invariant_is_violated() -> None:
    res = induction(model("invariant nonzero: x > 0"), SymOptions())  # type: ignore[arg-type]
    p = next(p for p in res.properties if p.name == "nonzero")
    assert p.status == VIOLATED and p.trace is not None and len(p.trace) == 0


def test_unreachable_goal_is_violated_by_the_proof() -> None:
    res = induction(model("reachable odd: x == 3"), SymOptions())  # type: ignore[arg-type]
    assert statuses(res)["odd"] == INCONCLUSIVE  # x == 3 is consistent with y == x
    res = induction(model("invariant even: x % 2 == 0\nreachable odd: x == 3"), SymOptions())  # type: ignore[arg-type]
    assert statuses(res)["odd"] == VIOLATED


def test_runtime_error_not_excluded_is_not_proved() -> None:
    text = "var x : 0 .. 3\naction up { x := x + 1 }\ninvariant any_x: x >= 0\n"
    res = induction(build_model(spec_from_text(text, "r.plug")), SymOptions())
    assert statuses(res)["any_x"] == PROVED and statuses(res)["range"] == INCONCLUSIVE


def test_ref_sbm_proved_at_b4_s32() -> None:
    res = induction(build_model(load_spec(REF), None, {"B": 4, "S": 32}), SymOptions())
    assert [p.status for p in res.properties if p.kind == "invariant"] == [PROVED] * 4
    assert statuses(res)["range"] == PROVED and statuses(res)["deadlock"] == PROVED


def results(items: object) -> list[RunResult]:
    """The run results among what check_spec yields (notes and skips left out)."""
    return [r for r in items if isinstance(r, RunResult)]  # type: ignore[attr-defined]


def test_mutant_gives_cti_and_the_pipeline_finds_the_violation() -> None:
    path = ROOT / "tests" / "specs" / "mutants" / "no_offline_limit.plug"
    res = induction(build_model(load_spec(path), "default"), SymOptions())
    assert statuses(res)["bounded_offline"] == INCONCLUSIVE
    (out,) = results(check_spec(load_spec(path), Options(configs=["default"], engine="induction")))
    assert out.engine == "induction" and out.verdict == "inconclusive"  # type: ignore[union-attr]


def test_symbolic_config_runs_the_pipeline() -> None:
    shipped = REF.read_text()
    assert "config linux symbolic benchmark { B = 8; S = 64;" in shipped
    # the same config without `benchmark`: a plain check runs the symbolic pipeline on it
    text = shipped.replace("config linux symbolic benchmark { B = 8; S = 64;", "config linux symbolic { B = 3; S = 8;")
    spec = spec_from_text(text, str(REF))
    assert [(c, e) for c, e in plan(spec, Options()) if c == "linux"] == [("linux", "symbolic")]  # type: ignore[misc]
    (res,) = results(check_spec(spec, Options(configs=["linux"])))
    assert res.engine == "induction"  # type: ignore[union-attr]
    assert [p.status for p in res.properties if p.kind == "invariant"] == [PROVED] * 4  # type: ignore[union-attr]
    bad = text + "\ninvariant extra: requested != 3\n"
    (res,) = results(check_spec(spec_from_text(bad, str(REF)), Options(configs=["linux"], engine="symbolic")))
    extra = next(p for p in res.properties if p.name == "extra")  # type: ignore[union-attr]
    assert res.engine == "induction+bmc" and extra.status == VIOLATED and len(extra.trace) == 1  # type: ignore


def test_sbm_invariants_with_auxiliaries_are_inductive() -> None:
    """virtio_mem_sbm's safety invariants, with the auxiliary invariants the spec states for
    the proof, are inductive at B2 S2 and B3 S4: every invariant, `range` and `deadlock` are
    proved (unbounded), and dropping one auxiliary invariant leaves a counterexample to
    induction."""
    spec = load_spec(ROOT / "specs" / "virtio_mem_sbm.plug")
    for over in ({}, {"B": 3, "S": 4, "EXT": 8, "T": 2}):
        res = induction(build_model(spec, None, over), SymOptions(timeout=300))
        st = statuses(res)
        invs = [p.name for p in res.properties if p.kind in ("invariant", "range", "deadlock")]
        assert len(invs) > 40 and all(st[n] == PROVED for n in invs), {n: st[n] for n in invs if st[n] != PROVED}
    text = (ROOT / "specs" / "virtio_mem_sbm.plug").read_text()
    weak = text.replace("invariant aux_fake_offline:", "let dropped_aux_fake_offline =")
    res = induction(build_model(spec_from_text(weak, "weak.plug")), SymOptions(timeout=300))
    broken = [p for p in res.properties if p.status == INCONCLUSIVE and p.trace is not None and p.kind == "invariant"]
    assert broken and all(len(p.trace.steps) == 2 for p in broken)  # type: ignore[union-attr]


# A device with 64-subblock bitmaps over 4 blocks and a plugged-size counter: the accounting
# invariant needs popcount(a | r) == popcount(a) + popcount(r) for disjoint a and r, which
# bit-blasting cannot show at 64 bits; induction counts wide bitmaps abstractly.
WIDE = """
const B = 4
const S = 64
type Block = 0 .. B - 1
var bm : [Block] bitmap(S) = {}
var plugged : 0 .. B*S = 0
var req_mb : Block = 0
var req : bitmap(S) = {}
action choose(b : Block, n : 1 .. S) when req == {} { req_mb := b  req := lowbits(n) }
action plug when req != {} and req & bm[req_mb] == {} {
  bm[req_mb] := bm[req_mb] | req  plugged := {gain}  req := {}
}
action unplug when req != {} and req subseteq bm[req_mb] {
  bm[req_mb] := bm[req_mb] & ~req  plugged := plugged - popcount(req)  req := {}
}
action unplug_all when req == {} { for b : Block { bm[b] := {} }  plugged := 0 }
invariant accounting: plugged == sum(b : Block. popcount(bm[b]))
"""


def test_accounting_over_64_bit_bitmaps_is_proved() -> None:
    text = WIDE.replace("{gain}", "plugged + popcount(req)")
    res = induction(build_model(spec_from_text(text, "wide.plug")), SymOptions(timeout=120))
    assert statuses(res)["accounting"] == PROVED
    assert statuses(res)["range"] == PROVED


def test_wrong_count_over_64_bit_bitmaps_gives_a_real_cti() -> None:
    # plugging counts one subblock too many once the block already has some plugged
    text = WIDE.replace("{gain}", "plugged + popcount(req) + (if bm[req_mb] != {} then 1 else 0)")
    res = induction(build_model(spec_from_text(text, "wide.plug")), SymOptions(timeout=120))
    p = next(p for p in res.properties if p.name == "accounting")
    assert p.status == INCONCLUSIVE and p.trace is not None and p.trace.steps[1].action == "plug"
    pre, post = p.trace.steps[0].state, p.trace.steps[1].state
    # the counterexample is concrete: its counts are the real popcounts of its bitmaps
    assert pre["plugged"] == sum(len(bits) for bits in pre["bm"])
    assert post["plugged"] == sum(len(bits) for bits in post["bm"]) + 1


def test_a_run_cut_short_says_where_and_how_far(monkeypatch: object) -> None:
    from checker.symbolic import induction as ind

    real = ind.Prover.step
    calls = []

    def step(self: object, insts: list) -> object:
        calls.append(insts[0].action)
        if len(calls) == 3:
            raise ind.Unknown("timeout")
        return real(self, insts)  # type: ignore[arg-type]

    monkeypatch.setattr(ind.Prover, "step", step)  # type: ignore[attr-defined]
    text = WIDE.replace("{gain}", "plugged + popcount(req)")
    res = induction(build_model(spec_from_text(text, "wide.plug")), SymOptions(timeout=120))
    p = next(p for p in res.properties if p.name == "accounting")
    assert calls == ["choose", "plug", "unplug"] and p.status == INCONCLUSIVE
    want = "no proof: z3 gave up: timeout at action `unplug` (2 of 4 instance groups preserve every invariant)"
    assert p.message == want


STACK = """
const W = 48
var m : bitmap(W)
action push when m != lowbits(W) { m[lowest(~m)] := true }
action pop when m != {} { m[highest(m)] := false }
invariant dense: m == lowbits(lowest(~m))
invariant top: highest(m) == lowest(~m) - 1
{extra}
"""


def test_lowest_and_highest_over_48_bits_are_proved() -> None:
    # push fills the lowest free bit, pop clears the highest set one: m stays a low mask
    res = induction(model(text=STACK), SymOptions())  # type: ignore[arg-type]
    assert statuses(res) == {"dense": PROVED, "top": PROVED, "range": PROVED, "deadlock": PROVED}


def test_lowest_and_highest_agree_with_explicit_search_on_a_violation() -> None:
    text = STACK.replace("{extra}", "invariant short: highest(m) < 9")
    m = build_model(spec_from_text(text, "s.plug"), None, {"W": 12})
    ex, _ = explore(m)
    sym = bmc(m, SymOptions(depth=12))
    (e,) = [p for p in ex.properties if p.name == "short"]
    (s,) = [p for p in sym.properties if p.name == "short"]
    assert e.status == s.status == VIOLATED
    assert len(e.trace) == len(s.trace) == 10  # type: ignore[arg-type]
    assert s.trace.steps[-1].state["m"] == e.trace.steps[-1].state["m"]  # type: ignore[union-attr]


def test_sbm_subblock_run_steps_are_proved_at_linux() -> None:
    # the steps that pick a subblock run (lowest/highest over 64-bit bitmaps) preserve every
    # invariant at the real geometry; the whole proof (~13 min) is a benchmark, see specs/README
    gm = ground(build_model(load_spec(ROOT / "specs" / "virtio_mem_sbm.plug"), "linux", {}))
    enc = Encoder(gm)
    prover = Prover(enc, Clock(120))
    picked = [g for g in groups(gm, enc) if g[0].action in ("plug_part", "uo_send", "cleanup")]
    assert sorted(g[0].action for g in picked) == ["cleanup", "plug_part", "uo_send"]
    for grp in picked:
        assert prover.step(grp) is None, grp[0].action


def test_progress_names_each_action_group_then_range_and_deadlock() -> None:
    notes: list[str] = []
    res = induction(model(), SymOptions(progress=lambda p: notes.append(p.note)))  # type: ignore[arg-type]
    assert statuses(res)["even_step"] == PROVED
    assert notes == [
        "induction: action `step`, 0 of 2 instance groups proved",
        "induction: action `reset`, 1 of 2 instance groups proved",
        "induction: all 2 instance groups proved; range and deadlock",
        "induction: range, action `step`",
    ]


# 32 instances of `inc` that could overflow `a[i]`; only the invariant excludes it, except at
# index BAD, where the invariant and the guard allow a[i] == 3 and the step then fails
MANY = """
const BAD = 40
type I = 0 .. 31
var a : [I] 0 .. 3
let cap(i : I) = if i == BAD then 3 else 2
action inc(i : I) when a[i] <= cap(i) { a[i] := a[i] + 1 }
action reset(i : I) { a[i] := 0 }
invariant low: forall i : I. a[i] <= cap(i)
"""


def _range_prover(bad: int) -> Prover:
    gm = ground(build_model(spec_from_text(MANY, "many.plug"), None, {"BAD": bad}))
    return Prover(Encoder(gm), Clock(60))


def test_range_asks_one_query_per_instance_group() -> None:
    """An action's instances are asked about together: a handful of queries, not one (and its
    refinements) per instance."""
    prover = _range_prover(40)
    assert prover.range_free() is None
    assert prover.queries <= 4, prover.queries


def test_range_finds_the_failing_instance_together_and_one_by_one(monkeypatch: object) -> None:
    import checker.symbolic.prover as prover_mod

    for together in (prover_mod.TOGETHER, 1):  # 1 resource unit: the group query gives up, then one by one
        monkeypatch.setattr(prover_mod, "TOGETHER", together)  # type: ignore[attr-defined]
        prover = _range_prover(17)
        lm = prover.range_free()
        assert lm is not None and lm[("a", (17,))] == 3, together


PARKED = """
var a : 0 .. 3 = 0
var b : 0 .. 3 = 0
var c : 0 .. 3 = 0
var n : 0 .. 7 = 0
action tick when a == 0 and b == 0 and c == 0 { n := (n + 1) % 8 }
invariant parked_a: a == 0
invariant parked_b: b == 0
invariant parked_c: c == 0
"""


def test_deadlock_assumes_every_invariant_from_its_first_query() -> None:
    """A deadlocked state breaks some invariant; refined one counterexample at a time, the
    query would assume them as states broke them (up to one query each): every one is assumed
    at once, so a deadlock the invariants exclude takes one query."""
    gm = ground(build_model(spec_from_text(PARKED, "parked.plug")))
    prover = Prover(Encoder(gm), Clock(60))
    assert prover.deadlock_free() is None
    assert prover.queries == 1
    res = induction(
        build_model(spec_from_text(PARKED.replace("invariant parked_c: c == 0", ""), "p.plug")), SymOptions()
    )
    assert statuses(res)["deadlock"] == INCONCLUSIVE  # without `parked_c`, c != 0 deadlocks (unreachably)


COPY = """
var x : 0 .. 3 = 0
var y : 0 .. 3 = 0
action copy { x := y }
invariant x_zero: x == 0
invariant y_zero: y == 0
"""


def test_a_groups_query_assumes_invariants_outside_its_scope_from_the_start() -> None:
    """`copy` writes x only, so only `x_zero` is in its scope, but preserving it needs
    `y_zero`: assumed from the first query, the group is proved in one query (refined from
    a counterexample with y != 0, it took two)."""
    gm = ground(build_model(spec_from_text(COPY, "copy.plug")))
    prover = Prover(Encoder(gm), Clock(60))
    (grp,) = groups(gm, prover.enc)
    assert prover.step(grp) is None
    assert prover.queries == 1
    res = induction(build_model(spec_from_text(COPY.replace("invariant y_zero: y == 0", ""), "c.plug")), SymOptions())
    assert statuses(res)["x_zero"] == INCONCLUSIVE  # y unconstrained: x := y breaks it from a state y != 0

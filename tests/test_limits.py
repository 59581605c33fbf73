"""Legal or merely unusual specs at the edges of the implementation: each ends with a correct
verdict or a clear error at the spec's line (exit 2), and the budgets stop grounding and
compiling (exit 3), never a traceback or a hang."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from checker import codegen
from checker.cli import main
from checker.search import Budget, explore
from checker.stops import StopKind
from checker.symbolic.induction import induction
from checker.symbolic.unroll import SymOptions
from model import SpecError, build_model, load_spec, spec_from_text
from model.budget import Stopped, time_budget
from model.errors import Span
from model.ground import ground
from model.parse import MAX_NESTING

ROOT = Path(__file__).resolve().parent.parent
HEAD = "protocol p\nvar x : 0 .. 3 = 0\nvar b : bool\n"  # three lines; cases start on line 4


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, *args: str) -> tuple[int, str]:
    p = tmp_path / "case.plug"
    p.write_text(text)
    code = main(["check", str(p), *args])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out + out.err


def error_at(text: str) -> SpecError:
    with pytest.raises(SpecError) as ei:
        ground(build_model(spec_from_text(text, "case.plug")))
    return ei.value


# ---- shapes that used to crash the code generator or the checker


def test_a_spec_without_actions_deadlocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(tmp_path, capsys, HEAD + "invariant i: x == 0\n")
    assert code == 1 and "a reachable state has no enabled action" in out
    assert check(tmp_path, capsys, HEAD + "allow deadlock\n", "-q")[0] == 0


def test_a_state_over_fourteen_thousand_bits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = HEAD + "var m : [0 .. 3] bitmap(4096) = {}\naction a { m[3][4095] := true }\ninvariant i: not m[3][4095]\n"
    code, out = check(tmp_path, capsys, text)
    assert code == 1 and "invariant `i` is violated" in out
    res, _ = explore(build_model(spec_from_text(text, "big.plug")))
    assert res.states == 2


@pytest.mark.parametrize("n", [20, 100, 1000])
def test_writes_through_a_variable_index(n: int) -> None:
    # the index runs one past the end: a range error after n + 1 steps, found by both engines
    text = (
        f"protocol p\nvar a : [0 .. {n - 1}] bool\nvar i : 0 .. {n + 5} = 0\n"
        f"action w when i <= {n} {{ a[i] := not a[i]; i := i + 1 }}\nallow deadlock\n"
    )
    model = build_model(spec_from_text(text, "arr.plug"))
    res, _ = explore(model)
    (rng,) = [p for p in res.properties if p.kind == "range"]
    assert rng.status == "violated" and rng.trace is not None and len(rng.trace) == n + 1
    assert f"index {n}" in rng.message or "out of 0.." in rng.message
    if n <= 100:
        from checker.symbolic.bmc import bmc

        sym = bmc(model, SymOptions(depth=n + 1))
        (srng,) = [p for p in sym.properties if p.kind == "range"]
        assert srng.status == "violated" and srng.trace is not None and len(srng.trace) == n + 1


@pytest.mark.parametrize("op,terms", [("-", 250), ("+", 330), ("-", 3000)])
def test_long_arithmetic_chains_keep_their_value(op: str, terms: int) -> None:
    nums = [(k * 7919) % 13 + 1 for k in range(terms)]
    text = HEAD + "const K = " + f" {op} ".join(map(str, nums)) + "\naction a { x := 0 }\n"
    want = nums[0]
    for v in nums[1:]:
        want = want - v if op == "-" else want + v
    assert build_model(spec_from_text(text, "chain.plug")).consts["K"] == want


def test_mixed_chains_and_conjunctions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    signs = "".join(" + 3" if k % 3 else " - 2" for k in range(500))
    assert build_model(spec_from_text(HEAD + f"const K = 1{signs}\n", "c.plug")).consts["K"] == eval(f"1{signs}")
    conj = " and ".join(["x < 3"] * 330 + ["b"])
    code, out = check(tmp_path, capsys, HEAD + f"action a {{ b := true }}\ninvariant i: not ({conj})\n", "-q")
    assert code == 1  # b becomes true with x == 0: the conjunction holds, the invariant breaks


def test_nesting_past_the_limit_is_an_error_at_its_line() -> None:
    body = "x := 1"
    for _ in range(244):
        body = f"if x == 0 {{\n{body}\n}}"
    err = error_at(HEAD + f"action a {{\n{body}\n}}\n")
    assert err.span.line == 4 + MAX_NESTING - 1
    assert err.message.startswith(f"this is nested more than {MAX_NESTING} levels deep")


def test_nesting_just_under_the_limit_checks_in_every_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    e = "x"
    for _ in range((MAX_NESTING - 8) // 2):  # two levels each: the `if` and the `-`
        e = f"if b then x - ({e}) else 0"
    text = HEAD + f"action a {{ b := not b; x := ({e}) % 4 }}\ninvariant i: x == 0\n"
    for engine in ("explicit", "bmc", "induction"):
        code, _ = check(tmp_path, capsys, text, "-q", "--engine", engine, "--depth", "2")
        assert code in (0, 3), engine  # x stays 0: holds (BMC: bounded, inconclusive)


def test_lets_nested_past_the_limit_once_inlined() -> None:
    lets = "let l0 = x\n" + "".join(f"let l{i} = l{i - 1} + 1\n" for i in range(1, 80))
    err = error_at(HEAD + lets + "action a when l79 > 0 { x := 0 }\n")
    assert "once the lets it uses are inlined" in err.message and err.span.line > 4


def test_a_number_of_4301_digits() -> None:
    err = error_at(HEAD + "const K = " + "9" * 4301 + "\n")
    assert (err.span.line, err.span.column) == (4, 11)
    assert err.message == "the number 9999999999...(4301 digits) is too large (at most 4611686018427387903)"


def test_a_constant_from_an_enum_member_declared_later() -> None:
    text = "protocol p\nconst K = count(v : E. v == B)\nenum E { A, B }\nvar x : 0 .. 3 = K\naction a { x := 0 }\n"
    assert build_model(spec_from_text(text, "e.plug")).consts["K"] == 1
    err = error_at("protocol p\ntype U = T\ntype T = 0 .. 3\nvar x : U\n")
    assert (err.span.line, err.message) == (2, "type `T` is used before it is defined")


# ---- extends


@pytest.mark.parametrize(
    "name,message",
    [("\0.plug", "a file name cannot contain a NUL character"), ("a" * 300 + ".plug", "File name too long")],
    ids=["nul", "long"],
)
def test_extends_names_the_file_system_refuses(tmp_path: Path, name: str, message: str) -> None:
    p = tmp_path / "child.plug"
    p.write_text(f'protocol p\nextends "{name}"\nvar x : bool\n')
    with pytest.raises(SpecError) as ei:
        load_spec(p)
    assert (ei.value.span.line, ei.value.span.column) == (2, 1)
    assert ei.value.message == f"cannot open the spec to extend: {message}"


def test_a_chain_of_500_extends(tmp_path: Path) -> None:
    for k in range(500):
        head = f'extends "c{k + 1}.plug"\n' if k < 499 else "var x : bool\naction flip { x := not x }\n"
        (tmp_path / f"c{k}.plug").write_text(head + f"const C{k} = {k}\n")
    model = build_model(load_spec(tmp_path / "c0.plug"))
    assert len(model.consts) == 500 and model.consts["C0"] == 0


# ---- the induction engine


LOCAL_SUM = """protocol s
var m : bitmap(4) = {}
var x : 0 .. 8 = 0
action grow(b : 0 .. 3) { m[b] := true }
action a {
  let k = popcount(m)
  x := sum(i : 0 .. 1. k)
}
invariant i: x <= 1
allow deadlock
"""


def test_a_local_let_inside_a_sum_under_induction(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    res = induction(build_model(spec_from_text(LOCAL_SUM, "s.plug")), SymOptions(timeout=60))
    (inv,) = [p for p in res.properties if p.name == "i"]
    assert inv.status == "inconclusive" and inv.trace is not None  # a counterexample to induction
    code, out = check(tmp_path, capsys, LOCAL_SUM, "--engine", "symbolic")
    assert code == 1 and "invariant `i` is violated" in out  # BMC then finds the real violation


def test_an_evaluation_error_in_a_counterexample_ends_induction_inconclusive(monkeypatch: pytest.MonkeyPatch) -> None:
    from checker.symbolic import prover as ind
    from model.ground import EvalError

    def failing(*args: object, **kw: object) -> object:
        raise EvalError("bit 7 is out of 0..3")

    monkeypatch.setattr(ind, "execute", failing)
    res = induction(build_model(spec_from_text(LOCAL_SUM, "s.plug")), SymOptions(timeout=60))
    assert res.stopped is not None and res.stopped.kind is StopKind.SOLVER
    assert str(res.stopped).startswith("z3 gave up: a fails in a state the encoding let it run in (bit 7")
    assert all(p.status == "inconclusive" for p in res.properties if p.kind == "invariant")


# ---- budgets while grounding and compiling


def doubling_lets(n: int) -> str:
    lets = "let l0 = x\n" + "".join(f"let l{i} = l{i - 1} + l{i - 1}\n" for i in range(1, n + 1))
    return HEAD + lets + f"action a when l{n} >= 0 {{ x := 0 }}\nallow deadlock\n"


def test_grounding_stops_at_the_timeout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t0 = time.perf_counter()
    code, out = check(tmp_path, capsys, doubling_lets(20), "--timeout", "1")
    assert code == 3 and "time budget 1 s reached while grounding" in out
    assert time.perf_counter() - t0 < 30


def test_lets_that_double_forty_times_are_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t0 = time.perf_counter()
    code, out = check(tmp_path, capsys, doubling_lets(40))
    assert code == 2 and ":45:15: error: `l40` expands to about 2,199,023,255,551 expression nodes" in out
    assert time.perf_counter() - t0 < 30


def test_a_million_element_array_with_variable_indices_stops_at_the_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "protocol p\nvar a : [0 .. 999] [0 .. 999] bool\nvar i : 0 .. 999 = 0\nvar j : 0 .. 999 = 0\n"
        "action w { a[i][j] := not a[i][j]; i := (i + 1) % 1000 }\nallow deadlock\n"
    )
    t0 = time.perf_counter()
    code, out = check(tmp_path, capsys, text, "--timeout", "2")
    assert code == 3 and "time budget 2 s reached while" in out
    assert time.perf_counter() - t0 < 60


def test_compiling_reads_the_clock() -> None:
    gm = ground(build_model(load_spec(ROOT / "specs" / "ref_sbm.plug")))
    with pytest.raises(Stopped) as ei, time_budget(1e-9):
        time.sleep(0.01)
        codegen.compile_model(gm)
    assert str(ei.value) == "time budget 1e-09 s reached while compiling"


def test_generated_code_over_the_limit_is_an_error_at_the_action(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codegen, "SOURCE_LIMIT", 2000)
    gm = ground(build_model(load_spec(ROOT / "specs" / "ref_sbm.plug")))
    with pytest.raises(SpecError) as ei:
        codegen.compile_model(gm)
    assert ei.value.message.startswith("action `") and "too large to compile" in ei.value.message
    assert ei.value.span != Span("<builtin>", 0, 0) and ei.value.span.line > 0


def test_units_compiled_apart_give_the_same_search(monkeypatch: pytest.MonkeyPatch) -> None:
    model = build_model(load_spec(ROOT / "specs" / "ref_sbm.plug"))
    whole, _ = explore(model, Budget(), kernel="single")
    monkeypatch.setattr(codegen, "UNIT_LINES", 30)
    split, ex = explore(model, Budget(), kernel="single")
    assert ex.compiled.source.count("def _successors") > 3
    assert (split.states, split.transitions) == (whole.states, whole.transitions)
    assert [(p.name, p.status) for p in split.properties] == [(p.name, p.status) for p in whole.properties]


def test_parse_only_grounds_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    t0 = time.perf_counter()
    code = main(["check", str(ROOT / "specs" / "bugs" / "L2.plug"), "--parse-only", "-D", "B=4096"])
    out = capsys.readouterr().out
    assert code == 0 and "20517 action instances" in out
    assert time.perf_counter() - t0 < 60

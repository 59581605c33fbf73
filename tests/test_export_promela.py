"""`plugcheck export --to promela`: SPIN, run on the exported file, stores exactly the states
plugcheck counts and finds a violation (assertion or invalid end state) exactly when plugcheck
finds one (invariant, range or deadlock), on every shipped spec and config and on random
specs; wide bitmaps, unsafe names and titles still give a valid file. The SPIN runs skip
when `spin` or `gcc` is missing (`.ci/run` installs them where it can)."""

from __future__ import annotations

import functools
import re
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings

from checker.cli import main
from checker.export import ExportError, safety_part, to_promela
from checker.export.names import comment
from checker.export.spin import hash_arg, run_spin, spin_missing
from checker.results import VIOLATED
from checker.search import Budget, explore
from model import SpecError, build_model, config_names, load_spec, spec_from_text
from model import typed as T
from tests.test_frontier import random_spec

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").rglob("*.plug"))
MAX_STATES = 250_000  # every default config (the largest, a finding, has 209,306); larger ones are the benchmark's
needs_spin = pytest.mark.skipif(spin_missing() is not None, reason=f"SPIN cross-checks: {spin_missing()}")


def _cross_check(model: T.Model, tmp: Path) -> tuple[int, int, bool]:
    """(plugcheck's states, SPIN's nominal states minus the documented extra, violated?) after
    asserting that both agree on whether a safety property is violated."""
    res, _ = explore(safety_part(model), Budget(max_states=MAX_STATES))
    if res.stopped:
        pytest.skip(f"over {MAX_STATES:,} states: tests/bench/spec_vs_spin.py compares it")
    bad = [p for p in res.properties if p.kind in ("invariant", "range", "deadlock") and p.status == VIOLATED]
    ex = to_promela(model)
    run = run_spin(ex.text, tmp, ("-O0",), ex.vectorsz, ("-c0", hash_arg(res.states)), timeout=60)
    assert (run.errors > 0) == bool(bad), (bad, run.output[-1500:])
    kinds = {p.kind for p in bad}
    if bad:
        assert run.assertion or run.invalid_end
        if "invariant" in kinds or "range" in kinds:
            assert run.assertion, run.output[-1500:]
    if "range" not in kinds:  # pan stops at a range error (a d_step cannot undo its writes)
        assert run.nominal - ex.extra_states == res.states, (run.nominal, ex.extra_states, res.states)
    return res.states, run.nominal - ex.extra_states, bool(bad)


@functools.cache
def _shipped() -> list[tuple[Path, str]]:
    out = []
    for f in SPECS:
        spec = load_spec(str(f))
        for cfg in config_names(spec):
            m = build_model(spec, cfg, {})
            if not m.config.benchmark and "explicit" in m.config.engines:
                out.append((f, cfg))
    return out


@needs_spin
@pytest.mark.parametrize(("path", "config"), _shipped(), ids=lambda x: x.stem if isinstance(x, Path) else x)
def test_shipped_specs_same_states_and_verdicts(path: Path, config: str, tmp_path: Path) -> None:
    spec = load_spec(str(path))
    model = build_model(spec, config, {})
    ours, spins, violated = _cross_check(model, tmp_path)
    assert ours == spins
    # the seeded bugs and the findings violate a safety property by design; the correct specs
    # and the proposed fixes (findings/*_fixed.plug) do not
    assert violated == (path.parent.name in ("bugs", "findings") and not path.stem.endswith("_fixed"))


def test_every_shipped_spec_is_covered() -> None:
    names = {p.stem for p, _ in _shipped()}
    assert {"ref_sbm", "virtio_mem_sbm", "virtio_mem_bbm", "virtio_mem_device", "L2", "Q1"} <= names


@needs_spin
@settings(max_examples=8, deadline=timedelta(seconds=60), derandomize=True, suppress_health_check=list(HealthCheck))
@given(random_spec())
def test_random_specs_agree_with_spin(text: str) -> None:
    import tempfile

    try:
        model = build_model(spec_from_text(text, "random.plug"))
    except SpecError:
        assume(False)
    with tempfile.TemporaryDirectory() as d:
        _cross_check(model, Path(d))


WIDE = """
protocol wide "bitmaps past 64 bits"
const W = 70
var m : bitmap(W) = {}
var k : 0 .. W = 0
var side : bitmap(W) = {}
action grow when k < W { m[k] := true; k := k + 1 }
action shrink when k > 0 { m := m & ~{highest(m)}; k := k - 1 }
action mark(i : 0 .. 2) when k == 64 { side := side | {63 + i} }
invariant count: popcount(m) == k
invariant low: m == lowbits(k)
invariant first_free: lowest(~m) == k
invariant top: highest(m) == k - 1
invariant side_ok: side & ~lowbits(66) == {} and (side == {} or lowest(side) >= 63)
allow deadlock
"""


@needs_spin
def test_wide_bitmaps(tmp_path: Path) -> None:
    model = build_model(spec_from_text(WIDE, "wide.plug"))
    text = to_promela(model).text
    assert "m_w2" in text  # 70 bits: three 30-bit words
    ours, spins, violated = _cross_check(model, tmp_path / "ok")
    assert (ours, violated) == (8 * 71, False)  # k in 0..70, side any subset of {63, 64, 65}
    bad = build_model(spec_from_text(WIDE + "invariant small: popcount(m) < 65\n", "wide.plug"))
    _, _, violated = _cross_check(bad, tmp_path / "bad")
    assert violated


ARITH = """
var x : -4 .. 4 = any
var y : -3 .. 3 = any
var s : 0 .. 5 = 0
var r : -200 .. 200
action div when y != 0 { r := x / y }
action mod when y != 0 { r := x % y }
action shl when s < 5 { r := x << s; s := s + 1 }
action shr { r := x >> (s * 8) }
allow deadlock
"""


@needs_spin
def test_floor_division_and_shifts(tmp_path: Path) -> None:
    """`/` and `%` round towards minus infinity (C truncates), shifts past 31 bits are 0 or -1
    (C leaves them undefined): SPIN reaches exactly the values plugcheck does."""
    model = build_model(spec_from_text(ARITH, "arith.plug"))
    assert to_promela(model).extra_states == 1  # 63 initial states: SPIN's start state is one more
    ours, spins, violated = _cross_check(model, tmp_path / "ok")
    assert ours == spins and not violated
    zero = build_model(spec_from_text(ARITH + "action bad { r := x / y }\n", "arith.plug"))
    assert _cross_check(zero, tmp_path / "zero")[2]  # a division by zero: a range error in both


@needs_spin
def test_many_initial_states_leaf_by_leaf(tmp_path: Path) -> None:
    """8,192 initial states: chosen bit by bit; pan's BFS stores the states in between as
    atomic steps, which the nominal count leaves out."""
    text = "var m : bitmap(13) = any\nvar k : 0 .. 1\naction go when k == 0 { k := 1 }\nallow deadlock\n"
    model = build_model(spec_from_text(text, "many.plug"))
    assert "atomic {" in to_promela(model).text
    ours, spins, violated = _cross_check(model, tmp_path)
    assert ours == spins == 2 * 8192 and not violated


UNSAFE = """
protocol od "title */ #define x /* ??/ \\ caf\u00e9"
enum int { now, uchar }
var do : int = uchar
var tmp_0 : 0 .. 3 = 0
var u_do : bool
var _x : [int] 0 .. 2
action od(printf : 0 .. 1) when tmp_0 < 3 { tmp_0 := tmp_0 + 1; do := now; _x[do] := printf }
action skip when tmp_0 == 3 { u_do := not u_do }
invariant assert: tmp_0 <= 3
"""


def test_unsafe_title_and_names(tmp_path: Path) -> None:
    model = build_model(spec_from_text(UNSAFE, "unsafe*/\nname.plug"))
    text = to_promela(model).text
    assert text.isascii() and "<U+00E9>" in text
    code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # what is left outside comments: no spec text
    assert "/*" not in code and "*/" not in code and "title" not in code and "define" not in code
    assert not any(line.lstrip().startswith("#") for line in text.splitlines())
    for name in ("u_do", "u_tmp_0", "u_u_do", "u__x_now", "u__x_uchar"):
        assert re.search(rf"\b{name} = ", code), name
    if spin_missing() is None:
        ours, spins, violated = _cross_check(model, tmp_path)
        assert (spins, violated) == (ours, False)


def test_comment_escapes() -> None:
    assert comment("a */ b\nc /* \\ ??/ \u00e9") == "a * / b<U+000A>c / * <U+005C> ? ?/ <U+00E9>"


def test_beyond_32_bits_is_a_clear_error(tmp_path: Path) -> None:
    big = "var x : 0 .. 5000000000\naction up when x < 3 { x := x + 1 }\n"
    with pytest.raises(ExportError, match="32-bit"):
        to_promela(build_model(spec_from_text(big, "big.plug")))
    f = tmp_path / "big.plug"
    f.write_text("var x : 0 .. 3\naction up when x < 3 { x := x * 1000000 * 1000000 }\n")
    assert main(["export", str(f), "--to", "promela"]) == 2


def test_cli_writes_the_file_and_notes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sbm.pml"
    spec = str(ROOT / "specs" / "virtio_mem_bbm.plug")
    assert main(["export", spec, "--to", "promela", "--out", str(out), "-D", "PIN=0"]) == 0
    err = capsys.readouterr().err
    assert "fairness not exported" in err and "per process" in err and "temporal properties not exported" in err
    text = out.read_text()
    assert "PIN=0" in text and "end_deadlock_allowed: do" in text and "fairness not exported" in text
    assert main(["export", spec, "--to", "promela", "--config", "nope"]) == 2

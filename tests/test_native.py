"""The C kernels (`checker/native.py`): the same search as the numpy kernels, state for
state (numbers, parents, instances, recorded transitions), on the shipped specs, through
the visited set's edge cases, when `auto` switches to them in the middle of a search, and
without a C compiler."""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import checker.native as native
import checker.search.backends as backends
import checker.search.engine as engine
from checker.cli import main
from checker.codegen import compile_model
from checker.kernels import words
from checker.layout import Layout
from checker.native_gen import c_source
from checker.search import explore
from checker.search.backends import KernelBackend, NativeBackend, Upgrading, choose
from checker.search.budget import Budget
from checker.search.store import HASH_MUL, to_words
from model import SpecError, build_model, load_spec, spec_from_text
from model.budget import Stopped, time_budget
from model.ground import ground
from model.typed import Model

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

pytestmark = pytest.mark.skipif(native.compiler() is None, reason="no C compiler (gcc or cc): .ci/run installs gcc")


def run(model: Model, kernel: str, **kw: Any) -> tuple[Any, Any]:
    res, ex = explore(model, kernel=kernel, **kw)
    arrays = (list(ex.states), list(ex.parent), list(ex.action))
    edges = None
    if ex.edges is not None:
        edges = (ex.edges.offsets.tolist(), ex.edges.succ.tolist(), ex.edges.inst.tolist())
    verdicts = [(p.name, p.status, None if p.trace is None else len(p.trace.steps)) for p in res.properties]
    return (res.states, res.transitions, res.depth, verdicts, arrays, edges), ex


@pytest.mark.parametrize(
    "spec,config",
    [("virtio_mem_sbm", None), ("virtio_mem_2020", None), ("virtio_mem_device", None), ("virtio_mem_bbm", None)],
)
def test_shipped_specs_state_for_state(spec: str, config: str | None) -> None:
    model = build_model(load_spec(SPECS / f"{spec}.plug"), config)
    want, _ = run(model, "frontier", record_edges=True)
    got, _ = run(model, "native", record_edges=True)
    assert got == want
    assert want[0] > 10_000  # several chunks, and the visited set grows on the way


def test_state_budget_cut_state_for_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NativeBackend, "chunk", 1000)
    monkeypatch.setattr(KernelBackend, "chunk", 1000)
    model = build_model(load_spec(SPECS / "virtio_mem_sbm.plug"))
    for n in (1, 999, 5000, 20_001):
        want, _ = run(model, "frontier", budget=Budget(max_states=n))
        got, _ = run(model, "native", budget=Budget(max_states=n))
        assert got == want and want[0] >= n


# the all-ones word is the visited set's free slot: such states are kept aside (two words)
# or flagged (one word), and chunks that reach them take the numpy way
ALL_ONES = {
    "two words": """protocol ones
var m : bitmap(64) = {}
var n : bitmap(64) = {}
action fill_m { m := ~{} }
action fill_n when m == ~{} { n := ~{} }
action bit(k : 0 .. 63) when not n[k] { n[k] := true }
invariant never_full: n != ~{}
""",
    "one word": """protocol ones
var n : bitmap(64) = {}
action fill_n { n := ~{} }
action bit(k : 0 .. 63) when not n[k] { n[k] := true }
invariant never_full: n != ~{}
""",
}


@pytest.mark.parametrize("width", ["two words", "one word"])
def test_states_whose_last_word_is_all_ones(width: str) -> None:
    model = build_model(spec_from_text(ALL_ONES[width], "ones.plug"))
    want, ex = run(model, "frontier", budget=Budget(max_states=20_000))
    got, _ = run(model, "native", budget=Budget(max_states=20_000))
    assert got == want
    assert words(ex.compiled.layout) == (2 if width == "two words" else 1)
    assert ("never_full", "violated", 3 if width == "two words" else 2) in want[3]


def test_auto_switches_to_the_c_kernels_mid_search(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Upgrading, "BUILD_AFTER", 3000)
    monkeypatch.setattr(Upgrading, "chunk", 1000)
    monkeypatch.setattr(native.Build, "ready", native.Build.wait)  # the switch at the first chunk after the build
    seen: list[str] = []
    expand = Upgrading.expand

    def spy(self: Upgrading, S: np.ndarray) -> Any:
        out = expand(self, S)
        seen.append(self.current.name)
        return out

    monkeypatch.setattr(Upgrading, "expand", spy)
    model = build_model(load_spec(SPECS / "virtio_mem_sbm.plug"))
    got, _ = run(model, "auto", record_edges=True)
    want, _ = run(model, "frontier", record_edges=True)
    assert got == want
    # the compiled path until the first chunk of 128 states, then the numpy kernels, and the
    # C kernels from the first chunk after 3,000 states were expanded
    i, j = seen.index("frontier"), seen.index("native")
    assert 0 < i < j and seen == ["single"] * i + ["frontier"] * (j - i) + ["native"] * (len(seen) - j)
    assert len(seen) - j > 10


def test_without_a_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "compiler", lambda: None)
    monkeypatch.setattr(backends, "compiler", lambda: None)
    model = build_model(load_spec(SPECS / "ref_sbm.plug"))
    with pytest.raises(SpecError, match="--kernel native cannot run this model: no C compiler"):
        explore(model, kernel="native")
    gm = ground(model)
    comp = compile_model(gm)
    auto = choose(gm, comp, "auto", np.zeros(len(gm.instances), np.int64), 1)
    assert isinstance(auto, Upgrading) and auto.failed and auto.fits() and isinstance(auto.current, KernelBackend)
    assert explore(model)[0].states == 675  # auto stays on the numpy kernels


def test_no_spec_text_reaches_the_c_source() -> None:
    text = """protocol evil_name
const zzconst = 2
enum ZzEnum { zz_a, zz_b }
var zz_var : 0 .. 3 = 0
var zz_e : ZzEnum = zz_a
var zz_arr : [0 .. 2] bool = false
action zz_act(zz_p : 0 .. 1) when zz_var < 3 {
  let zz_let = zz_var + zz_p
  zz_arr[zz_let] := true
  zz_var := min(zz_let, 3)
  zz_e := zz_b
}
invariant zz_inv: zz_var <= zzconst or zz_e == zz_b
"""
    model = build_model(spec_from_text(text, "evil.plug"))
    gm = ground(model)
    lay = Layout(model)
    src = c_source(gm, lay, words(lay), int(HASH_MUL))
    assert "zz" not in src.lower()
    got = run(model, "native")[0]
    assert got == run(model, "frontier")[0]
    assert ("range", "violated", 4) in got[3]  # zz_arr[3] := true, after three steps


@pytest.mark.parametrize("why", ["gcc failed", "time budget"])
def test_a_build_that_fails_leaves_the_numpy_kernels_running(monkeypatch: pytest.MonkeyPatch, why: str) -> None:
    def refuse(*args: Any) -> None:
        if why == "gcc failed":
            raise native.NativeError("the C compiler failed (exit 1)")
        raise Stopped(1.0, "compiling")  # the run's time budget, checked while the C source is written

    monkeypatch.setattr(Upgrading, "BUILD_AFTER", 1000)
    monkeypatch.setattr(native.Build, "__init__", refuse)
    seen: list[Any] = []
    real = backends.choose

    def spy(*args: Any) -> Any:
        b = real(*args)
        seen.append(b)
        return b

    monkeypatch.setattr(engine, "choose", spy)
    model = build_model(load_spec(SPECS / "virtio_mem_sbm.plug"))
    got, _ = run(model, "auto")
    assert got == run(model, "frontier")[0]
    assert isinstance(seen[0], Upgrading) and seen[0].failed and seen[0].current is seen[0].kernels


def test_the_time_budget_ends_the_wait_for_gcc(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    slow = tmp_path / "slow-cc"
    slow.write_text("#!/bin/sh\nsleep 29.25\n")  # a child of the compiler, as gcc's cc1 is
    slow.chmod(0o755)
    monkeypatch.setattr(native, "compiler", lambda: str(slow))
    model = build_model(load_spec(SPECS / "ref_sbm.plug"))
    t = time.perf_counter()
    with time_budget(1.0), pytest.raises(Stopped, match="while building the C kernels"):
        explore(model, kernel="native")
    assert time.perf_counter() - t < 5
    gc.collect()  # the build is dropped: the compiler and what it started are killed
    assert not running("sleep\x0029.25")


def running(cmdline: str) -> bool:
    """Is a process with this command line (arguments NUL-separated) alive? (/proc: no pgrep needed)"""
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().rstrip(b"\0") == cmdline.encode():
                return True
        except OSError:
            continue
    return False


def test_the_command_line_takes_kernel_native(capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(ROOT / "specs" / "bugs" / "C1.plug")  # two words; violations with traces
    docs = []
    for kernel in ("native", "frontier"):
        code = main(["check", spec, "--kernel", kernel, "--json"])
        docs.append((code, json.loads(capsys.readouterr().out)["results"][0]))
    (code, got), (want_code, want) = docs
    assert code == want_code == 0  # the violations are the ones the spec expects
    assert got["states"] == want["states"] and got["properties"] == want["properties"]
    assert any(p["status"] == "violated" and p["trace"] for p in got["properties"])


@pytest.mark.parametrize(("spec", "config", "k"), [("ref_sbm.plug", "b3s3", 1), ("virtio_mem_sbm.plug", "default", 2)])
def test_the_partition_split_matches_the_numpy_split(spec: str, config: str, k: int) -> None:
    # the partitioned search's step in one pass of C (self-loops dropped, owners picked, the
    # own successors known here dropped) against the numpy way, chunk for chunk
    from checker.distributed.partition import Partition

    model = build_model(load_spec(SPECS / spec), config, {})
    _, ex = explore(model)
    rows = to_words([ex.states[i] for i in range(3000)], k)
    for index in range(3):
        p = Partition()
        p.load(model, "native", index, 3)
        p.seed(rows[:1000])  # known here: the first thousand states, whichever partition owns them
        nat = p.backend.native
        assert nat is not None and p.k == k
        for lo in (0, 1000, 2000):
            S = rows[lo : lo + 1000]
            exp = p.backend.expand(S)
            fast = p._split(S, exp, lo)
            p.backend.native = None  # type: ignore[misc]
            try:
                slow = p._split(S, exp, lo)
            finally:
                p.backend.native = nat  # type: ignore[misc]
            assert [r.shape[0] for r, _ in fast] == [r.shape[0] for r, _ in slow]
            for (fr, fk), (sr, sk) in zip(fast, slow, strict=True):
                assert (fr == sr).all() and (fk == sk).all()
        assert sum(r.shape[0] for r, _ in fast) > 0

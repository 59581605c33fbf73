"""Successor backends behind one chunk interface: a chunk of k-word states in, every
transition out as (source lane, instance, successor) lanes, with the lanes where an action
instance raised a runtime error. Three implementations of one semantics:

- `ReferenceBackend`: `model.ground.evaluate`/`execute` on leaf maps (the semantics the language
  defines; slow, the baseline the others are checked against);
- `CompiledBackend`: the generated Python successor function, one state at a time;
- `KernelBackend`: numpy kernels over the whole chunk; lanes where a kernel reports a possible
  runtime error are handed to `CompiledBackend`, so errors mean the same on every backend.

The search driver chooses a backend; it never knows which one runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from model.budget import Stopped
from model.errors import Span, SpecError
from model.ground import EvalError, Ground, evaluate, execute

from ..codegen import Compiled, StepError
from ..kernels import Kernels, Unsupported, compile_kernels, words
from ..native import Build, Native, NativeError, compiler
from .store import HASH_MUL, ints_of, to_words

KINDS = ("auto", "native", "frontier", "single", "reference")  # what `--kernel` accepts


@dataclass
class Expansion:
    """The transitions out of a chunk of n states, ordered by source lane."""

    src: np.ndarray  # int64: each transition's source lane
    iid: np.ndarray  # int64: its action instance
    nxt: np.ndarray  # (m, k) uint64: its successor
    enabled: np.ndarray  # bool per lane: the state has a successor
    act_counts: np.ndarray  # int64 per action: lanes where it has a successor
    range_err: tuple[int, int, str] | None  # (lane, instance, message) of the first runtime error
    err_fired: list[int]  # instances that raised a runtime error
    # every lane with a runtime error: its first failing instance and the message (the lane's
    # successors are the other instances'; a random walk ends there instead)
    errors: dict[int, tuple[int, str]] = field(default_factory=dict)
    # the transitions are in (lane, instance) order and none met an error: the backend's
    # `visit` may put them into the visited set in one pass
    ordered: bool = False


class Backend(Protocol):
    chunk: int  # lanes per call: the driver checks budgets between chunks

    @property
    def name(self) -> str:
        """The `--kernel` name of what runs (for `auto`: what ran the last large chunk)."""
        ...

    @property
    def native(self) -> Native | None:
        """The C kernels where they run: their `visit` puts ordered transitions into the
        visited set in one pass."""
        ...

    def expand(self, S: np.ndarray) -> Expansion: ...

    def violated(self, S: np.ndarray) -> list[np.ndarray]:
        """Per invariant: the lanes where it is false (or fails to evaluate)."""
        ...

    def reached(self, S: np.ndarray) -> list[np.ndarray]:
        """Per `reachable` goal: the lanes where it holds."""
        ...


def _act_counts(n: int, src: np.ndarray, act: np.ndarray, actions: int) -> np.ndarray:
    """Per action, how many of the n lanes have at least one successor through it."""
    seen = np.zeros((n, max(actions, 1)), dtype=np.bool_)
    seen[src, act] = True
    return seen.sum(axis=0)[:actions].astype(np.int64)  # type: ignore[no-any-return]


PerState = tuple[list[tuple[int, int]], tuple[int, str] | None]


class _PerState:
    """A backend that computes one state at a time over packed Python ints: `one(s)` gives
    the (instance, successor) pairs in instance order and the first (instance, message)
    that raised a runtime error."""

    name = "single"
    chunk = 1024
    native: Native | None = None

    def __init__(self, gm: Ground, comp: Compiled, act_of: np.ndarray, actions: int) -> None:
        self.gm, self.comp, self.act_of, self.actions = gm, comp, act_of, actions
        self.k = words(comp.layout)
        self.n_inv = sum(1 for p, _, _ in gm.properties if p.kind == "invariant")
        self.n_reach = sum(1 for p, _, _ in gm.properties if p.kind == "reachable")

    def one(self, s: int) -> PerState:
        return successors_and_error(self.comp, s)

    def expand(self, S: np.ndarray) -> Expansion:
        n = S.shape[0]
        src: list[int] = []
        iid: list[int] = []
        nxt: list[int] = []
        enabled = np.zeros(n, dtype=np.bool_)
        range_err: tuple[int, int, str] | None = None
        err_fired: list[int] = []
        errors: dict[int, tuple[int, str]] = {}
        for lane, s in enumerate(ints_of(S)):
            succ, err = self.one(s)
            if err is not None:
                if range_err is None:
                    range_err = (lane, err[0], err[1])
                err_fired.append(err[0])
                errors[lane] = err
            if succ:
                enabled[lane] = True
                for i, x in succ:
                    src.append(lane)
                    iid.append(i)
                    nxt.append(x)
        src_a = np.array(src, dtype=np.int64)
        iid_a = np.array(iid, dtype=np.int64)
        acts = _act_counts(n, src_a, self.act_of[iid_a], self.actions)
        return Expansion(src_a, iid_a, to_words(nxt, self.k), enabled, acts, range_err, err_fired, errors)

    def violated(self, S: np.ndarray) -> list[np.ndarray]:
        return _bits(self.comp.bad_invariants, S, self.n_inv)

    def reached(self, S: np.ndarray) -> list[np.ndarray]:
        return _bits(self.comp.reached, S, self.n_reach)


CompiledBackend = _PerState  # the generated Python successor function is the per-state default


def _bits(fn: object, S: np.ndarray, total: int) -> list[np.ndarray]:
    masks = [fn(s) for s in ints_of(S)]  # type: ignore[operator]
    return [np.array([m >> j & 1 for m in masks], dtype=np.bool_) for j in range(total)]


class ReferenceBackend(_PerState):
    """The language's reference semantics (no generated code): the slow, simple baseline."""

    name = "reference"
    chunk = 256

    def __init__(self, gm: Ground, comp: Compiled, act_of: np.ndarray, actions: int) -> None:
        super().__init__(gm, comp, act_of, actions)
        self.lay = comp.layout
        self.invs = [g for p, g, _ in gm.properties if p.kind == "invariant"]
        self.goals = [g for p, g, _ in gm.properties if p.kind == "reachable"]

    def one(self, s: int) -> PerState:
        st = self.lay.unpack(s)
        out: list[tuple[int, int]] = []
        err: tuple[int, str] | None = None
        for inst in self.gm.instances:
            try:
                if not evaluate(inst.guard, st):
                    continue
                out.append((inst.id, self.lay.pack(execute(inst, st, check_ranges=True))))
            except EvalError as exc:
                if err is None:
                    err = (inst.id, str(exc))
        return out, err

    def _values(self, S: np.ndarray, exprs: list[object], want: bool) -> list[np.ndarray]:
        states = [self.lay.unpack(s) for s in ints_of(S)]
        return [np.array([_holds(g, st) == want for st in states], dtype=np.bool_) for g in exprs]

    def violated(self, S: np.ndarray) -> list[np.ndarray]:
        return self._values(S, self.invs, False)

    def reached(self, S: np.ndarray) -> list[np.ndarray]:
        return self._values(S, self.goals, True)


def _holds(g: object, st: dict[tuple[str, tuple[int, ...]], object]) -> bool:
    """An invariant that fails to evaluate is violated; a goal that fails is not reached."""
    try:
        return bool(evaluate(g, st))  # type: ignore[arg-type]
    except EvalError:
        return False


def _with_exact(
    S: np.ndarray,
    src: np.ndarray,
    iid: np.ndarray,
    nxt: np.ndarray,
    acts: np.ndarray,
    lane_err: np.ndarray,
    exact: _PerState,
) -> Expansion:
    """A fast backend's transitions (of the lanes without an error) completed by the exact
    path on the lanes where an error could occur: the errors then mean what they mean on
    every backend."""
    n = S.shape[0]
    enabled = np.zeros(n, dtype=np.bool_)
    enabled[src] = True
    if not lane_err.any():
        return Expansion(src, iid, nxt, enabled, acts, None, [])
    bad = np.flatnonzero(lane_err)
    fb = exact.expand(S[bad])
    enabled[bad[fb.enabled]] = True
    range_err = None
    if fb.range_err is not None:
        lane, i, msg = fb.range_err
        range_err = (int(bad[lane]), i, msg)
    errors = {int(bad[lane]): e for lane, e in fb.errors.items()}
    return Expansion(
        np.concatenate([src, bad[fb.src]]),
        np.concatenate([iid, fb.iid]),
        np.concatenate([nxt, fb.nxt]),
        enabled,
        acts + fb.act_counts,
        range_err,
        fb.err_fired,
        errors,
    )


def _fix_lanes(
    hits: list[np.ndarray], lane_err: np.ndarray, S: np.ndarray, exact: Callable[[np.ndarray], list[np.ndarray]]
) -> list[np.ndarray]:
    """Property masks with the lanes where an error could occur decided by the exact path."""
    if lane_err.any():
        bad = np.flatnonzero(lane_err)
        for h, f in zip(hits, exact(S[bad]), strict=True):
            h[bad] = f
    return hits


class KernelBackend:
    """numpy kernels over a whole chunk; error lanes go to the compiled path."""

    name = "frontier"
    # big enough to amortise numpy; a chunk's successors fit a core's L2 cache (2^15: 9% slower on ref_sbm b3s4)
    chunk = 1 << 14
    native: Native | None = None

    def __init__(self, kern: Kernels, exact: _PerState) -> None:
        self.kern, self.exact = kern, exact

    def expand(self, S: np.ndarray) -> Expansion:
        lane_err, _, act_en, outs = self.kern.successors(S)
        keep = ~lane_err
        clean = not lane_err.any()
        srcs = [o[1] if clean else o[1][keep[o[1]]] for o in outs]
        nxts = [o[2] if clean else o[2][keep[o[1]]] for o in outs]
        acts = np.array([int(np.count_nonzero(m if clean else m & keep)) for m in act_en], dtype=np.int64)
        iid = np.repeat(np.array([o[0] for o in outs], dtype=np.int64), [x.shape[0] for x in srcs])
        src = np.concatenate(srcs) if srcs else np.zeros(0, np.int64)
        nxt = np.concatenate(nxts) if nxts else np.zeros((0, S.shape[1]), np.uint64)
        return _with_exact(S, src, iid, nxt, acts, lane_err, self.exact)

    def _props(self, S: np.ndarray, kernel: object, negate: bool) -> list[np.ndarray]:
        lane_err, vals = kernel(S)  # type: ignore[operator]
        hits = [np.logical_not(v) if negate else v.copy() for v in vals]
        return _fix_lanes(hits, lane_err, S, self.exact.violated if negate else self.exact.reached)

    def violated(self, S: np.ndarray) -> list[np.ndarray]:
        return self._props(S, self.kern.invariants, True)

    def reached(self, S: np.ndarray) -> list[np.ndarray]:
        return self._props(S, self.kern.reached, False)


class NativeBackend:
    """The model's C kernels (`checker/native.py`) over a whole chunk; error lanes go to the
    compiled path, as the numpy kernels' do."""

    name = "native"
    chunk = 1 << 14

    def __init__(self, native: Native, exact: _PerState) -> None:
        self.native, self.exact = native, exact

    def expand(self, S: np.ndarray) -> Expansion:
        src, iid, nxt, lane_err, acts = self.native.expand(S)
        exp = _with_exact(S, src, iid, nxt, acts, lane_err, self.exact)
        exp.ordered = not lane_err.any()
        return exp

    def violated(self, S: np.ndarray) -> list[np.ndarray]:
        val, lane_err = self.native.invariants(S)
        return _fix_lanes(list(~val), lane_err, S, self.exact.violated)

    def reached(self, S: np.ndarray) -> list[np.ndarray]:
        val, lane_err = self.native.reached(S)
        return _fix_lanes(list(val.copy()), lane_err, S, self.exact.reached)


class Upgrading:
    """`--kernel auto`: per chunk, the backend that runs it cheapest; they all give the same
    transitions, so which one ran changes nothing but the speed.

    - A chunk of fewer than SMALL lanes runs on the compiled path one state at a time: a
      numpy kernel call costs about a millisecond whatever its size, more than 128 states
      cost one at a time (the first and last levels of a search, every level of a small one).
    - The numpy kernels are compiled at the first larger chunk, so a search that never has
      one never pays their 60 ms; a model they cannot run stays on the compiled path.
    - The C kernels are built beside the search once it has expanded BUILD_AFTER lanes
      (when a C compiler is there), then run every chunk; each chunk checks whether they
      are done."""

    chunk = KernelBackend.chunk
    BUILD_AFTER = 1 << 17
    SMALL = 128

    def __init__(self, exact: _PerState, gm: Ground, comp: Compiled, build: bool = True) -> None:
        self.exact, self.gm, self.comp = exact, gm, comp
        self.kernels: KernelBackend | None = None
        self.current: _PerState | KernelBackend | NativeBackend = exact  # what runs a large chunk
        self.unfit = False  # True once the numpy kernels said they cannot run the model
        self.lanes = 0
        self.build: Build | None = None
        self.failed = not build  # True: the C kernels are not (or no longer) tried

    @property
    def name(self) -> str:
        return self.current.name

    def _large(self) -> _PerState | KernelBackend | NativeBackend:
        if self.kernels is None and not self.unfit:
            kern = kernels_for(self.gm, self.comp)
            if kern is None:
                # the compiled path runs everything; no C kernels either: they rely on the
                # numpy kernels' value ranges
                self.unfit = self.failed = True
            else:
                self.kernels = self.current = KernelBackend(kern, self.exact)
        return self.current

    def fits(self) -> bool:
        """Do kernels (numpy, later C) run the large chunks? Compiles the numpy kernels now
        if no chunk has needed them yet."""
        return self._large() is not self.exact

    def _pick(self, n: int) -> _PerState | KernelBackend | NativeBackend:
        if self.current.native is None and n < self.SMALL:
            return self.exact
        return self._large()

    def _step(self, n: int) -> None:
        self.lanes += n
        if self.current is not self.kernels or self.failed:
            return
        try:
            if self.build is None:
                if self.lanes >= self.BUILD_AFTER:
                    self.build = Build(self.gm, self.comp.layout, words(self.comp.layout), int(HASH_MUL))
                return
            native = self.build.ready()
        except (NativeError, Unsupported, OSError, Stopped):
            # the numpy kernels go on: the same transitions, slower (a time budget that ran out
            # while the C source was written ends the search at the driver's next clock check)
            self.failed = True
            return
        if native is not None:
            self.current = NativeBackend(native, self.exact)

    def expand(self, S: np.ndarray) -> Expansion:
        backend = self._pick(S.shape[0])
        self._step(S.shape[0])
        return backend.expand(S)

    @property
    def native(self) -> Native | None:
        return self.current.native

    def violated(self, S: np.ndarray) -> list[np.ndarray]:
        return self._pick(S.shape[0]).violated(S)

    def reached(self, S: np.ndarray) -> list[np.ndarray]:
        return self._pick(S.shape[0]).reached(S)


def successors_and_error(comp: Compiled, s: int) -> PerState:
    """A state's successors as every search sees them, through the compiled function: an
    instance with a runtime error is left out (reported once, as the first error)."""
    try:
        return comp.successors(s), None
    except StepError as exc:
        return successors_skipping(comp, s, exc.iid), (exc.iid, exc.message)


def successors(comp: Compiled, s: int) -> list[tuple[int, int]]:
    return successors_and_error(comp, s)[0]


def successors_skipping(comp: Compiled, s: int, bad: int) -> list[tuple[int, int]]:
    """Successors of a state where instance `bad` fails: the others still count (the failure
    is reported once as a range violation). Instance by instance through the reference
    semantics, for the failing state only."""
    lay = comp.layout
    st = lay.unpack(s)
    out = []
    for inst in comp.ground.instances:
        if inst.id == bad:
            continue
        try:
            if not evaluate(inst.guard, st):
                continue
            out.append((inst.id, lay.pack(execute(inst, st, check_ranges=True))))
        except EvalError:
            continue
    return out


def kernels_for(gm: Ground, comp: Compiled, forced: str | None = None) -> Kernels | None:
    """The numpy kernels for a model, or None when a per-state backend must run it (or, when
    `forced` names the `--kernel` that needs them, an error)."""
    try:
        return compile_kernels(gm, comp.layout)
    except Unsupported as exc:
        if forced:
            msg = f"--kernel {forced} cannot run this model: {exc} (use --kernel single or auto)"
            raise SpecError(msg, Span(gm.model.path, 0, 0)) from None
        return None


def native_for(gm: Ground, comp: Compiled, exact: _PerState) -> NativeBackend:
    """The C kernels, built now (`--kernel native`), or a SpecError that says why not. The
    model must fit the numpy kernels first: the C code relies on their value ranges."""
    kernels_for(gm, comp, forced="native")
    try:
        native = Build(gm, comp.layout, words(comp.layout), int(HASH_MUL)).wait()
    except (Unsupported, NativeError, OSError) as exc:
        raise SpecError(
            f"--kernel native cannot run this model: {exc} (use --kernel auto)", Span(gm.model.path, 0, 0)
        ) from None
    return NativeBackend(native, exact)


def choose(gm: Ground, comp: Compiled, kind: str, act_of: np.ndarray, actions: int) -> Backend:
    """`kind`: "native" (C kernels, or an error), "frontier" (numpy kernels, or an error),
    "single" (compiled, one state at a time), "reference" (the reference semantics), "auto"
    (`Upgrading`: the compiled path for small chunks, numpy kernels for larger ones where the
    model fits them, C kernels once the search is big enough and a C compiler is there)."""
    exact = CompiledBackend(gm, comp, act_of, actions)
    if kind == "reference":
        return ReferenceBackend(gm, comp, act_of, actions)
    if kind == "single":
        return exact
    if kind == "native":
        return native_for(gm, comp, exact)
    if kind == "auto":
        return Upgrading(exact, gm, comp, build=compiler() is not None)
    kern = kernels_for(gm, comp, forced="frontier")
    assert kern is not None  # a model they cannot run is a SpecError when they are forced
    return KernelBackend(kern, exact)

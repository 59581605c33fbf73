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

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from model.errors import Span, SpecError
from model.ground import EvalError, Ground, evaluate, execute

from ..codegen import Compiled, StepError
from ..kernels import Kernels, Unsupported, compile_kernels, words
from .store import ints_of, to_words

KINDS = ("auto", "frontier", "single", "reference")  # what `--kernel` accepts


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


class Backend(Protocol):
    name: str
    chunk: int  # lanes per call: the driver checks budgets between chunks

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


class KernelBackend:
    """numpy kernels over a whole chunk; error lanes go to the compiled path."""

    name = "frontier"
    # big enough to amortise numpy; a chunk's successors fit a core's L2 cache (2^15: 9% slower on ref_sbm b3s4)
    chunk = 1 << 14

    def __init__(self, kern: Kernels, exact: _PerState) -> None:
        self.kern, self.exact = kern, exact

    def expand(self, S: np.ndarray) -> Expansion:
        lane_err, any_en, act_en, outs = self.kern.successors(S)
        srcs = [o[1] for o in outs]
        iids = [o[0] for o in outs]
        nxts = [o[2] for o in outs]
        enabled = any_en
        acts = np.array([int(np.count_nonzero(m)) for m in act_en], dtype=np.int64)
        range_err = None
        err_fired: list[int] = []
        errors: dict[int, tuple[int, str]] = {}
        if lane_err.any():
            bad = np.flatnonzero(lane_err)
            keep_lane = ~lane_err
            ks = [keep_lane[s] for s in srcs]
            srcs, nxts = [s[k] for s, k in zip(srcs, ks, strict=True)], [x[k] for x, k in zip(nxts, ks, strict=True)]
            acts = np.array([int(np.count_nonzero(m & keep_lane)) for m in act_en], dtype=np.int64)
            fb = self.exact.expand(S[bad])
            srcs.append(bad[fb.src])
            nxts.append(fb.nxt)
            enabled = (any_en & keep_lane) | np.isin(np.arange(S.shape[0]), bad[fb.enabled])
            acts = acts + fb.act_counts
            if fb.range_err is not None:
                lane, i, msg = fb.range_err
                range_err = (int(bad[lane]), i, msg)
            err_fired = fb.err_fired
            errors = {int(bad[lane]): e for lane, e in fb.errors.items()}
            counts = [x.shape[0] for x in nxts[:-1]]
            iid = np.concatenate([np.repeat(np.array(iids, dtype=np.int64), counts), fb.iid])
        else:
            counts = [x.shape[0] for x in nxts]
            iid = np.repeat(np.array(iids, dtype=np.int64), counts)
        k = S.shape[1]
        src = np.concatenate(srcs) if srcs else np.zeros(0, np.int64)
        nxt = np.concatenate(nxts) if nxts else np.zeros((0, k), np.uint64)
        return Expansion(src, iid, nxt, enabled, acts, range_err, err_fired, errors)

    def _props(self, S: np.ndarray, kernel: object, negate: bool) -> list[np.ndarray]:
        lane_err, vals = kernel(S)  # type: ignore[operator]
        hits = [np.logical_not(v) if negate else v.copy() for v in vals]
        if lane_err.any():
            bad = np.flatnonzero(lane_err)
            fix = (self.exact.violated if negate else self.exact.reached)(S[bad])
            for h, f in zip(hits, fix, strict=True):
                h[bad] = f
        return hits

    def violated(self, S: np.ndarray) -> list[np.ndarray]:
        return self._props(S, self.kern.invariants, True)

    def reached(self, S: np.ndarray) -> list[np.ndarray]:
        return self._props(S, self.kern.reached, False)


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


def kernels_for(gm: Ground, comp: Compiled, forced: bool = False) -> Kernels | None:
    """The numpy kernels for a model, or None when a per-state backend must run it."""
    try:
        return compile_kernels(gm, comp.layout)
    except Unsupported as exc:
        if forced:
            msg = f"--kernel frontier cannot run this model: {exc} (use --kernel single or auto)"
            raise SpecError(msg, Span(gm.model.path, 0, 0)) from None
        return None


def choose(gm: Ground, comp: Compiled, kind: str, act_of: np.ndarray, actions: int) -> Backend:
    """`kind`: "frontier" (kernels, or an error), "single" (compiled, one state at a time),
    "reference" (the reference semantics), "auto" (kernels where the model fits them)."""
    exact = CompiledBackend(gm, comp, act_of, actions)
    if kind == "reference":
        return ReferenceBackend(gm, comp, act_of, actions)
    if kind != "single":
        kern = kernels_for(gm, comp, forced=kind == "frontier")
        if kern is not None:
            return KernelBackend(kern, exact)
    return exact

"""Random simulation: many random walks at once, each checking every invariant, range rule
and (unless the spec allows it) deadlock on every state it visits.

The work is cut into batches. Batch `b` starts `LANES` walks (fewer in the last batch), each
from an initial state drawn uniformly at random, and takes up to `depth` steps in lock-step,
each walk choosing one successor of its state at random. The choice is weighted per walk
(swarm testing): each walk favours a random subset of the actions, so that some walks leave
the host's and the environment's actions mostly aside and reach the long driver-side
interleavings a uniform choice almost never completes (`uniform`: every successor equally
likely). Every draw comes from numpy's PCG64 seeded with (seed, b), so a batch's outcome
depends only on the seed, the batch number and the options, never on the process or machine
that runs it.
The violation reported is the first one in (batch, step, walk) order: a swarm of worker
processes (`swarm.py`) reports exactly what one process reports, for any number of workers.

A batch's walks are expanded together through the explicit search's successor backends
(`search/backends.py`: the numpy kernels, with the compiled function where a kernel flags a
possible runtime error; one state at a time for a model the kernels cannot run): the same
semantics, and the same walks on every backend. A batch keeps
its walks' states for the trace while they fit in HISTORY_BYTES (depth 100: 13 MB); deeper
walks keep none, and the violating batch runs again following its walk to rebuild the trace.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from model import typed as T
from model.domains import BitmapT
from model.ground import EvalError, Ground, evaluate, execute, ground

from .codegen import Compiled, compile_model
from .kernels import words
from .results import VIOLATED, PropertyResult, Step, Trace
from .search import always_as_invariants
from .search.backends import KernelBackend, NativeBackend, Upgrading, choose
from .search.store import to_int, to_words
from .states import arg_json, state_json, step
from .stops import INTERRUPTED, Stop, StopKind

LANES = 4096  # walks per batch: enough to amortise the kernels' per-instance numpy calls
DEFAULT_RUNS = 30_000
DEFAULT_DEPTH = 100
HISTORY_BYTES = 256 << 20  # a batch keeps its walks' states when they fit, else it runs again for a trace
OFF_WEIGHT = 1 / 64  # how much less likely a walk takes an action it does not favour


_Step = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class SimOptions:
    runs: int = DEFAULT_RUNS
    depth: int = DEFAULT_DEPTH
    seed: int = 0
    workers: int = 1
    timeout: float | None = None
    deadlock: bool = True  # report states without successors (unless the spec allows them)
    uniform: bool = False  # every successor equally likely (default: each walk favours some actions)


@dataclass(frozen=True)
class Found:
    """Where a batch met its first violation: walk `lane` in its state after `step` steps."""

    batch: int
    step: int
    lane: int
    kind: str  # invariant, range, deadlock
    which: int  # the invariant's number, or the failing instance (range)
    message: str  # range: the runtime error


@dataclass
class Batch:
    """One batch's outcome: walks started, steps taken, its first violation."""

    index: int
    runs: int
    steps: int
    found: Found | None = None
    violation: PropertyResult | None = None  # the violation with its rebuilt trace
    stopped: bool = False  # the time budget ended the batch early


@dataclass
class SimResult:
    spec: str
    config: str
    constants: dict[str, int]
    options: SimOptions
    runs: int  # walks started in the batches that count (see Tally)
    steps: int  # steps taken in those batches (up to the violation)
    seconds: float
    simulated: int  # steps every process took, counted or not (the rate)
    kernels: bool  # whether the numpy kernels ran (else the single-state function)
    violation: PropertyResult | None = None
    run: int | None = None  # the violating walk's number (1-based, over all batches)
    stopped: Stop | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def steps_per_second(self) -> float:
        return self.simulated / self.seconds if self.seconds > 0 else 0.0


def batches(opts: SimOptions) -> int:
    return -(-opts.runs // LANES)


def lanes_of(opts: SimOptions, b: int) -> int:
    return min(LANES, opts.runs - b * LANES)


class Tally:
    """The batches reported so far, in any order, and what they add up to: the first batch
    with a violation wins once every batch before it is in; counts cover the batches up to it
    (or, without a violation, every batch reported)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.got: dict[int, Batch] = {}
        self.best: int | None = None

    def add(self, b: Batch) -> None:
        self.got[b.index] = b
        if b.found is not None and (self.best is None or b.index < self.best):
            self.best = b.index

    def done(self) -> bool:
        need = self.total if self.best is None else self.best + 1
        return all(i in self.got for i in range(need))

    def counted(self) -> list[Batch]:
        if self.best is not None and self.done():
            return [self.got[i] for i in range(self.best + 1)]
        return [self.got[i] for i in sorted(self.got)]

    def winner(self) -> Batch | None:
        return self.got[self.best] if self.best is not None and self.done() else None

    def any_violation(self) -> Batch | None:
        """The first violation reported, even where an earlier batch is missing (a run the
        budget stopped): a real violation, though not necessarily the one a full run reports."""
        return self.got[self.best] if self.best is not None else None


class Walker:
    """Runs batches of walks over one compiled model."""

    def __init__(self, model: T.Model, gm: Ground, comp: Compiled, kernel: str, opts: SimOptions) -> None:
        self.model, self.gm, self.comp, self.opts = model, gm, comp, opts
        self.k = words(comp.layout)
        self.ninv = sum(1 for p in model.properties if p.kind == "invariant")
        self.deadlock = opts.deadlock and not model.allow_deadlock
        self._init = _InitialSampler(gm, comp)
        self.actions = list(dict.fromkeys(inst.action for inst in gm.instances))
        self.act_of = np.array([self.actions.index(i.action) for i in gm.instances], dtype=np.int64)
        # the explicit search's successor backends: the same semantics, errors included
        self.backend = choose(gm, comp, kernel, self.act_of, len(self.actions))
        b = self.backend  # chunks through kernels, not one state at a time:
        self.kernels = isinstance(b, (KernelBackend, NativeBackend)) or (isinstance(b, Upgrading) and b.fits())

    def batch(self, b: int, deadline: float | None = None, follow: int | None = None) -> Batch:
        """Run batch `b`, with the violating walk's trace when its history fits in
        HISTORY_BYTES; with `follow`, keep only that walk's history (to rebuild its trace)."""
        lanes = lanes_of(self.opts, b)
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.opts.seed, b])))
        S = self._init.sample(rng, lanes, self.k)
        ids = np.arange(lanes)  # the walk in each row (rows of ended walks are dropped)
        took = np.full(lanes, -1, dtype=np.int64)  # the instance that led to each row's state
        W = self._weights(rng, lanes)
        keep = follow is not None or (self.opts.depth + 1) * lanes * (8 * self.k + 16) <= HISTORY_BYTES
        history: list[_Step] = []  # per step: the states, their walks, the instances that led there
        steps = 0
        for t in range(self.opts.depth + 1):
            if follow is not None:
                row = slice(int(np.searchsorted(ids, follow)), None)
                history.append((S[row][:1], ids[row][:1], took[row][:1]))
            elif keep:
                history.append((S, ids, took))
            bad_inv = self._invariants(S)
            if t == self.opts.depth:  # the last states are checked, not expanded (as --max-depth)
                found = self._first_violation(b, t, ids, bad_inv, None, {})
                return self._ended(b, lanes, steps, found, history if keep else None)
            counts, iids, nxt, errs = self._expand(S)
            found = self._first_violation(b, t, ids, bad_inv, counts, errs)
            if found is not None:
                return self._ended(b, lanes, steps, found, history if keep else None)
            live = np.flatnonzero(counts)  # a walk at a state without successors ends (deadlock allowed)
            if not live.size:
                break
            pick = self._choose(rng, counts, iids, W[ids])
            S, ids, took = nxt[pick], ids[live], iids[pick]
            steps += int(live.size)
            if deadline is not None and time.perf_counter() > deadline:
                return Batch(b, lanes, steps, stopped=True)
        return Batch(b, lanes, steps)

    def falsified(self, b: int, deadline: float | None = None) -> np.ndarray:
        """Batch `b`'s walks without stopping at violations: per invariant, whether some visited
        state breaks it (`plugcheck infer` drops such candidates). A walk ends at a state
        without successors, or where an enabled instance fails at run time."""
        lanes = lanes_of(self.opts, b)
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.opts.seed, b])))
        S = self._init.sample(rng, lanes, self.k)
        W = self._weights(rng, lanes)
        ids = np.arange(lanes)
        broken = np.zeros(self.ninv, dtype=bool)
        for t in range(self.opts.depth + 1):
            if self.ninv:
                broken |= np.stack(self.backend.violated(S)).any(axis=1)
            if t == self.opts.depth or (deadline is not None and time.perf_counter() > deadline):
                break
            counts, iids, nxt, _ = self._expand(S)
            live = np.flatnonzero(counts)
            if not live.size:
                break
            pick = self._choose(rng, counts, iids, W[ids])
            S, ids = nxt[pick], ids[live]
        return broken

    def _ended(self, b: int, lanes: int, steps: int, found: Found | None, history: list[_Step] | None) -> Batch:
        """A batch that met a violation or its depth; with the history kept, the violation's trace."""
        out = Batch(b, lanes, steps, found)
        if found is not None and history is not None:
            path = []
            for states, walks, took in history:
                row = int(np.searchsorted(walks, found.lane))
                path.append((int(took[row]), to_int(states[row])))
            out.violation = self._violation(found, path)
        return out

    def _weights(self, rng: np.random.Generator, lanes: int) -> np.ndarray:
        """Per walk and action, how much the walk favours the action's instances: swarm testing.
        Each walk favours a random subset of the actions (each action in it with a probability
        drawn per walk, so subsets of every size occur); the others are OFF_WEIGHT times as
        likely. Some walks thus starve the environment's actions and complete long interleavings
        a uniform choice almost never takes. `uniform`: every successor equally likely."""
        if self.opts.uniform:
            return np.ones((lanes, len(self.actions)))
        share = rng.random((lanes, 1))
        return np.where(rng.random((lanes, len(self.actions))) < share, 1.0, OFF_WEIGHT)

    def _choose(self, rng: np.random.Generator, counts: np.ndarray, iids: np.ndarray, W: np.ndarray) -> np.ndarray:
        """For each row with successors, one of them (its index into the successor arrays), drawn
        with probability proportional to the row's weight for the successor's action."""
        rows = np.flatnonzero(counts)
        starts = np.cumsum(counts) - counts
        row_of = np.repeat(np.arange(counts.size), counts)
        cw = np.cumsum(W[row_of, self.act_of[iids]])
        base = np.where(starts > 0, cw[np.maximum(starts - 1, 0)], 0.0)[rows]
        last = (starts + counts - 1)[rows]
        target = base + rng.random(rows.size) * (cw[last] - base)
        pick = np.searchsorted(cw, target, side="right")
        return np.minimum(np.maximum(pick, starts[rows]), last)  # type: ignore[no-any-return]

    def _first_violation(
        self,
        b: int,
        t: int,
        ids: np.ndarray,
        bad_inv: np.ndarray,
        counts: np.ndarray | None,
        errs: dict[int, tuple[int, str]],
    ) -> Found | None:
        """The lowest walk with a violation in its current state: an invariant, else a runtime
        error in one of its successors, else no successor at all (a deadlock)."""
        rows = [int(np.argmax(bad_inv >= 0))] if (bad_inv >= 0).any() else []
        rows += [min(errs)] if errs else []
        if self.deadlock and counts is not None:
            dead = (counts == 0) & ~np.isin(np.arange(counts.size), list(errs))
            rows += [int(np.argmax(dead))] if dead.any() else []
        if not rows:
            return None
        r = min(rows)
        lane = int(ids[r])
        if bad_inv[r] >= 0:
            return Found(b, t, lane, "invariant", int(bad_inv[r]), "")
        if r in errs:
            return Found(b, t, lane, "range", errs[r][0], errs[r][1])
        return Found(b, t, lane, "deadlock", -1, "")

    def _invariants(self, S: np.ndarray) -> np.ndarray:
        """Per row, the first invariant its state violates, -1 for none."""
        if not self.ninv:
            return np.full(S.shape[0], -1, dtype=np.int64)
        fails = np.stack(self.backend.violated(S))
        return np.where(fails.any(axis=0), np.argmax(fails, axis=0), -1)

    def _expand(self, S: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, tuple[int, str]]]:
        """Every row's successors, grouped by row in instance order: (count per row, instance
        per successor, successor states); and the rows where an enabled instance fails at run
        time, with the first such instance and its error (those rows get no successors)."""
        exp = self.backend.expand(S)
        src, iid, nxt = exp.src, exp.iid, exp.nxt
        if exp.errors:
            keep = ~np.isin(src, np.fromiter(exp.errors, dtype=np.int64))
            src, iid, nxt = src[keep], iid[keep], nxt[keep]
        order = np.lexsort((iid, src))
        return np.bincount(src, minlength=S.shape[0]), iid[order], nxt[order], exp.errors

    def _violation(self, found: Found, path: list[tuple[int, int]]) -> PropertyResult:
        """The violation as the explicit search reports it, with the walk as its trace."""
        m, lay, gm = self.model, self.comp.layout, self.gm
        trace = Trace([step(m, lay, gm.instances[i] if i >= 0 else None, s) for i, s in path])
        if found.kind == "invariant":
            p = [p for p in m.properties if p.kind == "invariant"][found.which]
            res = PropertyResult(p.name, "invariant", VIOLATED, trace, f"invariant `{p.name}` is violated", p.span)
        elif found.kind == "range":
            inst = gm.instances[found.which]
            trace.steps.append(_failing_step(m, self.comp, inst, path[-1][1], trace.steps[-1].state))
            res = PropertyResult("range", "range", VIOLATED, trace, f"{inst.label}: {found.message}")
        else:
            res = PropertyResult("deadlock", "deadlock", VIOLATED, trace, "a reachable state has no enabled action")
        res.expected = m.expects.get(res.name)
        return res


def _failing_step(model: T.Model, comp: Compiled, inst: object, s: int, before_json: dict[str, object]) -> Step:
    """The step of an instance that fails at run time: the state its body left (the state
    before, when its guard already fails)."""
    lay = comp.layout
    try:
        before = lay.unpack(s)
        evaluate(inst.guard, before)  # type: ignore[attr-defined]
        after = state_json(model, lay, execute(inst, before))  # type: ignore[arg-type]
    except EvalError:
        after = dict(before_json)
    return Step(inst.action, arg_json(inst), after)  # type: ignore[attr-defined, arg-type]


class _InitialSampler:
    """Initial states drawn uniformly: every `= any` leaf gets a value of its type at random,
    the other leaves their declared value."""

    def __init__(self, gm: Ground, comp: Compiled) -> None:
        lay = comp.layout
        anys = {v.name for v in gm.model.vars if v.any_init}
        first = next(gm.initial_states())  # the declared values (any leaf: overwritten below)
        self.random = [sl for sl in lay.slots if sl.field.key[0] in anys and sl.width]
        self.base = lay.pack(first)
        for sl in self.random:
            self.base &= ~(((1 << sl.width) - 1) << sl.offset)
        self.sizes = [_stored_values(sl.field.ty, sl.width) for sl in self.random]

    def sample(self, rng: np.random.Generator, n: int, k: int) -> np.ndarray:
        states = [self.base] * n
        for sl, size in zip(self.random, self.sizes, strict=True):
            vals = _draw(rng, size, n)
            states = [s | (v << sl.offset) for s, v in zip(states, vals, strict=True)]
        return to_words(states, k)


def _stored_values(ty: object, width: int) -> int:
    """How many values a leaf stores (0 .. count-1, as the layout packs them)."""
    from model.domains import size

    return 1 << width if isinstance(ty, BitmapT) else size(ty)  # type: ignore[arg-type]


def _draw(rng: np.random.Generator, count: int, n: int) -> list[int]:
    """n integers uniform in 0 .. count-1 (any size: wide bitmaps are drawn 32 bits at a time)."""
    if count <= 1 << 62:
        return [int(x) for x in rng.integers(0, count, size=n, dtype=np.int64)]
    bits = (count - 1).bit_length()  # count is a power of two here: a bitmap over 62 bits
    parts = rng.integers(0, 1 << 32, size=(n, -(-bits // 32)), dtype=np.int64).tolist()
    return [sum(int(p) << (32 * j) for j, p in enumerate(row)) & (count - 1) for row in parts]


def prepare(model: T.Model, opts: SimOptions) -> Walker:
    """Ground and compile the model (under the time budget the caller set) for walking."""
    model = always_as_invariants(model)
    gm = ground(model)
    comp = compile_model(gm)
    return Walker(model, gm, comp, "auto", opts)


def simulate_here(
    walker: Walker, t0: float, progress: Callable[[int, int, int], None] | None = None
) -> tuple[Tally, Stop | None, int]:
    """Every batch in this process, in order, until the first violation or the budget:
    the tally, why it stopped early (None if it did not), and the steps taken."""
    opts = walker.opts
    deadline = None if opts.timeout is None else t0 + opts.timeout
    tally = Tally(batches(opts))
    simulated = 0
    try:
        for b in range(tally.total):
            out = walker.batch(b, deadline)
            simulated += out.steps
            if out.stopped:
                tally.got[b] = out  # partial: counted in what was reached
                return tally, Stop(StopKind.TIME, opts.timeout), simulated
            if out.found is not None and out.violation is None:  # no history kept: run it again
                out = walker.batch(b, None, follow=out.found.lane)
            tally.add(out)
            if progress is not None:
                progress(sum(x.runs for x in tally.got.values()), simulated, b + 1)
            if tally.winner() is not None:
                break
    except KeyboardInterrupt:
        return tally, INTERRUPTED, simulated
    return tally, None, simulated


def result(walker: Walker, tally: Tally, stopped: Stop | None, simulated: int, seconds: float) -> SimResult:
    m = walker.model
    counted = tally.counted()
    win = tally.winner() or tally.any_violation()
    res = SimResult(
        m.path,
        m.config.name,
        dict(m.consts),
        walker.opts,
        sum(x.runs for x in counted),
        sum(x.steps for x in counted),
        seconds,
        simulated,
        walker.kernels,
        stopped=None if win is not None else stopped,
    )
    if win is not None and win.found is not None:
        res.violation = win.violation
        res.run = win.index * LANES + win.found.lane + 1
        if not tally.done():
            res.notes.append(
                f"the run stopped ({stopped}) before every earlier batch had run:"
                " a full run with this seed may report an earlier violation"
            )
    kinds = {p.kind for p in m.properties} - {"invariant"}
    if kinds:
        left = ", ".join(sorted(kinds))
        res.notes.append(f"simulation checks invariants, range and deadlock; not checked here: {left}")
    if not walker.kernels:
        res.notes.append("the numpy kernels cannot run this model: states are expanded one at a time (slower)")
    return res


def not_started(model: T.Model, opts: SimOptions, why: Stop, seconds: float) -> SimResult:
    """A simulation the time budget ended while grounding or compiling."""
    return SimResult(model.path, model.config.name, dict(model.consts), opts, 0, 0, seconds, 0, False, stopped=why)

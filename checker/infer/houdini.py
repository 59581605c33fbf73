"""`plugcheck infer`: auxiliary invariants that make a spec's invariants inductive, Houdini-style.

1. Candidates from templates over the spec's vocabulary (`templates`), cut at a stated limit.
2. Explicit search at a small config drops every candidate some reachable state breaks
   (one search checks them all).
3. At the small config, then at the target, Houdini over the original invariants and the
   surviving candidates: every invariant a counterexample to induction breaks (or false
   initially) is dropped, action group by action group (`groupwise`), until what is left is
   inductive: the largest inductive subset. The original invariants still in it are proved.

Candidates are parsed as a fragment of spec text appended to the spec (their positions point
into that fragment), so they mean exactly what the same text pasted into the spec means."""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from model import SpecError, build_model
from model import syntax as S
from model import typed as T
from model.ground import ground
from model.load import Spec
from model.parse import parse_text
from model.semantics import EvalError, evaluate

from ..results import INCONCLUSIVE, VIOLATED
from ..search import Budget, Progress, explore
from ..simulate import SimOptions, batches, lanes_of, prepare
from ..states import leaf_map
from ..stops import StopKind
from ..symbolic.unroll import deferred_interrupts
from . import groupwise
from .session import Session
from .templates import DEFAULT_LIMIT, candidates

FRAGMENT = "<inferred>"
RANGE = "range"  # the property a runtime error breaks
EXPLICIT_STATES = 2_000_000  # the small config's search stops here (what it reached still filters)
FILTER_STAGES = (2_000, 20_000)  # searches cut at these many states filter the candidates first
WALKS = 8192  # random walks at the target config after the explicit search at the small one
WALK_DEPTH = 100
PICK_FIRST = 5000  # more survivors than this: pick against counterexamples before any Houdini
# a set picked at the target is minimised there only up to this size: minimising costs a
# Houdini check at the target per candidate (BBM at `linux`: minutes each)
MINIMISE_AT_TARGET = 24


@dataclass
class Step:
    what: str
    seconds: float
    detail: str


@dataclass
class Inferred:
    prefix: str  # candidate names are prefix + number
    texts: dict[str, str]  # candidate name -> expression text
    generated: int  # before the limit
    limit: int
    kept: list[str] = field(default_factory=list)  # candidate names in the inductive subset
    originals: dict[str, str] = field(default_factory=dict)  # original invariant -> proved / not proved
    steps: list[Step] = field(default_factory=list)
    stopped: str = ""

    @property
    def proved_all(self) -> bool:
        return not self.stopped and all(v == "proved" for v in self.originals.values())

    def spec_text(self) -> str:
        """The kept candidates as declarations ready to paste into the spec."""
        return "\n".join(f"invariant {n}: {self.texts[n]}" for n in self.kept)


def with_candidates(spec: Spec, texts: dict[str, str]) -> Spec:
    """The spec with the candidate invariants appended (parsed as their own fragment)."""
    source = "protocol inferred\n" + "".join(f"invariant {n}: {t}\n" for n, t in texts.items())
    frag = parse_text(source, FRAGMENT)
    new = [d for d in frag.decls if isinstance(d, S.InvariantDecl)]
    return Spec(spec.path, spec.source, [*spec.decls, *new], {**spec.sources, FRAGMENT: source})


def _build(spec: Spec, texts: dict[str, str], config: str | None, defines: dict[str, int]) -> T.Model:
    """Build with the candidates, dropping any the type checker rejects (a template can fit a
    spec badly, e.g. a comparison of unrelated enums)."""
    while True:
        try:
            return build_model(with_candidates(spec, texts), config, defines)
        except SpecError as e:
            if e.span.file != FRAGMENT or not 2 <= e.span.line < 2 + len(texts):
                raise
            del texts[list(texts)[e.span.line - 2]]


def infer(
    spec: Spec,
    config: str | None,
    small: str | None,
    defines: dict[str, int],
    limit: int = DEFAULT_LIMIT,
    timeout: float | None = None,
    jobs: int = 1,
    progress: Callable[[Progress], None] | None = None,
    minimize: bool = True,
) -> Inferred:
    """Every phase ends on Ctrl-C (or SIGTERM, forwarded as Ctrl-C) and on the time budget:
    `stopped` says why, the steps finished and the one cut short are recorded, and no
    original invariant is called proved."""
    run = Session(timeout, jobs, progress)
    target = build_model(spec, config, defines)
    names = {p.name for p in target.properties}
    # a name prefix no property of the spec uses
    prefix = next(
        p for p in (f"aux{'_' * k}inferred_" for k in range(1, 99)) if not any(n.startswith(p) for n in names)
    )
    exprs = candidates(spec, target)
    texts = {f"{prefix}{i + 1}": t for i, t in enumerate(exprs[:limit])}
    out = Inferred(prefix, texts, len(exprs), limit)
    originals = [p.name for p in target.invariants]
    try:
        _phases(out, run, spec, originals, config, defines, small, minimize)
    except (KeyboardInterrupt, ctypes.ArgumentError) as exc:
        # Ctrl-C outside an induction run (the explicit search reports its own), or pressed
        # twice inside a z3 call, which ctypes wraps
        if isinstance(exc, ctypes.ArgumentError) and "KeyboardInterrupt" not in str(exc):
            raise
        out.stopped = "interrupted"
        out.steps.append(Step(run.phase, time.perf_counter() - run.phase_t0, "interrupted"))
    if out.stopped:
        out.kept = []
        out.originals = {n: "not proved" for n in originals}
    return out


def _phases(
    out: Inferred,
    run: Session,
    spec: Spec,
    originals: list[str],
    config: str | None,
    defines: dict[str, int],
    small: str | None,
    minimize: bool,
) -> None:
    texts = out.texts

    # 2. explicit search at the small config
    t = run.start(f"explicit search at `{small or 'default'}`")
    n_before = len(texts)
    for cap in (*FILTER_STAGES, EXPLICIT_STATES):
        # every candidate is evaluated in every state: most fall in the first few thousand,
        # and a search over those first leaves the full one far fewer to carry
        model = _build(spec, texts, small, {})
        res, _ = explore(model, Budget(max_states=cap, timeout=run.left()), False, run.progress)
        broken = {p.name for p in res.properties if p.status == VIOLATED}
        for n in broken & set(texts):
            del texts[n]
        if res.stopped is None or res.stopped.kind != StopKind.STATES or cap == EXPLICIT_STATES:
            break
    how = f"complete, {res.states:,} states" if not res.stopped else f"stopped ({res.stopped}) at {res.states:,} states"
    detail = f"{n_before} candidates, {len(texts)} hold in every reached state ({how})"
    out.steps.append(Step(run.phase, time.perf_counter() - t, detail))
    if res.stopped is not None and res.stopped.interrupted:
        out.stopped = str(res.stopped)
        return

    # 2b. random walks at the target config: what holds only at the small sizes falls here
    # (a count of memory blocks below a count of big blocks while a big block holds two)
    if (config or "default", defines) != (small or "default", {}) and texts:
        t = run.start(f"random walks at `{config or 'default'}`")
        n_before = len(texts)
        broken, walks = _walk(_build(spec, texts, config, defines), run)
        for n in broken & set(texts):
            del texts[n]
        detail = f"{walks:,} walks of up to {WALK_DEPTH} steps; {n_before} candidates, {len(texts)} hold throughout"
        out.steps.append(Step(run.phase, time.perf_counter() - t, detail))

    # 3. Houdini at the small config (cheap: it drops most non-inductive candidates), then at the target
    keep = full = set(texts) | set(originals)
    stages: list[tuple[str | None, dict[str, int]]] = [(small, {})]
    if (config or "default", defines) != (small or "default", {}):
        stages.append((config, defines))
    first = 0  # the index `stages` starts at (0: the small config is still to do)
    if minimize and len(texts) > PICK_FIRST:
        # Houdini over this many invariants costs a large query per round: pick against
        # counterexamples straight from the survivors instead, and fall back to Houdini only
        # when that does not prove the originals
        what = f"candidates against counterexamples at `{small or 'default'}`"
        t = run.start(f"{what} (more than {PICK_FIRST:,})", what)
        model = _build(spec, dict(texts), small, {})
        pick = _select(model, keep, set(originals), list(texts), run)
        got, out.stopped, ok = pick.names, pick.stopped, pick.ok
        detail = f"{pick.rounds} induction rounds picked {len(got & set(texts))} of {len(texts)} candidates"
        checks = 0
        if ok and not out.stopped:
            got, checks, out.stopped = _minimize(model, got, set(originals), list(texts), run, frozenset(pick.guards))
            detail += f", {checks} Houdini checks; {len(got & set(texts))} needed"
        elif not out.stopped:
            detail += (
                f"; they do not prove the originals ({pick.blocked} from a state no candidate excludes):"
                " Houdini over every survivor follows"
            )
        if out.stopped:
            detail += f", stopped: {out.stopped}"
        out.steps.append(Step(run.phase, time.perf_counter() - t, detail))
        if out.stopped:
            return
        if ok:
            keep = got
            stages = stages[1:]
            first = 1  # the small config is done: what follows is the target
    for k, (cfg, defs) in enumerate(stages, first):
        minimal = keep
        keep = _stage(out, run, spec, texts, keep, cfg, defs)
        # the fewest candidates are looked for at the small config, where induction is cheap; at the
        # target only when the set found there does not prove the originals (then from every survivor)
        again = k > 0 and not out.stopped and not set(originals) <= keep and minimal != full
        if again:
            # first pick at the target itself from what the small config picked, against the
            # target's counterexamples (a round is one induction run there, while Houdini over
            # every survivor is a large query per round); Houdini over them all if that fails
            there = _pick_at_target(out, run, spec, texts, full, minimal, set(originals), cfg, defs)
            if out.stopped:
                return
            again = there is None or len(there & set(texts)) <= MINIMISE_AT_TARGET
            keep = there if there is not None else _stage(out, run, spec, texts, full, cfg, defs, " again")
        if out.stopped:
            return
        full = keep
        if minimize and (k == 0 or again) and set(originals) <= keep and keep & set(texts):
            # 4. the fewest candidates that still prove the originals, checked by induction here
            t = run.start(f"fewest candidates at `{cfg or 'default'}`")
            model = _build(spec, {n: texts[n] for n in texts if n in keep}, cfg, defs)
            n_before = len(keep & set(texts))
            pick = _select(model, keep, set(originals), list(texts), run)
            out.stopped, rounds = pick.stopped, pick.rounds
            keep = pick.names if pick.ok else keep
            picked = len(keep & set(texts))
            checks = 0
            if not out.stopped:
                protect = frozenset(pick.guards if pick.ok else ())
                keep, checks, out.stopped = _minimize(model, keep, set(originals), list(texts), run, protect)
            detail = (
                f"{rounds} induction rounds picked {picked} against counterexamples, {checks} Houdini "
                f"checks; {len(keep & set(texts))} of {n_before} candidates needed"
            )
            if out.stopped:
                detail = f"{rounds} induction rounds, {checks} Houdini checks, stopped: {out.stopped}"
            out.steps.append(Step(run.phase, time.perf_counter() - t, detail))
            if out.stopped:
                return
    out.kept = [n for n in texts if n in keep]
    out.originals = {n: "proved" if n in keep else "not proved" for n in originals}


def _pick_at_target(
    out: Inferred,
    run: Session,
    spec: Spec,
    texts: dict[str, str],
    pool: set[str],
    start: set[str],
    originals: set[str],
    cfg: str | None,
    defs: dict[str, int],
) -> set[str] | None:
    """Picking against counterexamples at the target, from `start` (what the small config
    picked) with every candidate of `pool` to pick from, recorded as a step: the picked set
    when it proves the originals there (an induction run found no counterexample: it is
    inductive), else None."""
    what = f"candidates against counterexamples at `{cfg or 'default'}`"
    t = run.start(f"{what} (from the {len(start & set(texts))} picked before)", what)
    model = _build(spec, {n: texts[n] for n in texts if n in pool}, cfg, defs)
    pick = _select(model, pool, originals, list(texts), run, start)
    added, dropped = len(pick.names - start), len(start - pick.names)
    detail = f"{pick.rounds} induction rounds picked {added} more and dropped {dropped}"
    if pick.stopped:
        detail += f", stopped: {pick.stopped}"
        out.stopped = pick.stopped
    elif pick.ok:
        n = len(pick.names & set(texts))
        detail += f"; {n} candidates prove the originals"
        if n > MINIMISE_AT_TARGET:
            detail += f" (more than {MINIMISE_AT_TARGET}: not minimised here)"
    else:
        detail += f"; they do not prove the originals ({pick.blocked} from a state no candidate excludes)"
    out.steps.append(Step(run.phase, time.perf_counter() - t, detail))
    return pick.names if pick.ok and not pick.stopped else None


def _walk(model: T.Model, run: Session) -> tuple[set[str], int]:
    """The invariants some state of WALKS random walks (seed 0: the same every run) breaks,
    and the walks taken (fewer when the time budget ends them)."""
    opts = SimOptions(runs=WALKS, depth=WALK_DEPTH, seed=0)
    walker = prepare(model, opts)
    names = [p.name for p in walker.model.properties if p.kind == "invariant"]
    broken = np.zeros(len(names), dtype=bool)
    walks = 0
    for b in range(batches(opts)):
        left = run.left()
        if left is not None and left <= 0:
            break
        broken |= walker.falsified(b, None if left is None else time.perf_counter() + left)
        walks += lanes_of(opts, b)
    return {n for n, x in zip(names, broken.tolist(), strict=True) if x}, walks


def _stage(
    out: Inferred,
    run: Session,
    spec: Spec,
    texts: dict[str, str],
    keep: set[str],
    cfg: str | None,
    defs: dict[str, int],
    again: str = "",
) -> set[str]:
    """Houdini at one config over `keep`, recorded as a step: what is left."""
    t = run.start(f"Houdini{again} at `{cfg or 'default'}`")
    n_before = len(keep & set(texts))
    model = _build(spec, {n: texts[n] for n in texts if n in keep}, cfg, defs)
    before = keep
    keep, queries, out.stopped = _houdini(model, keep, run)
    detail = f"{queries} queries; {len(keep & set(texts))} of {n_before} candidates in the inductive subset"
    lost = sorted((before - keep) - set(texts))
    if lost:
        detail += f"; not proved here: {', '.join(lost)}"
    if out.stopped:
        detail = f"{queries} queries, stopped: {out.stopped}"
    if again:
        detail += " (from every candidate the previous config kept)"
    out.steps.append(Step(run.phase, time.perf_counter() - t, detail))
    return keep


@dataclass
class Picked:
    """What picking against counterexamples gave."""

    names: set[str]  # the originals and the picked candidates
    rounds: int  # induction rounds
    stopped: str  # why it stopped early, or ""
    ok: bool  # they prove the originals
    guards: set[str]  # picked candidates that exclude a state with a runtime error (`_minimize` keeps them)
    blocked: str = ""  # not ok: the original whose counterexample no candidate excludes, and its step


def _select(
    model: T.Model,
    keep: set[str],
    originals: set[str],
    order: list[str],
    run: Session,
    start: set[str] | None = None,
) -> Picked:
    """A few candidates of `keep` that prove `originals`, picked against counterexamples to
    induction.

    `range` is decided alongside: a state the invariants allow where an instance fails is a
    counterexample like the others, so the candidates picked also exclude runtime errors
    where some candidate can (the invariants alone are proved by fewer, and `range` would stay
    open with them). When no candidate left excludes such a state, range is left out of the
    rounds that follow.

    Starting from the originals alone (or with `start`, a set picked before at another
    config), each round runs induction over what is picked. The
    candidate false in the most of this round's counterexample pre-states (the first in
    template order among equals) is picked, until no counterexample is left. When `keep` is
    inductive some candidate always breaks a pre-state (the pre-state satisfies what is picked;
    were it to satisfy all of `keep`, so would its successor). When `keep` is only what the
    explicit search left, a picked candidate whose counterexample no candidate excludes is
    dropped again (it is not inductive here), and an original's ends the search without a
    proof. The pre-states are evaluated with the reference evaluator."""
    exprs = {p.name: g for p, g, _ in ground(model).properties if p.name in keep}
    pool = [n for n in order if n in keep]
    picked: set[str] = set(originals) | (start or set())
    banned: set[str] = set()
    rounds = 0
    with_range = True  # False once no candidate left excludes a range counterexample
    errors: list[Any] = []  # the range counterexamples' states

    def guards() -> set[str]:
        return {n for n in picked - originals if any(not _holds(exprs[n], st) for st in errors)}

    while True:
        if run.over():
            return Picked(picked, rounds, run.over(), False, guards())
        rounds += 1
        run.note(f"round {rounds}, {len(picked - originals)} picked")
        m = replace(model, properties=[p for p in model.properties if p.kind == "invariant" and p.name in picked])
        r, stopped = run.induct(m, picked | ({RANGE} if with_range else set()))
        if stopped:
            return Picked(picked, rounds, stopped, False, guards())
        ctis = [
            (p.name, p.status, leaf_map(model, p.trace.steps[0].state), p.trace.steps[-1].label)
            for p in r.properties
            if p.kind in ("invariant", RANGE) and p.trace is not None and p.status in (VIOLATED, INCONCLUSIVE)
        ]
        if not ctis:
            return Picked(picked, rounds, "", True, guards())
        open_ = [n for n in pool if n not in picked and n not in banned]
        pres = []
        for name, status, pre, step in ctis:
            excluded = status != VIOLATED and any(not _holds(exprs[n], pre) for n in open_)
            if name == RANGE:
                # a state the invariants allow with a runtime error: a candidate false there
                # excludes it (range is not an original: without one, the search goes on without it)
                if excluded:
                    pres.append(pre)
                    errors.append(pre)
                else:
                    with_range = False
            elif not excluded:
                if name in originals:
                    how = "false initially" if status == VIOLATED else f"broken by `{step}`"
                    return Picked(picked, rounds, "", False, guards(), f"`{name}` {how}")
                picked.discard(name)  # false initially, or nothing left excludes its counterexample
                banned.add(name)
            else:
                pres.append(pre)
        if not pres:
            continue
        score = {n: sum(1 for s in pres if not _holds(exprs[n], s)) for n in open_}
        best = max(score, key=lambda n: score[n])  # the first in template order among equals
        picked.add(best)


def _holds(g: Any, state: Any) -> bool:
    try:
        return bool(evaluate(g, state))
    except EvalError:
        return False


def _minimize(
    model: T.Model,
    keep: set[str],
    originals: set[str],
    order: list[str],
    run: Session,
    protect: frozenset[str] = frozenset(),
) -> tuple[set[str], int, str]:
    """Drop candidates the proof of `originals` does not need: (what is left, the Houdini
    checks, why it stopped early or "").

    A trial drops a run of candidates and runs Houdini on the rest; if every original
    survives, the trial's inductive subset is kept. Runs start at half the candidates and
    halve on failure down to one, so the result is 1-minimal: dropping any one candidate
    left loses an original (Houdini's result only shrinks with its input, so a candidate
    that was needed stays needed). Candidates are tried in template order. `protect`: kept
    without trial (Houdini checks invariants only; these exclude runtime errors)."""
    kept = [n for n in order if n in keep and n not in protect]
    originals = originals | (protect & keep)
    checks = 0
    chunk = max(1, len(kept) // 2)
    while True:
        i = 0
        while i < len(kept):
            trial = set(kept[:i] + kept[i + chunk :]) | originals
            run.note(f"Houdini check {checks + 1}, {len(kept)} candidates, dropping {min(chunk, len(kept) - i)}")
            got, _, stopped = _houdini(model, trial, run, frozenset(originals))
            checks += 1
            if stopped:
                return set(kept) | originals, checks, stopped
            if originals <= got:
                kept = [n for n in kept if n in got]
            else:
                i += chunk
        if chunk == 1:
            return set(kept) | originals, checks, ""
        chunk = max(1, chunk // 2)


def _houdini(
    model: T.Model,
    keep: set[str],
    run: Session,
    must: frozenset[str] = frozenset(),
) -> tuple[set[str], int, str]:
    """Drop every invariant with a counterexample to induction (or false initially) until the
    rest is inductive: (what is left, the z3 queries asked, why it stopped early or ""). One
    action group at a time in this process (`groupwise`): a counterexample drops every
    invariant its post-state breaks, and one encoding serves every round. Once one of `must`
    is dropped it stops there (what is left then is not inductive): Houdini's result only
    shrinks, so that one would not come back. Ctrl-C is deferred to the prover's next step
    (as in `Session.induct`), and a time budget names the command's."""
    if run.over():
        return keep, 0, run.over()
    with deferred_interrupts():
        left, queries, stopped = groupwise.houdini(model, keep, run.left(), run.relay, must)
    if stopped.startswith("time budget") and run.timeout is not None:
        stopped = f"time budget {run.timeout:g} s reached" + stopped.partition(" reached")[2]
    return left, queries, stopped

"""Inductive-invariant checking: is the conjunction of the spec's invariants preserved by
every action instance? Proofs here are unbounded (`proved`); a failure is a
counterexample to induction (a two-state trace naming the invariant and the action), which
is not a violation.

To scale to bitmaps no enumeration reaches, each query is local:
- instances of one action that write the same leaves are checked together in one query
  (a selector picks the instance);
- only invariant conjuncts that read a written leaf are checked after the step (the frame
  keeps the others), and only those are assumed before it at first;
- guard conjuncts that read leaves outside that scope (e.g. `plugged < requested`) are
  dropped: a weaker guard over-approximates the transition, so a proof stays sound.
A counterexample whose pre-state breaks a dropped guard conjunct or an unassumed invariant
conjunct (checked concretely with the reference evaluator) is spurious: those conjuncts are
added and the query is asked again. Only a pre-state satisfying every invariant and the full
guard is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import z3

from model import typed as T
from model.ground import EvalError, G, Ground, Instance, evaluate, execute, ground
from model.walk import conjuncts, reads

from ..layout import Layout
from ..results import HOLDS, INCONCLUSIVE, PROVED, VIOLATED, PropertyResult, RunResult, Trace
from . import readback
from .analysis import may_fail
from .bmc import finish, liveness, search
from .encode import Encoder, Env, Key
from .popcount import Counts
from .unroll import INTERRUPTED, RLIMIT_PER_SECOND, Clock, SymOptions, gave_up, safety_props

LeafMap = dict[Key, object]


@dataclass(frozen=True)
class Conj:
    prop: str  # the invariant it belongs to
    g: G
    reads: frozenset[Key]


@dataclass
class CTI:
    prop: str
    inst: Instance
    pre: LeafMap
    post: LeafMap


TOGETHER = 40 * RLIMIT_PER_SECOND  # z3's budget for one action's invariants in a single query


class Unknown(Exception):
    """z3 gave up (a budget ran out)."""


def _holds(g: G, lm: LeafMap) -> bool:
    try:
        return bool(evaluate(g, lm))
    except EvalError:
        return False


def _agrees(g: G, lm: LeafMap, value: Any) -> bool:
    """Does the abstracted sum `g` have this value in `lm`? A sum that fails there (a bit
    or index out of range inside it) has no value: it must be made precise, so that its
    error condition enters the encoding."""
    try:
        return bool(evaluate(g, lm) == value.as_signed_long())
    except EvalError:
        return False


class Prover:
    """Queries over one symbolic pre-state shared by all of them (its encodings are memoised)."""

    def __init__(self, enc: Encoder, clock: Clock, drop: frozenset[str] = frozenset()) -> None:
        """`drop`: invariants false in an initial state. They are left out of the conjunction
        that is proved inductive: a proof assuming them would start from no initial state and
        could "prove" anything."""
        self.enc = enc
        self.clock = clock
        self.pre = enc.state("pre.")
        self.env = Env(self.pre)
        self.dom = enc.domain(self.pre)
        self.conjs = [
            Conj(p.name, c, frozenset(reads(c)))
            for p, g, _ in enc.gm.properties
            if p.kind == "invariant" and p.name not in drop
            for c in conjuncts(g)
        ]
        self.queries = 0
        self.exact: set[int] = set()  # ids of wide bitmap terms counted exactly after all
        self.keep: list[Any] = []  # keeps those terms alive (the ids are z3's)

    def env_for(self, precise: set[G]) -> Env:
        """The pre-state of one query: sums and wide popcounts abstracted (except those made
        precise)."""
        counts = Counts(self.enc.masks, self.enc.width, self.exact)
        env = Env(self.pre, abstract={}, precise=precise, origin=self.pre, counts=counts)
        env.base = env
        return env

    def solver(self, hyp: set[int], env: Env) -> Any:
        s = z3.SolverFor("QF_UFBV")
        s.add(self.dom)
        henv = Env(self.pre, counts=env.counts)  # sums precise, counts those of the query
        s.add([z3.Not(self.enc.bad(self.conjs[i].g, henv)) for i in sorted(hyp)])
        self.clock.limit(s)
        return s

    def side(self, s: Any, env: Env) -> None:
        """The abstractions' constraints, once the query is encoded."""
        assert env.counts is not None
        s.add(env.side)
        s.add(env.counts.lemmas)

    def check(self, s: Any) -> bool:
        """True when satisfiable."""
        if self.clock.over():
            raise Unknown(f"time budget {self.clock.timeout:g} s reached")
        self.queries += 1
        r = s.check()
        if r == z3.unknown:
            raise Unknown(gave_up(s))
        return bool(r == z3.sat)

    def refine(self, lm: LeafMap, hyp: set[int]) -> bool:
        """Assume the invariant conjuncts the counterexample's pre-state breaks."""
        bad = {i for i, c in enumerate(self.conjs) if i not in hyp and not _holds(c.g, lm)}
        hyp |= bad
        return bool(bad)

    def step(self, insts: list[Instance]) -> CTI | None:
        """Do these instances (one action, the same written leaves) preserve the invariants?
        All invariants they may break are asked about in one query first, within a budget;
        if that runs out, one query per invariant (each is a smaller problem)."""
        written = set(self.enc.writes[insts[0].id])
        scope_idx = [i for i, c in enumerate(self.conjs) if c.reads & written]
        if not scope_idx:
            return None
        props = list(dict.fromkeys(self.conjs[i].prop for i in scope_idx))
        if len(props) > 1:
            try:
                return self._step(insts, scope_idx, written, TOGETHER)
            except Unknown:
                if self.clock.over():
                    raise
        for p in props:
            cti = self._step(insts, [i for i in scope_idx if self.conjs[i].prop == p], written, None)
            if cti is not None:
                return cti
        return None

    def _step(self, insts: list[Instance], scope_idx: list[int], written: set[Key], budget: int | None) -> CTI | None:
        enc = self.enc
        hyp = set(scope_idx)
        scope = set(written).union(*(self.conjs[i].reads for i in scope_idx))
        kept = {inst.id: [g for g in conjuncts(inst.guard) if reads(g) <= scope] for inst in insts}
        bits = max(1, (len(insts) - 1).bit_length())
        precise: set[G] = set()
        while True:
            env = self.env_for(precise)
            s = self.solver(hyp, env)
            if budget is not None:
                left = self.clock.left()
                s.set("rlimit", budget if left is None else min(budget, max(1, int(left * RLIMIT_PER_SECOND))))
            sel = z3.BitVec("sel", bits)
            if len(insts) < (1 << bits):
                s.add(z3.ULT(sel, len(insts)))
            post = dict(self.pre)
            chains: dict[Key, Any] = {k: self.pre[k] for k in written}
            for j, inst in reversed(list(enumerate(insts))):
                e = enc.instance(inst, env, kept[inst.id])
                s.add(z3.Implies(sel == j, e.ok))
                for k, v in e.post.items():
                    chains[k] = z3.If(sel == j, v, chains[k])
            post.update(chains)
            penv = env.derive(post)
            s.add(z3.Or([enc.bad(self.conjs[i].g, penv) for i in scope_idx]))
            self.side(s, env)
            if not self.check(s):
                return None
            zm = s.model()
            lm = readback.leafmap(enc, zm, self.pre)
            if self.concretize(env, zm, lm, precise):
                continue
            inst = insts[zm.eval(sel, model_completion=True).as_long()]
            have = {id(g) for g in kept[inst.id]}
            missing = [g for g in conjuncts(inst.guard) if id(g) not in have and not _holds(g, lm)]
            kept[inst.id] += missing
            if self.refine(lm, hyp) or missing or self.recount(env, zm, hyp, precise):
                continue
            after = execute(inst, lm)
            broken = next((self.conjs[i].prop for i in scope_idx if not _holds(self.conjs[i].g, after)), "")
            return CTI(broken, inst, lm, after)

    def excluded(self, cond: Callable[[Env], Any]) -> LeafMap | None:
        """Is `cond(state)` impossible in every state satisfying all invariants? None if so,
        else a state satisfying the invariants and the condition. Sums start abstracted as
        bounded variables; a sum the counterexample gets wrong is made precise."""
        hyp: set[int] = set()
        precise: set[G] = set()
        while True:
            env = self.env_for(precise)
            c = cond(env)
            s = self.solver(hyp, env)
            s.add(c)
            self.side(s, env)
            if not self.check(s):
                return None
            zm = s.model()
            lm = readback.leafmap(self.enc, zm, self.pre)
            if self.concretize(env, zm, lm, precise):
                continue
            if not self.refine(lm, hyp) and not self.recount(env, zm, hyp, precise):
                return lm

    def concretize(self, env: Env, zm: Any, lm: LeafMap, precise: set[G]) -> bool:
        """Make precise the cheapest abstracted sum the counterexample got wrong (one at a
        time: a count over enums is cheap, `plugged` over every bitmap is not)."""
        assert env.abstract is not None
        wrong = [g for g, (_, v) in env.abstract.items() if not _agrees(g, lm, zm.eval(v, model_completion=True))]
        if not wrong:
            return False
        precise.add(min(wrong, key=self._cost))
        return True

    def recount(self, env: Env, zm: Any, hyp: set[int], precise: set[G]) -> bool:
        """Correct abstract counts the counterexample got wrong. The counts a proof needs are
        usually pinned by an invariant, so first assume every invariant, then make every sum
        precise; only then count the offending bitmaps exactly."""
        assert env.counts is not None and env.abstract is not None
        bad = env.counts.wrong(zm)
        if not bad:
            return False
        if len(hyp) < len(self.conjs):
            hyp |= set(range(len(self.conjs)))
        elif set(env.abstract) - precise:
            precise |= set(env.abstract)
        else:
            self.keep += bad
            self.exact |= {t.get_id() for t in bad}
        return True

    def _cost(self, g: G) -> int:
        keys = self.enc.reads_of(g)
        return sum(getattr(self.enc.types[k], "width", None) or 4 for k in keys)

    def range_free(self) -> LeafMap | None:
        for inst in self.enc.gm.instances:
            if not (may_fail(inst.guard) or may_fail(inst.body)):
                continue
            e = self.enc.instance(inst, self.env)
            if e.guard_err is None and e.body_err is None:
                continue
            lm = self.excluded(lambda env, i=inst: self.enc.instance(i, env).err)  # type: ignore[misc]
            if lm is not None:
                return lm
        return None

    def deadlock_free(self) -> LeafMap | None:
        for inst in self.enc.gm.instances:
            if z3.is_true(z3.simplify(self.enc.instance(inst, self.env).ok)):
                return None  # an instance enabled everywhere (like `resize`)
        insts = self.enc.gm.instances
        return self.excluded(lambda env: z3.And([z3.Not(self.enc.instance(i, env).ok) for i in insts]))


def groups(gm: Ground, enc: Encoder) -> list[list[Instance]]:
    out: dict[tuple[str, frozenset[Key]], list[Instance]] = {}
    for inst in gm.instances:
        out.setdefault((inst.action, frozenset(enc.writes[inst.id])), []).append(inst)
    return list(out.values())


def induction(model: T.Model, opts: SymOptions, gm: Ground | None = None) -> RunResult:
    """`--engine induction`."""
    clock = Clock(opts.timeout, opts.progress)
    gm = gm or ground(model)
    enc = Encoder(gm)
    layout = Layout(model)
    props = safety_props(enc, opts.deadlock)
    # The base case: initial states that break an invariant are real violations. The step
    # proof then assumes only the invariants every initial state satisfies, so the
    # conjunction it proves inductive holds initially (range and deadlock in initial states
    # are covered by the proofs below, which assume that conjunction).
    base = search(enc, layout, [p for p in props if p.kind in ("invariant", "reachable")], 0, clock)
    failed_init = frozenset(p.name for p in props if p.kind == "invariant" and p.name in base.hits)
    prover = Prover(enc, clock, failed_init)
    ctis: dict[str, CTI] = {}
    stopped = base.stopped
    range_state: LeafMap | None = None
    dead_state: LeafMap | None = None
    excluded: dict[str, bool] = {}
    grps = groups(gm, enc)
    done: list[str] = []  # actions whose every instance group preserved the invariants
    at = ""
    try:
        if not stopped:
            for grp in grps:
                at = grp[0].action
                clock.note(f"induction: action `{at}`, {len(done)} of {len(grps)} instance groups proved")
                if clock.over():
                    raise Unknown(f"time budget {clock.timeout:g} s reached")
                cti = prover.step(grp)
                if cti is not None and cti.prop not in ctis:
                    ctis[cti.prop] = cti
                if cti is None:
                    done.append(at)
            at = ""
            if not ctis:
                clock.note(f"induction: all {len(grps)} instance groups proved; range and deadlock")
                range_state = prover.range_free()
                if any(p.kind == "deadlock" for p in props):
                    dead_state = prover.deadlock_free()
                for p in props:
                    if p.kind == "reachable":
                        excluded[p.name] = prover.excluded(_holds_fn(enc, p.expr)) is None
    except (Unknown, KeyboardInterrupt) as exc:
        if isinstance(exc, KeyboardInterrupt):
            stopped = INTERRUPTED
        else:
            stopped = str(exc) if "budget" in str(exc) else f"z3 gave up: {exc}"
        if at:  # what a user can keep from a run cut short
            stopped += f" at action `{at}` ({len(done)} of {len(grps)} instance groups preserve every invariant)"
    inductive = not ctis and not stopped
    out: list[PropertyResult] = []
    for p in props:
        span = p.prop.span if p.prop is not None else None
        hit = base.hits.get(p.name)
        if hit is not None:
            status = HOLDS if p.kind == "reachable" else VIOLATED
            msg = hit[2] or (f"`{p.name}` holds initially" if p.kind == "reachable" else "violated in an initial state")
            out.append(PropertyResult(p.name, p.kind, status, hit[1], msg, span))
        elif not inductive:
            out.append(_not_proved(p.name, p.kind, span, ctis, stopped, enc, layout))
        elif p.kind == "invariant":
            out.append(PropertyResult(p.name, p.kind, PROVED, None, "the invariants together are inductive", span))
        elif p.kind == "reachable":
            if excluded.get(p.name):
                out.append(
                    PropertyResult(
                        p.name, p.kind, VIOLATED, None, "never reached: the proved invariants exclude it", span
                    )
                )
            else:
                out.append(PropertyResult(p.name, p.kind, INCONCLUSIVE, None, "induction cannot show a witness", span))
        else:
            st = range_state if p.kind == "range" else dead_state
            if st is None:
                out.append(PropertyResult(p.name, p.kind, PROVED, None, "excluded by the inductive invariants", span))
            else:
                tr = Trace([readback.step(enc, layout, None, st)])
                what = "a runtime error" if p.kind == "range" else "no enabled action"
                msg = f"the invariants allow a state with {what} (it may be unreachable)"
                out.append(PropertyResult(p.name, p.kind, INCONCLUSIVE, tr, msg, span))
    res = finish(model, "induction", out + liveness(model), clock, 1, stopped)
    return res


def _not_proved(
    name: str, kind: str, span: Any, ctis: dict[str, CTI], stopped: str, enc: Encoder, layout: Layout
) -> PropertyResult:
    cti = ctis.get(name)
    if cti is not None:
        tr = Trace([readback.step(enc, layout, None, cti.pre), readback.step(enc, layout, cti.inst, cti.post)])
        msg = (
            f"not inductive: {cti.inst.label} breaks `{name}` from a state where every invariant holds"
            " (a counterexample to induction, not a violation: add a strengthening invariant)"
        )
        return PropertyResult(name, kind, INCONCLUSIVE, tr, msg, span)
    if stopped:
        return PropertyResult(name, kind, INCONCLUSIVE, None, f"no proof: {stopped}", span)
    broken = ", ".join(f"`{n}`" for n in ctis)
    return PropertyResult(
        name, kind, INCONCLUSIVE, None, f"no proof: the invariants are not inductive ({broken})", span
    )


def _holds_fn(enc: Any, g: Any) -> Any:
    """The state predicate `g` as a function of an encoded state (binds g now, not late)."""
    return lambda env: enc.holds(g, env)

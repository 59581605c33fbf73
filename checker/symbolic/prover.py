"""The induction engine's queries: does one group of action instances preserve the
invariants, from a state where they hold? Each query is local (see `induction`): only the
invariant conjuncts that read a written leaf are checked after the step and assumed before
it at first, guard conjuncts outside that scope are dropped, sums and wide popcounts are
abstract; a counterexample that breaks a dropped conjunct or gets an abstraction wrong is
spurious, and the query is refined and asked again. Assumed invariants are encoded once
and shared by every query; a group's encoding is reused by its refinements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import z3

from model.ground import EvalError, G, Ground, Instance, evaluate, execute
from model.walk import conjuncts, reads

from . import readback
from .analysis import may_fail
from .encode import Encoded, Encoder, Key
from .env import Env
from .popcount import Counts
from .unroll import RLIMIT_PER_SECOND, Clock, gave_up

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
        self.dead: set[int] = set()  # conjuncts left out of every query from now on (Houdini drops them)
        self.queries = 0
        self.exact: set[int] = set()  # ids of wide bitmap terms counted exactly after all
        self.keep: list[Any] = []  # keeps those terms alive (the ids are z3's)
        # assumed invariants, encoded once per set of exactly counted terms: (term, its counts,
        # the sums it names)
        self.hyps: dict[tuple[int, frozenset[int]], tuple[Any, Counts, list[G]]] = {}
        # one variable per sum over the pre-state, shared by the assumed invariants and every
        # query: an invariant `n == sum(...)` and a step's `sum before + gains` then speak of
        # one term, which the solver cancels without bit-blasting the sum. A query ties the
        # variable to the sum's terms only once the sum is made precise.
        self.names: dict[G, Any] = {}

    def env_for(self, precise: set[G]) -> Env:
        """The pre-state of one query: sums and wide popcounts abstracted (except those made
        precise)."""
        counts = Counts(self.enc.masks, self.enc.width, self.exact)
        env = Env(self.pre, abstract={}, precise=precise, origin=self.pre, names=self.names, counts=counts)
        env.base = env
        return env

    def solver(self, hyp: set[int], env: Env) -> Any:
        s = z3.SolverFor("QF_UFBV")
        s.add(self.dom)
        assert env.counts is not None and env.abstract is not None
        for i in sorted(hyp):
            term, counts, sums = self.hyp(i)
            s.add(term)
            env.counts.merge((i, frozenset(self.exact)), counts)  # their counts are checked against a model too
            for g in sums:  # their sums are checked against a model too, and tied to their terms if precise
                if g not in env.abstract:
                    self.enc.sum_var(g, env)
        self.clock.limit(s)
        return s

    def hyp(self, i: int) -> tuple[Any, Counts, list[G]]:
        """Invariant conjunct i assumed in the pre-state, sums named by their shared
        variables, wide counts abstract (encoded once: the same z3 terms serve every query of
        every group)."""
        key = (i, frozenset(self.exact))
        hit = self.hyps.get(key)
        if hit is None:
            counts = Counts(self.enc.masks, self.enc.width, self.exact)
            sums: dict[G, tuple[G, Any]] = {}
            env = Env(self.pre, abstract=sums, origin=self.pre, names=self.names, counts=counts)
            term = z3.Not(self.enc.bad(self.conjs[i].g, env))
            hit = self.hyps[key] = (term, counts, list(sums))
        return hit

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

    def alive(self) -> set[int]:
        """The invariant conjuncts not dropped (by Houdini): what a query may assume."""
        return set(range(len(self.conjs))) - self.dead

    def refine(self, lm: LeafMap, hyp: set[int]) -> bool:
        """Assume the invariant conjuncts the counterexample's pre-state breaks."""
        bad = {i for i, c in enumerate(self.conjs) if i not in hyp and i not in self.dead and not _holds(c.g, lm)}
        hyp |= bad
        return bool(bad)

    def step(self, insts: list[Instance]) -> CTI | None:
        """Do these instances (one action, the same written leaves) preserve the invariants?
        All invariants they may break are asked about in one query first, within a budget;
        if that runs out, one query per invariant (each is a smaller problem). Every
        invariant is assumed in the pre-state from the first query: assumed only as
        counterexamples broke them, the SBM spec's groups at `linux` took up to 16 queries
        each and 82 s together, assumed at once mostly one query each and 42 s."""
        written = set(self.enc.writes[insts[0].id])
        scope_idx = [i for i, c in enumerate(self.conjs) if c.reads & written and i not in self.dead]
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
        hyp = self.alive()
        scope = set(written).union(*(self.conjs[i].reads for i in scope_idx))
        kept = {inst.id: [g for g in conjuncts(inst.guard) if reads(g) <= scope] for inst in insts}
        bits = max(1, (len(insts) - 1).bit_length())
        sel = z3.BitVec("sel", bits)
        precise: set[G] = set()
        query: _Query | None = None  # the encoding under the current abstraction, reused by refinements
        while True:
            if query is None:
                query = _Query(self, insts, scope_idx, written, precise, sel)
            env = query.env
            s = self.solver(hyp, env)
            if budget is not None:
                units = self.clock.rlimit()  # reproducible: never derived from the wall time left
                s.set("rlimit", budget if units is None else min(budget, units))
            if len(insts) < (1 << bits):
                s.add(z3.ULT(sel, len(insts)))
            for j, inst in enumerate(insts):
                s.add(z3.Implies(sel == j, query.ok(inst, kept[inst.id])))
            s.add(query.broken)
            self.side(s, env)
            if not self.check(s):
                return None
            zm = s.model()
            lm = readback.leafmap(enc, zm, self.pre)
            if self.concretize(env, zm, lm, precise):
                query = None
                continue
            inst = insts[zm.eval(sel, model_completion=True).as_long()]
            have = {id(g) for g in kept[inst.id]}
            missing = [g for g in conjuncts(inst.guard) if id(g) not in have and not _holds(g, lm)]
            kept[inst.id] += missing
            if missing:  # (every invariant is assumed already: nothing for `refine` to add)
                continue
            n_exact = len(self.exact)
            if self.recount(env, zm, hyp, precise):
                if len(self.exact) != n_exact or query.precise != precise:
                    query = None
                continue
            try:
                after = execute(inst, lm)
            except EvalError as exc:  # the encoding let the body run where the semantics fail: no verdict
                raise Unknown(f"{inst.label} fails in a state the encoding let it run in ({exc})") from None
            broken = next((self.conjs[i].prop for i in scope_idx if not _holds(self.conjs[i].g, after)), "")
            return CTI(broken, inst, lm, after)

    def excluded(
        self, cond: Callable[[Env], Any], budget: int | None = None, assume_all: bool = False
    ) -> LeafMap | None:
        """Is `cond(state)` impossible in every state satisfying all invariants? None if so,
        else a state satisfying the invariants and the condition. Sums start abstracted as
        bounded variables; a sum the counterexample gets wrong is made precise; an invariant
        conjunct the counterexample breaks is assumed (`assume_all`: every one from the
        start). `budget`: z3 resource units for each query (Unknown when spent).

        The condition is encoded once per abstraction (which sums are precise, which counts
        exact) and reused by the refinements that only assume more invariant conjuncts: over
        thousands of instances, encoding it costs more than the queries."""
        hyp: set[int] = self.alive() if assume_all else set()
        precise: set[G] = set()
        encoded: tuple[Env, Any, frozenset[G], int] | None = None
        while True:
            if encoded is None or (encoded[2], encoded[3]) != (frozenset(precise), len(self.exact)):
                env = self.env_for(precise)
                encoded = (env, cond(env), frozenset(precise), len(self.exact))
            env, c = encoded[0], encoded[1]
            s = self.solver(hyp, env)
            if budget is not None:
                units = self.clock.rlimit()
                s.set("rlimit", budget if units is None else min(budget, units))
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
        wrong = [
            g
            for g, (_, v) in env.abstract.items()
            if g not in precise and not _agrees(g, lm, zm.eval(v, model_completion=True))
        ]  # a precise sum is tied to its terms: where it is wrong, a count inside it is (`recount`)
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
        alive = self.alive()
        if not alive <= hyp:
            hyp |= alive
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
        """Can an instance fail (a runtime error) in a state satisfying the invariants? None
        if not, else such a state (the first action's, in action order)."""
        for failing in self.range_actions():
            lm = self.range_of(failing)
            if lm is not None:
                return lm
        return None

    def range_actions(self) -> list[list[Instance]]:
        """The instances that may fail, by action (in the ground model's order): one range
        query each (`range_of`)."""
        by_action: dict[str, list[Instance]] = {}
        for inst in self.enc.gm.instances:
            if self._may_fail(inst):
                by_action.setdefault(inst.action, []).append(inst)
        return list(by_action.values())

    def range_of(self, failing: list[Instance]) -> LeafMap | None:
        """Can one of these instances (of one action) fail in a state satisfying the
        invariants? One query asks for any of their errors at once (one query per instance,
        each refined from nothing, took thousands of queries on the two-device spec at
        `linux`). The query starts from no assumed invariant, as the refinements need:
        starting from what earlier actions needed made some of the SBM spec's queries take
        minutes. If it exceeds its budget, the instances are asked one by one."""
        many = f" ({len(failing)} instances)" if len(failing) > 1 else ""
        self.clock.note(f"induction: range, action `{failing[0].action}`{many}")
        if len(failing) > 1:
            try:
                return self.excluded(self._errors(failing), TOGETHER)
            except Unknown:
                if self.clock.over():
                    raise
        for inst in failing:
            lm = self.excluded(self._errors([inst]))
            if lm is not None:
                return lm
        return None

    def _errors(self, insts: list[Instance]) -> Callable[[Env], Any]:
        """The condition "one of these instances fails" over a state."""
        return lambda env: z3.Or([self.enc.instance(i, env).err for i in insts])

    def _may_fail(self, inst: Instance) -> bool:
        if not (may_fail(inst.guard) or may_fail(inst.body)):
            return False
        e = self.enc.instance(inst, self.env)
        return e.guard_err is not None or e.body_err is not None

    def deadlock_free(self) -> LeafMap | None:
        for inst in self.enc.gm.instances:
            if z3.is_true(z3.simplify(self.enc.instance(inst, self.env).ok)):
                return None  # an instance enabled everywhere (like `resize`)
        insts = self.enc.gm.instances

        # every invariant assumed from the start: refined one counterexample at a time (each
        # query assuming the conjuncts the last state broke), the SBM spec's deadlock query
        # at `linux` took 20 queries (48 s), all at once 8 (28 s). Range starts from none:
        # no faster so on the SBM spec, and minutes slower for some queries before.
        def none_enabled(env: Env) -> Any:
            return z3.And([z3.Not(self.enc.instance(i, env).ok) for i in insts])

        return self.excluded(none_enabled, assume_all=True)


class _Query:
    """One group's step query under one abstraction (which sums are precise, which counts
    exact): the instances' bodies and the broken-invariant disjunction over the post-state are
    encoded once and re-added to each refined query (refinements only add assumptions and guard
    conjuncts)."""

    def __init__(
        self, prover: Prover, insts: list[Instance], scope_idx: list[int], written: set[Key], precise: set[G], sel: Any
    ) -> None:
        enc = prover.enc
        self.enc = enc
        self.precise = set(precise)
        self.env = env = prover.env_for(precise)
        self.bodies = {inst.id: enc.instance(inst, env, []) for inst in insts}
        post = dict(prover.pre)
        chains: dict[Key, Any] = {k: prover.pre[k] for k in written}
        for j, inst in reversed(list(enumerate(insts))):
            for k, v in self.bodies[inst.id].post.items():
                chains[k] = z3.If(sel == j, v, chains[k])
        post.update(chains)
        penv = env.derive(post)
        self.broken = z3.Or([enc.bad(prover.conjs[i].g, penv) for i in scope_idx])

    def ok(self, inst: Instance, guard: list[G]) -> Any:
        """The instance is enabled under the kept guard conjuncts and runs without error."""
        g, gerr = self.enc.conj(guard, self.env)
        body = self.bodies[inst.id]
        return Encoded(inst, g, gerr, body.body_err, body.post).ok


def groups(gm: Ground, enc: Encoder) -> list[list[Instance]]:
    out: dict[tuple[str, frozenset[Key]], list[Instance]] = {}
    for inst in gm.instances:
        out.setdefault((inst.action, frozenset(enc.writes[inst.id])), []).append(inst)
    return list(out.values())

"""The one z3 encoding of the ground model, shared by every symbolic engine.

It encodes the same ground nodes `checker.codegen` compiles, with the same runtime-error
rules: bitmaps are bit-vectors of their width, integers and enums are signed bit-vectors of
one width wide enough for every interval the type checker computed, action bodies are in
SSA form (a later statement reads what an earlier one assigned), array reads with a dynamic
index are if-then-else chains. Every expression comes with the condition under which its
evaluation fails (index, bit or lowbits out of range, division by zero, an assignment out
of a range), so the engines report those as `range` violations exactly like the explicit
engine does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import z3

from model import typed as T
from model.domains import INF, BitmapT, BoolT, EnumT, IntT, Type, default
from model.ground import (
    Arr,
    Field,
    G,
    GFail,
    GIf,
    GLet,
    Ground,
    Grounder,
    GSet,
    GStmt,
    Instance,
    NAry,
    Select,
    Tmp,
    evaluate,
)
from model.walk import Key, reads, uses_tmp, writes
from model.walk import within as _within

from .bv import Err, _and, _bw, _find, _fit, _or, _pydiv, _pymod, _same
from .env import Env
from .moved import changed, moved_sum
from .popcount import EXACT_WIDTH, Masks, tree
from .sums import sum_var


@dataclass
class Encoded:
    """One action instance over a pre-state: enabledness, failure and the written leaves."""

    inst: Instance
    guard: Any  # z3 Bool
    guard_err: Err
    body_err: Err  # counts only where the guard holds
    post: dict[Key, Any]  # every leaf the body may write -> its value after the body

    @property
    def ok(self) -> Any:
        """Enabled and runs without a runtime error: the instance yields a successor."""
        bad = _or(self.guard_err, self.body_err)
        return self.guard if bad is None else z3.And(self.guard, z3.Not(bad))

    @property
    def err(self) -> Any:
        """A runtime error in the guard, or in the body of the enabled instance."""
        e = _or(self.guard_err, _and(self.guard, self.body_err))
        return z3.BoolVal(False) if e is None else e


def merge_branches(c: Any, a: Any, b: Any) -> Any:
    """If(c, a, b) with a common base taken out of an integer: `if c { x := x - 1 }` gives
    x + If(c, -1, 0), not If(c, x - 1, x) (the same value, wrap-around included). A counter
    changed in a loop then is a sum of one term per iteration, which z3's rewriter puts in the
    same form as an accounting sum's gains (`moved_sum`); as nested ifs, showing the two equal
    is an adder-chain identity that bit-blasting cannot do past a dozen terms."""
    if z3.is_bv(a):
        for x, y, flip in ((a, b, False), (b, a, True)):
            if (z3.is_app_of(x, z3.Z3_OP_BADD) or z3.is_app_of(x, z3.Z3_OP_BSUB)) and x.num_args() == 2:
                base, k = x.children()
                if base.eq(y):
                    step = k if z3.is_app_of(x, z3.Z3_OP_BADD) else -k
                    zero = z3.BitVecVal(0, k.size())
                    return y + (z3.If(c, zero, step) if flip else z3.If(c, step, zero))
    return z3.If(c, a, b)


def _int_width(gm: Ground) -> int:
    """One signed width for every integer: enough for the widest finite interval and every
    bitmap width seen."""
    need = 2
    seen: set[int] = set()
    stack: list[Any] = [gm.leaves, [i.guard for i in gm.instances], [i.body for i in gm.instances]]
    stack += [[g, goal] for _, g, goal in gm.properties]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, IntT):
            for b in (x.lo, x.hi):
                if abs(b) >= INF // 2:
                    return 64
                need = max(need, (b if b >= 0 else ~b).bit_length() + 2)
        elif isinstance(x, BitmapT) and x.width is not None:
            # bit indices are compared with the width (`i >= w`, `lowbits(k)` with k <= w)
            need = max(need, (x.width + 1).bit_length() + 2)
        elif hasattr(x, "__dataclass_fields__"):
            for name in x.__dataclass_fields__:
                if name != "span":
                    stack.append(getattr(x, name))
    return min(64, need)


class Encoder:
    """Builds z3 terms for states, expressions, instances and properties of one ground model."""

    def __init__(self, gm: Ground) -> None:
        self.gm = gm
        self.model = gm.model
        self.width = _int_width(gm)
        self.writes = {inst.id: writes(inst.body) for inst in gm.instances}
        self.types: dict[Key, Type] = {f.key: f.ty for f in gm.leaves}
        self._reads: dict[G, frozenset[Key]] = {}
        self.bits = max([f.ty.width or 1 for f in gm.leaves if isinstance(f.ty, BitmapT)], default=1)
        self.masks = Masks()  # low masks and single bits, for abstract counts

    def reads_of(self, g: G) -> frozenset[Key]:
        r = self._reads.get(g)
        if r is None:
            r = self._reads[g] = frozenset(reads(g))
        return r

    # ---- states
    def sort(self, t: Type) -> Any:
        if isinstance(t, BoolT):
            return z3.BoolSort()
        if isinstance(t, BitmapT):
            return z3.BitVecSort(_bw(t, self.bits))
        return z3.BitVecSort(self.width)

    def state(self, prefix: str) -> dict[Key, Any]:
        from model.ground import leaf_name

        return {f.key: z3.Const(f"{prefix}{leaf_name(self.model, f)}", self.sort(f.ty)) for f in self.gm.leaves}

    def domain(self, st: dict[Key, Any]) -> list[Any]:
        """Range and enum bounds of a state's leaves."""
        out = []
        for f in self.gm.leaves:
            v = st[f.key]
            if isinstance(f.ty, IntT):
                out += [v >= self.num(f.ty.lo), v <= self.num(f.ty.hi)]
            elif isinstance(f.ty, EnumT):
                out += [v >= 0, v < len(f.ty.members)]
            elif isinstance(f.ty, BitmapT) and f.ty.width == 0:
                out.append(v == 0)
        return out

    def init(self, st: dict[Key, Any]) -> list[Any]:
        """The initial-state constraint: fixed values, `any` variables only bounded."""
        out = []
        for v in self.model.vars:
            if v.any_init:
                continue
            if v.init is not None:
                value = evaluate(Grounder(self.model).expr(v.init, {}), {})
            else:
                value = default(v.ty)
            for f in self.gm.leaves:
                if f.var == v.name:
                    x = value
                    for i in f.path:  # an array initialised with one element value has it everywhere
                        x = x[i] if isinstance(x, tuple) else x
                    out.append(st[f.key] == self.const(f.ty, x))
        return out

    def leaf_type(self, key: Key) -> Type:
        return self.types[key]

    def num(self, v: int) -> Any:
        return z3.BitVecVal(v, self.width)

    def const(self, t: Type, v: object) -> Any:
        if isinstance(t, BoolT):
            return z3.BoolVal(bool(v))
        if isinstance(t, BitmapT):
            return z3.BitVecVal(int(v), _bw(t, self.bits))  # type: ignore[call-overload]
        return self.num(int(v))  # type: ignore[call-overload]

    def value(self, t: Type, v: Any) -> object:
        """A z3 model value back to the engines' Python value."""
        if isinstance(t, BoolT):
            return z3.is_true(v)
        if isinstance(t, BitmapT):
            return v.as_long()
        return v.as_signed_long()

    # ---- instances and properties
    def instance(self, inst: Instance, pre: Env, guard: list[G] | None = None) -> Encoded:
        """Encode an instance on a pre-state; `guard` (conjuncts of the guard) weakens it."""
        g, gerr = self.ex(inst.guard, pre) if guard is None else self.conj(guard, pre)
        env = pre.derive(dict(pre.fields))
        env.tmps = dict(pre.tmps)
        fields, berr = self.run(inst.body, env, None)
        return Encoded(inst, g, gerr, berr, {k: fields[k] for k in self.writes[inst.id]})

    def conj(self, gs: list[G], env: Env) -> tuple[Any, Err]:
        """`g1 and g2 and ...` over existing ground nodes (short-circuit failures)."""
        vals: list[Any] = []
        err: Err = None
        going: Any = None
        for g in gs:
            v, e = self.ex(g, env)
            err = _or(err, _and(going, e))
            vals.append(v)
            going = v if going is None else z3.And(going, v)
        if not vals:
            return z3.BoolVal(True), None
        return (vals[0] if len(vals) == 1 else z3.And(vals)), err

    def bad(self, g: G, env: Env) -> Any:
        """An invariant fails: false, or its evaluation fails (as in the explicit engine)."""
        v, e = self.ex(g, env)
        return z3.Not(v) if e is None else z3.Or(e, z3.Not(v))

    def holds(self, g: G, env: Env) -> Any:
        """A reachability goal holds: true and evaluated without an error."""
        v, e = self.ex(g, env)
        return v if e is None else z3.And(z3.Not(e), v)

    # ---- statements (SSA)
    def run(self, ss: tuple[GStmt, ...], env: Env, pc: Any) -> tuple[dict[Key, Any], Err]:
        err: Err = None
        for s in ss:
            if isinstance(s, GSet):
                v, e = self.ex(s.value, env)
                err = _or(err, _and(pc, e))
                t = s.field.ty
                if isinstance(t, IntT) and not _within(s.value.ty, t.lo, t.hi):
                    err = _or(err, _and(pc, z3.Or(v < self.num(t.lo), v > self.num(t.hi))))
                if isinstance(t, BitmapT):
                    v = _fit(v, _bw(t))
                fields = dict(env.fields)
                fields[s.field.key] = v
                env = env.derive(fields)
            elif isinstance(s, GLet):
                v, e = self.ex(s.value, env)
                err = _or(err, _and(pc, e))
                env.tmps[s.name] = v
                env = env.derive(env.fields)
            elif isinstance(s, GIf):
                c, e = self.ex(s.cond, env)
                err = _or(err, _and(pc, e))
                pt = c if pc is None else z3.And(pc, c)
                pe = z3.Not(c) if pc is None else z3.And(pc, z3.Not(c))
                tenv = env.derive(dict(env.fields))
                tenv.facts = self._facts(s.cond, env)
                ft, et = self.run(s.then, tenv, pt)
                fe, ee = self.run(s.other, env.derive(dict(env.fields)), pe)
                err = _or(err, _or(et, ee))
                merged = dict(env.fields)
                for k in set(ft) | set(fe):
                    a, b = ft[k], fe[k]
                    merged[k] = a if a is b else merge_branches(c, a, b)
                env = env.derive(merged)
            elif isinstance(s, GFail):
                err = _or(err, z3.BoolVal(True) if pc is None else pc)
        return env.fields, err

    def _facts(self, cond: G, env: Env) -> dict[int, tuple[Any, int]]:
        """The facts on the path where `cond` holds (what `x == literal` adds)."""
        if isinstance(cond, T.Bin) and cond.op == "==" and isinstance(cond.right, T.Lit):
            if isinstance(cond.left.ty, (IntT, EnumT)):
                x, _ = self.ex(cond.left, env)
                if not z3.is_bv_value(x):
                    v = self.const(cond.right.ty, cond.right.value).as_signed_long()
                    return {**env.facts, x.get_id(): (x, v)}
        return env.facts

    # ---- expressions: (value, failure condition)
    def ex(self, g: G, env: Env) -> tuple[Any, Err]:
        hit = env.memo.get(id(g))
        if hit is None:
            # sums and builtins recur in every instance's guard as equal but distinct
            # nodes (`plugged`): share their encoding by structure
            shared = isinstance(g, (NAry, T.Builtin))
            hit = env.memo.get(g) if shared else None  # type: ignore[call-overload]
            if hit is None:
                hit = self._ex(g, env)
                if shared:
                    env.memo[g] = hit  # type: ignore[index]
            env.memo[id(g)] = hit
        return hit

    def _ex(self, g: G, env: Env) -> tuple[Any, Err]:  # noqa: C901 - one case per node type
        if isinstance(g, T.Lit):
            return self.const(g.ty, g.value), None
        if isinstance(g, Field):
            return env.fields[g.key], None
        if isinstance(g, Tmp):
            return env.tmps[g.name], None
        if isinstance(g, Select):
            return self._select(g, env)
        if isinstance(g, NAry):
            return self._nary(g, env)
        if isinstance(g, T.Un):
            a, e = self.ex(g.operand, env)
            if g.op == "not":
                return z3.Not(a), e
            return (-a if g.op == "-" else ~a), e
        if isinstance(g, T.Bin):
            return self._bin(g, env)
        if isinstance(g, T.Member):
            v, err = self.ex(g.elem, env)
            opts = []
            for o in g.options:
                ov, oe = self.ex(o, env)
                err = _or(err, oe)
                x, y = _same(v, ov)
                opts.append(x == y)
            return z3.Or(opts) if opts else z3.BoolVal(False), err
        if isinstance(g, T.SetOf):
            w = _bw(g.ty, self.bits)
            consts = [int(el.value) for el in g.elems if isinstance(el, T.Lit)]  # type: ignore[call-overload]
            lits = sum(1 << k for k in consts if 0 <= k < w)
            acc: Any = z3.BitVecVal(lits, w) if lits or len(consts) == len(g.elems) else None
            # a constant bit past the width fails wherever it is evaluated, as in the reference semantics
            err = z3.BoolVal(True) if any(not 0 <= k < w for k in consts) else None
            for el in g.elems:
                if isinstance(el, T.Lit):
                    continue
                i, e = self.ex(el, env)
                err = _or(err, e)
                if not _within(el.ty, 0, w - 1):
                    err = _or(err, z3.Or(i < 0, i >= self.num(w)))
                one = self.masks.bit(z3.BitVecVal(1, w) << self._to(i, w), i)
                acc = one if acc is None else acc | one
            return acc, err
        if isinstance(g, T.BitTest):
            m, err = self.ex(g.bitmap, env)
            w = m.size()
            if isinstance(g.index, T.Lit):
                k = int(g.index.value)  # type: ignore[call-overload]
                if not 0 <= k < w:  # a bit past the width fails wherever it is evaluated
                    return z3.BoolVal(False), z3.BoolVal(True)
                return z3.Extract(k, k, m) == 1, err
            i, e = self.ex(g.index, env)
            err = _or(err, e)
            if not _within(g.index.ty, 0, w - 1):
                err = _or(err, z3.Or(i < 0, i >= self.num(w)))
            return z3.Extract(0, 0, z3.LShR(m, self._to(i, w))) == 1, err
        if isinstance(g, T.IteE):
            c, ce = self.ex(g.cond, env)
            a, ae = self.ex(g.then, env)
            b, be = self.ex(g.other, env)
            a, b = _same(a, b)
            return z3.If(c, a, b), _or(ce, _or(_and(c, ae), _and(z3.Not(c), be)))
        if isinstance(g, T.Builtin):
            return self._builtin(g, env)
        if isinstance(g, Arr):
            raise AssertionError("a whole array value outside an assignment or comparison")
        raise AssertionError(g)

    def _to(self, i: Any, w: int) -> Any:
        """An integer as a bit-vector of width w (for shift amounts into a bitmap)."""
        if w == self.width:
            return i
        if w > self.width:
            return z3.SignExt(w - self.width, i)
        return z3.Extract(w - 1, 0, i)

    def _select(self, g: Select, env: Env) -> tuple[Any, Err]:
        # the reference semantics: the index first, then only the chosen option (its error counts)
        ix, err = self.ex(g.index, env)
        opts, errs = [], []
        for o in g.options:
            v, e = self.ex(o, env)
            opts.append(v)
            errs.append(e)
        n = len(opts)
        known = env.facts.get(ix.get_id()) if z3.is_bv(ix) else None
        if known is not None and 0 <= known[1] - g.lo < n:  # the path fixes the index
            return opts[known[1] - g.lo], _or(err, errs[known[1] - g.lo])
        if isinstance(g.index.ty, BoolT):
            if n == 1:
                return opts[0], _or(err, errs[0])
            return z3.If(ix, opts[1], opts[0]), _or(err, _or(_and(ix, errs[1]), _and(z3.Not(ix), errs[0])))
        if not (_within(g.index.ty, g.lo, g.lo + n - 1) or isinstance(g.index.ty, EnumT)):
            err = _or(err, z3.Or(ix < self.num(g.lo), ix > self.num(g.lo + n - 1)))
        for j, e in enumerate(errs):
            err = _or(err, _and(ix == self.num(g.lo + j), e))
        out = opts[-1]
        for j in range(n - 2, -1, -1):
            out = z3.If(ix == self.num(g.lo + j), opts[j], out)
        return out, err

    def _nary(self, g: NAry, env: Env) -> tuple[Any, Err]:
        vals = []
        err: Err = None
        if g.op == "+":
            for a in g.args:
                v, e = self.ex(a, env)
                err = _or(err, e)
                vals.append(v)
            # a sum over a local `let` is a value of the body, not of a state: it is neither
            # abstracted nor written relative to the pre-state (which has no such let)
            local = uses_tmp(g)
            abstract = err is None and len(vals) > 1 and not local
            if abstract and env.abstracts(self.reads_of(g)):
                return self._sum_var(g, vals, env), None
            if len(vals) > 1 and not local and env.base is not None and env.base is not env and env.counts is not None:
                return self._moved(g, vals, env, env.base), err
            return z3.Sum(vals) if len(vals) > 1 else vals[0], err
        # `and` / `or` short-circuit: a later operand fails only if it is evaluated
        going: Any = None
        for a in g.args:
            v, e = self.ex(a, env)
            err = _or(err, _and(going, e))
            vals.append(v)
            step = v if g.op == "and" else z3.Not(v)
            going = step if going is None else z3.And(going, step)
        return (z3.And(vals) if g.op == "and" else z3.Or(vals)), err

    def sum_var(self, g: NAry, env: Env) -> Any:
        """The variable of sum `g` over `env`'s pre-state, registered in `env.abstract` (and
        tied to its terms when precise there)."""
        return self._sum_var(g, None, env)

    def _sum_var(self, g: NAry, vals: list[Any] | None, env: Env) -> Any:
        """The abstraction variable of sum `g` over the unchanged pre-state (see `sums`); its
        terms are encoded only where it is precise."""
        return sum_var(g, env, self.width, lambda: vals if vals is not None else [self.ex(a, env)[0] for a in g.args])

    def _moved(self, g: NAry, vals: list[Any], env: Env, base: Env) -> Any:
        """A sum after a step, relative to the same sum before it (see `moved_sum`), each
        term's gain guarded by when the leaves it reads change."""
        moved: list[Any] = []
        leaf: dict[Key, Any] = {}  # each leaf's condition, once for every term that reads it
        for a in g.args:
            for k in self.reads_of(a):
                if k not in leaf:
                    leaf[k] = changed(env.fields[k], base.fields[k])
            conds = [leaf[k] for k in self.reads_of(a)]
            conds = [c for c in conds if c is not False]
            moved.append(None if not conds else True if any(c is True for c in conds) else z3.Or(conds))
        return moved_sum(vals, [self.ex(a, base)[0] for a in g.args], self.ex(g, base)[0], moved)

    def _bin(self, g: T.Bin, env: Env) -> tuple[Any, Err]:
        op = g.op
        a, ae = self.ex(g.left, env)
        b, be = self.ex(g.right, env)
        if op in ("and", "or", "implies"):
            gate = z3.Not(a) if op == "or" else a
            err = _or(ae, _and(gate, be))
            if op == "and":
                return z3.And(a, b), err
            if op == "or":
                return z3.Or(a, b), err
            return z3.Implies(a, b), err
        err = _or(ae, be)
        a, b = _same(a, b)
        if op == "==":
            return a == b, err
        if op == "!=":
            return a != b, err
        if op in ("<", "<=", ">", ">="):
            return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op], err
        if op == "&":
            return a & b, err
        if op == "|":
            return a | b, err
        if op == "subseteq":
            return a & ~b == 0, err
        if op == "+":
            return a + b, err
        if op == "-":
            return a - b, err
        if op == "*":
            return a * b, err
        rb = int(g.right.value) if isinstance(g.right, T.Lit) else None  # type: ignore[call-overload]
        if op in ("/", "%"):
            if rb and rb > 0 and rb & (rb - 1) == 0:  # by 2**k: a shift and a mask, no divider circuit
                return (a >> (rb.bit_length() - 1) if op == "/" else a & (rb - 1)), err
            if not rb:
                err = _or(err, b == 0)
            if op == "%":
                return _pymod(a, b), err
            return _pydiv(a, b), err
        if op in ("<<", ">>"):
            if rb is None or not 0 <= rb <= 4096:
                err = _or(err, z3.Or(b < 0, b > 4096))
            return (a << b if op == "<<" else a >> b), err
        raise AssertionError(op)

    def _builtin(self, g: T.Builtin, env: Env) -> tuple[Any, Err]:
        err: Err = None
        args = []
        for x in g.args:
            v, e = self.ex(x, env)
            err = _or(err, e)
            args.append(v)
        if g.func in ("min", "max"):
            out = args[0]
            for v in args[1:]:
                out = z3.If(v < out, v, out) if g.func == "min" else z3.If(v > out, v, out)
            return out, err
        if g.func == "popcount":
            if env.counts is not None and args[0].size() > EXACT_WIDTH:
                return env.counts.count(args[0]), err
            return tree(args[0], self.width), err
        if g.func in ("lowest", "highest"):
            return _find(args[0], g.func == "lowest", self.width), err
        # lowbits(k) into a bitmap of width w
        w = _bw(g.ty, self.bits)
        k = args[0]
        if not _within(g.args[0].ty, 0, w):
            err = _or(err, z3.Or(k < 0, k > self.num(w)))
        if isinstance(g.args[0], T.Lit) and 0 <= int(g.args[0].value) <= w:  # type: ignore[call-overload]
            return z3.BitVecVal((1 << int(g.args[0].value)) - 1, w), err  # type: ignore[call-overload]
        m = max(w + 1, self.width)
        kk = k if m == self.width else z3.SignExt(m - self.width, k)
        full = (z3.BitVecVal(1, m) << kk) - 1
        return self.masks.lowbits(z3.Extract(w - 1, 0, full), k), err

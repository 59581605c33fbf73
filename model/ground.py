"""The ground form every engine reads: action instances with their parameters bound,
quantifiers unrolled, lets inlined, constants folded, array indices resolved to state
leaves where they are known. Also the reference evaluator of ground expressions, which
is the oracle the compiled engines are tested against.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import typed as T
from .domains import ArrayT, BitmapT, BoolT, EnumT, IntT, Type, default, index_label, size, values
from .errors import NOWHERE, Span


class EvalError(Exception):
    """A runtime error in a spec: index or bit out of range, division by zero."""


def _nowhere() -> Span:
    # a helper because the GSet field named `field` shadows dataclasses.field in its class body
    return field(default=NOWHERE, compare=False)  # type: ignore[no-any-return]


# ---- ground-only nodes
@dataclass(frozen=True)
class Field:
    """One leaf of the state: variable `var` at array positions `path`."""

    var: str
    path: tuple[int, ...]
    ty: Type

    @property
    def key(self) -> tuple[str, tuple[int, ...]]:
        return (self.var, self.path)


@dataclass(frozen=True)
class Select:
    """`options[index - lo]`: an array read whose index is only known at run time."""

    options: tuple[G, ...]
    index: G
    lo: int
    ty: Type
    what: str = ""


@dataclass(frozen=True)
class Arr:
    """A whole array value (its elements in index order)."""

    elems: tuple[G, ...]
    ty: Type


@dataclass(frozen=True)
class NAry:
    """and / or / + over many operands (unrolled quantifiers and sums)."""

    op: str
    args: tuple[G, ...]
    ty: Type


@dataclass(frozen=True)
class Tmp:
    """A local `let` inside an action body."""

    name: str
    ty: Type


G = Any  # a ground expression: T.Lit, Field, Select, Arr, NAry, Tmp, T.Un, T.Bin, ...


@dataclass(frozen=True)
class GSet:
    field: Field
    value: G
    span: Span = _nowhere()


@dataclass(frozen=True)
class GLet:
    name: str
    value: G


@dataclass(frozen=True)
class GIf:
    cond: G
    then: tuple[GStmt, ...]
    other: tuple[GStmt, ...]


@dataclass(frozen=True)
class GFail:
    message: str
    span: Span = _nowhere()


GStmt = GSet | GLet | GIf | GFail


@dataclass(frozen=True)
class Instance:
    """One action instance: the unit a trace step names, e.g. `plug_sb(b=1, s=3)`."""

    id: int
    action: str
    args: tuple[tuple[str, object], ...]  # parameter name -> value
    arg_types: tuple[Type, ...]
    guard: G
    body: tuple[GStmt, ...]
    fairness: str

    @property
    def label(self) -> str:
        if not self.args:
            return self.action
        shown = ", ".join(f"{n}={_show(t, v)}" for (n, v), t in zip(self.args, self.arg_types, strict=True))
        return f"{self.action}({shown})"


def _show(t: Type, v: object) -> str:
    if isinstance(t, EnumT):
        return t.members[int(v)]  # type: ignore[call-overload]
    if isinstance(t, BoolT):
        return "true" if v else "false"
    return str(v)


# ---- arithmetic shared by folding, the evaluator and the code generator
def arith_value(op: str, a: int, b: int) -> int | None:
    """Integer arithmetic; None where the result is undefined (division by zero, bad shift)."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op in ("/", "%"):
        if b == 0:
            return None
        return a // b if op == "/" else a % b
    if op in ("<<", ">>"):
        if b < 0 or b > 4096:
            return None
        return a << b if op == "<<" else a >> b
    raise ValueError(op)


def width_of(t: Type) -> int:
    assert isinstance(t, BitmapT) and t.width is not None, t
    return t.width


# ---- leaves of the state
def leaves(model: T.Model) -> list[Field]:
    """Every scalar leaf of the state, in declaration order, arrays unrolled."""
    out: list[Field] = []

    def walk(name: str, ty: Type, path: tuple[int, ...]) -> None:
        if isinstance(ty, ArrayT):
            for i in range(size(ty.index)):
                walk(name, ty.elem, path + (i,))
        else:
            out.append(Field(name, path, ty))

    for v in model.vars:
        walk(v.name, v.ty, ())
    return out


def leaf_name(model: T.Model, f: Field) -> str:
    """`dev[1]`, `mb[KERNEL]`: a leaf as a person writes it."""
    ty = model.var(f.var).ty
    s = f.var
    for p in f.path:
        assert isinstance(ty, ArrayT)
        s += f"[{index_label(ty.index, p)}]"
        ty = ty.elem
    return s


# ---- grounding
GROUND_LIMIT = 2_000_000  # unrolled terms (instances, quantifier terms, loop rounds) before we give up


class Grounder:
    def __init__(self, model: T.Model | None, sources: Mapping[str, str] | None = None) -> None:
        # None only while the checker folds constant expressions, which read no variables
        self.model: T.Model = model  # type: ignore[assignment]
        self.sources = dict(sources if sources is not None else (model.sources if model is not None else {}))
        self._tmp = itertools.count()
        self.work = 0

    def spend(self, n: int, span: Span, what: str) -> None:
        """Count unrolled terms; a spec whose constants make it astronomically large is an error,
        reported at the construct that unrolls, instead of a hang."""
        self.work += n
        if self.work > GROUND_LIMIT:
            from .errors import SpecError

            raise SpecError(
                f"{what} makes the model too large to unroll (more than {GROUND_LIMIT:,} terms);"
                " use smaller constants or types",
                span,
                self.sources.get(span.file),
            )

    def expr(self, e: T.Expr, env: Mapping[str, G]) -> G:
        g = self._expr(e, env)
        return g

    def _expr(self, e: T.Expr, env: Mapping[str, G]) -> G:
        if isinstance(e, T.Lit):
            return T.Lit(e.value, e.ty)
        if isinstance(e, T.Local):
            return env[e.name]
        if isinstance(e, T.VarRef):
            return self._whole(e.name, self.model.var(e.name).ty, ())
        if isinstance(e, T.Index):
            return self.index(self._expr(e.base, env), self._expr(e.index, env), e)
        if isinstance(e, T.BitTest):
            return fold(T.BitTest(self._expr(e.bitmap, env), self._expr(e.index, env)))
        if isinstance(e, T.Un):
            return fold(T.Un(e.op, self._expr(e.operand, env), e.ty))
        if isinstance(e, T.Bin):
            a, b = self._expr(e.left, env), self._expr(e.right, env)
            if isinstance(a, Arr) or isinstance(b, Arr):
                return self.array_eq(e.op, a, b)
            if e.op == "and":
                return nary("and", [a, b])
            if e.op == "or":
                return nary("or", [a, b])
            return fold(T.Bin(e.op, a, b, e.ty))
        if isinstance(e, T.Member):
            return fold(T.Member(self._expr(e.elem, env), tuple(self._expr(o, env) for o in e.options)))
        if isinstance(e, T.SetOf):
            return fold(T.SetOf(tuple(self._expr(x, env) for x in e.elems), e.ty))
        if isinstance(e, T.IteE):
            c = self._expr(e.cond, env)
            if isinstance(c, T.Lit):
                return self._expr(e.then if c.value else e.other, env)
            a, b = self._expr(e.then, env), self._expr(e.other, env)
            if isinstance(a, Arr):
                return Arr(tuple(fold(T.IteE(c, x, y, x.ty)) for x, y in zip(a.elems, b.elems, strict=True)), a.ty)
            return fold(T.IteE(c, a, b, e.ty))
        if isinstance(e, T.Builtin):
            return fold(T.Builtin(e.func, tuple(self._expr(a, env) for a in e.args), e.ty))
        if isinstance(e, T.LetRef):
            ld = self.model.lets[e.name]
            inner = {p: self._expr(a, env) for (p, _), a in zip(ld.params, e.args, strict=True)}
            return self._expr(ld.body, inner)
        if isinstance(e, T.QuantE):
            total = 1
            for _, t in e.binders:
                total *= size(t)
            self.spend(total, e.span, f"`{e.kind}` over {total:,} values")
            parts = []
            for vals in itertools.product(*(list(values(t)) for _, t in e.binders)):
                inner = dict(env)
                for (n, t), v in zip(e.binders, vals, strict=True):
                    inner[n] = T.Lit(v, t)
                b = self._expr(e.body, inner)
                if e.kind == "count":
                    b = fold(T.IteE(b, T.Lit(1, IntT(1, 1)), T.Lit(0, IntT(0, 0)), IntT(0, 1)))
                parts.append(b)
            op = {"forall": "and", "exists": "or", "count": "+", "sum": "+"}[e.kind]
            return nary(op, parts, e.ty)
        raise AssertionError(e)

    def _whole(self, name: str, ty: Type, path: tuple[int, ...]) -> G:
        if isinstance(ty, ArrayT):
            n = size(ty.index)
            return Arr(tuple(self._whole(name, ty.elem, path + (i,)) for i in range(n)), ty)
        return Field(name, path, ty)

    def index(self, base: G, ix: G, e: T.Index) -> G:
        assert isinstance(base, Arr), base
        aty = base.ty
        assert isinstance(aty, ArrayT)
        lo = aty.index.lo if isinstance(aty.index, IntT) else 0
        if isinstance(ix, T.Lit):
            return base.elems[int(ix.value) - lo]  # type: ignore[call-overload]
        if isinstance(aty.elem, ArrayT):
            # push the dynamic choice down to the leaves
            inner = [el for el in base.elems]
            return _select_array(inner, ix, lo, aty.elem)
        return Select(tuple(base.elems), ix, lo, aty.elem)

    def array_eq(self, op: str, a: G, b: G) -> G:
        parts = []
        for x, y in zip(a.elems, b.elems, strict=True):
            parts.append(self.array_eq("==", x, y) if isinstance(x, Arr) else fold(T.Bin("==", x, y, BoolT())))
        eq = nary("and", parts)
        return eq if op == "==" else fold(T.Un("not", eq, BoolT()))

    # ---- statements
    def stmts(self, ss: tuple[T.Stmt, ...], env: dict[str, G]) -> list[GStmt]:
        out: list[GStmt] = []
        env = dict(env)
        for s in ss:
            if isinstance(s, T.LetT):
                v = self._expr(s.value, env)
                if isinstance(v, (T.Lit, Arr)):
                    env[s.name] = v
                else:
                    name = f"{s.name}_{next(self._tmp)}"
                    out.append(GLet(name, v))
                    env[s.name] = Tmp(name, s.value.ty)
            elif isinstance(s, T.IfT):
                c = self._expr(s.cond, env)
                if isinstance(c, T.Lit):
                    out += self.stmts(s.then if c.value else s.other, env)
                else:
                    out.append(GIf(c, tuple(self.stmts(s.then, env)), tuple(self.stmts(s.other, env))))
            elif isinstance(s, T.ForT):
                self.spend(size(s.ty), s.span, f"`for {s.var}` over {size(s.ty):,} values")
                for v in values(s.ty):
                    out += self.stmts(s.body, {**env, s.var: T.Lit(v, s.ty)})
            elif isinstance(s, T.AssignT):
                out += self.assign(s, env)
        return out

    def assign(self, s: T.AssignT, env: Mapping[str, G]) -> list[GStmt]:
        path = [self._expr(p, env) for p in s.path]
        bit = self._expr(s.bit, env) if s.bit is not None else None
        value = self._expr(s.value, env)
        return self._assign_at(s, self.model.var(s.var).ty, (), path, bit, value)

    def _assign_at(
        self, s: T.AssignT, ty: Type, done: tuple[int, ...], rest: list[G], bit: G | None, value: G
    ) -> list[GStmt]:
        if rest:
            assert isinstance(ty, ArrayT)
            lo = ty.index.lo if isinstance(ty.index, IntT) else 0
            ix = rest[0]
            if isinstance(ix, T.Lit):
                return self._assign_at(s, ty.elem, done + (int(ix.value) - lo,), rest[1:], bit, value)  # type: ignore[call-overload]
            # dynamic index: one branch per position, an error past the end
            chain: list[GStmt] = [GFail(f"index {{}} of `{s.var}` is out of {ty.index}", s.span)]
            chain_ix = ix
            for pos in reversed(range(size(ty.index))):
                cond = fold(T.Bin("==", chain_ix, T.Lit(_index_value(ty.index, pos), ty.index), BoolT()))
                then = self._assign_at(s, ty.elem, done + (pos,), rest[1:], bit, value)
                chain = [GIf(cond, tuple(then), tuple(chain))]
            fail = chain
            return _bind_fail_index(fail, chain_ix)
        if isinstance(ty, ArrayT):
            assert isinstance(value, Arr)
            out: list[GStmt] = []
            for i, el in enumerate(value.elems):
                out += self._assign_at(s, ty.elem, done + (i,), [], None, el)
            return out
        f: G = Field(s.var, done, ty)
        if bit is not None:
            one = fold(T.SetOf((bit,), ty))
            value = fold(
                T.IteE(value, fold(T.Bin("|", f, one, ty)), fold(T.Bin("&", f, fold(T.Un("~", one, ty)), ty)), ty)
            )
        return [GSet(f, value, s.span)]


def _index_value(t: Type, pos: int) -> object:
    if isinstance(t, IntT):
        return t.lo + pos
    if isinstance(t, BoolT):
        return bool(pos)
    return pos


def _bind_fail_index(chain: list[GStmt], ix: G) -> list[GStmt]:
    # the failure message shows the index value at run time; engines format it
    return chain


def _select_array(rows: list[G], ix: G, lo: int, elem: ArrayT) -> Arr:
    n = len(rows[0].elems)
    cols: list[G] = []
    for j in range(n):
        col = [r.elems[j] for r in rows]
        if isinstance(elem.elem, ArrayT):
            cols.append(_select_array(col, ix, lo, elem.elem))
        else:
            cols.append(Select(tuple(col), ix, lo, elem.elem))
    return Arr(tuple(cols), elem)


# ---- folding
def nary(op: str, parts: list[G], ty: Type | None = None) -> G:
    ty = ty or BoolT()
    flat: list[G] = []
    const = 0
    for p in parts:
        if isinstance(p, NAry) and p.op == op:
            flat += p.args
        else:
            flat.append(p)
    out: list[G] = []
    for p in flat:
        if isinstance(p, T.Lit):
            if op == "and" and not p.value:
                return T.Lit(False, BoolT())
            if op == "or" and p.value:
                return T.Lit(True, BoolT())
            if op == "+":
                const += int(p.value)  # type: ignore[call-overload]
            continue
        out.append(p)
    if op == "+":
        if const or not out:
            out.append(T.Lit(const, IntT(const, const)))
        if len(out) == 1:
            return out[0]
        return NAry("+", tuple(out), ty)
    if not out:
        return T.Lit(op == "and", BoolT())
    if len(out) == 1:
        return out[0]
    return NAry(op, tuple(out), BoolT())


def _is_const(g: G) -> bool:
    return isinstance(g, T.Lit)


def fold(g: G) -> G:
    """Evaluate a node whose operands are all constants (errors stay for run time)."""
    kids: list[G]
    if isinstance(g, T.Un):
        kids = [g.operand]
    elif isinstance(g, T.Bin):
        if g.op == "implies" and isinstance(g.left, T.Lit):
            return g.right if g.left.value else T.Lit(True, BoolT())
        kids = [g.left, g.right]
    elif isinstance(g, T.Member):
        kids = [g.elem, *g.options]
    elif isinstance(g, (T.SetOf, T.Builtin)):
        kids = list(g.elems if isinstance(g, T.SetOf) else g.args)
    elif isinstance(g, T.BitTest):
        kids = [g.bitmap, g.index]
    elif isinstance(g, T.IteE):
        if isinstance(g.cond, T.Lit):
            return g.then if g.cond.value else g.other
        return g
    else:
        return g
    if all(_is_const(k) for k in kids):
        try:
            return T.Lit(evaluate(g, {}), g.ty)
        except EvalError:
            return g
    return g


# ---- the reference evaluator
def evaluate(
    g: G, state: Mapping[tuple[str, tuple[int, ...]], object], tmps: Mapping[str, object] | None = None
) -> Any:
    """Evaluate a ground expression; `state` maps leaf keys to values."""
    t = tmps or {}
    ev: Callable[[G], Any] = lambda x: evaluate(x, state, t)  # noqa: E731
    if isinstance(g, T.Lit):
        return g.value
    if isinstance(g, Field):
        return state[g.key]
    if isinstance(g, Tmp):
        return t[g.name]
    if isinstance(g, Arr):
        return tuple(ev(x) for x in g.elems)
    if isinstance(g, Select):
        i = int(ev(g.index)) - g.lo
        if not 0 <= i < len(g.options):
            raise EvalError(f"index {i + g.lo} is out of range{(' of ' + g.what) if g.what else ''}")
        return ev(g.options[i])
    if isinstance(g, NAry):
        if g.op == "and":
            return all(ev(x) for x in g.args)
        if g.op == "or":
            return any(ev(x) for x in g.args)
        return sum(int(ev(x)) for x in g.args)
    if isinstance(g, T.Un):
        v = ev(g.operand)
        if g.op == "not":
            return not v
        if g.op == "-":
            return -v
        return ((1 << width_of(g.ty)) - 1) ^ v
    if isinstance(g, T.Bin):
        op = g.op
        if op == "and":
            return bool(ev(g.left)) and bool(ev(g.right))
        if op == "or":
            return bool(ev(g.left)) or bool(ev(g.right))
        if op == "implies":
            return (not ev(g.left)) or bool(ev(g.right))
        a, b = ev(g.left), ev(g.right)
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        if op == ">=":
            return a >= b
        if op == "&":
            return a & b
        if op == "|":
            return a | b
        if op == "subseteq":
            return a & ~b == 0
        r = arith_value(op, a, b)
        if r is None:
            raise EvalError("division by zero" if op in "/%" else f"shift by {b}")
        return r
    if isinstance(g, T.Member):
        v = ev(g.elem)
        return any(v == ev(o) for o in g.options)
    if isinstance(g, T.SetOf):
        w = g.ty.width if isinstance(g.ty, BitmapT) else None
        m = 0
        for x in g.elems:
            i = int(ev(x))
            if i < 0 or (w is not None and i >= w):
                raise EvalError(f"bit {i} is out of 0..{(w or 1) - 1}")
            m |= 1 << i
        return m
    if isinstance(g, T.BitTest):
        m, i = ev(g.bitmap), int(ev(g.index))
        w = g.bitmap.ty.width if isinstance(g.bitmap.ty, BitmapT) else None
        if i < 0 or (w is not None and i >= w):
            raise EvalError(f"bit {i} is out of 0..{(w or 1) - 1}")
        return bool((m >> i) & 1)
    if isinstance(g, T.IteE):
        return ev(g.then) if ev(g.cond) else ev(g.other)
    if isinstance(g, T.Builtin):
        args = [ev(a) for a in g.args]
        if g.func == "min":
            return min(args)
        if g.func == "max":
            return max(args)
        if g.func == "popcount":
            return int(args[0]).bit_count()
        if g.func == "lowbits":
            k = int(args[0])
            w = g.ty.width if isinstance(g.ty, BitmapT) else None
            if k < 0 or (w is not None and k > w):
                raise EvalError(f"lowbits({k}) is out of 0..{w}")
            return (1 << k) - 1
    raise AssertionError(g)


def const_value(e: T.Expr, checker: Any) -> object:
    """The value of a typed constant expression (constants are already literals)."""
    from .errors import SpecError

    g = Grounder(None, checker.spec.sources)
    try:
        v = g.expr(e, {})
        if isinstance(v, T.Lit):
            return v.value
        return evaluate(v, {})
    except EvalError as exc:
        raise SpecError(str(exc), e.span, checker.spec.sources.get(e.span.file)) from None


# ---- the whole model
@dataclass
class Ground:
    """The ground model: leaves, initial states, instances, properties, in one place."""

    model: T.Model
    leaves: list[Field]
    instances: list[Instance]
    properties: list[tuple[T.PropT, G, G | None]]  # (prop, ground expr, ground goal)

    def initial_states(self) -> Iterator[dict[tuple[str, tuple[int, ...]], object]]:
        """Every initial state as a leaf map, in canonical order."""
        per_var: list[list[dict[tuple[str, tuple[int, ...]], object]]] = []
        for v in self.model.vars:
            if v.any_init:
                choices = list(values(v.ty))
            elif v.init is not None:
                choices = [_broadcast(v.ty, evaluate(Grounder(self.model).expr(v.init, {}), {}))]
            else:
                choices = [default(v.ty)]
            per_var.append([_flatten(v.name, v.ty, c) for c in choices])
        for combo in itertools.product(*per_var):
            st: dict[tuple[str, tuple[int, ...]], object] = {}
            for part in combo:
                st.update(part)
            yield st


def _broadcast(ty: Type, v: object) -> object:
    """An array variable initialised with one element value gets it in every element."""
    if isinstance(ty, ArrayT) and not isinstance(v, tuple):
        n = size(ty.index)
        return tuple(_broadcast(ty.elem, v) for _ in range(n))
    return v


def _flatten(name: str, ty: Type, v: object, path: tuple[int, ...] = ()) -> dict[tuple[str, tuple[int, ...]], object]:
    if isinstance(ty, ArrayT):
        out: dict[tuple[str, tuple[int, ...]], object] = {}
        seq: tuple[object, ...] = v  # type: ignore[assignment]
        for i, x in enumerate(seq):
            out.update(_flatten(name, ty.elem, x, path + (i,)))
        return out
    return {(name, path): v}


def ground(model: T.Model) -> Ground:
    gr = Grounder(model)
    instances: list[Instance] = []
    for a in model.actions:
        count = 1
        for _, t in a.params:
            count *= size(t)
        gr.spend(count, a.span, f"action `{a.name}` with {count:,} instances")
        doms = [list(values(t)) for _, t in a.params]
        for vals in itertools.product(*doms):
            env = {n: T.Lit(v, t) for (n, t), v in zip(a.params, vals, strict=True)}
            guard = gr.expr(a.guard, env)
            body = tuple(gr.stmts(a.body, dict(env)))
            instances.append(
                Instance(
                    len(instances),
                    a.name,
                    tuple((n, v) for (n, _), v in zip(a.params, vals, strict=True)),
                    tuple(t for _, t in a.params),
                    guard,
                    body,
                    a.fairness,
                )
            )
    props = []
    for p in model.properties:
        props.append((p, gr.expr(p.expr, {}), gr.expr(p.goal, {}) if p.goal is not None else None))
    return Ground(model, leaves(model), instances, props)


def execute(
    inst: Instance, state: Mapping[tuple[str, tuple[int, ...]], object], check_ranges: bool = False
) -> dict[tuple[str, tuple[int, ...]], object]:
    """Run an instance's body on a leaf map (reference semantics; raises EvalError, and with
    check_ranges also for a value assigned outside its variable's range)."""
    cur = dict(state)
    tmps: dict[str, object] = {}

    def run(ss: tuple[GStmt, ...] | list[GStmt]) -> None:
        for s in ss:
            if isinstance(s, GSet):
                v = evaluate(s.value, cur, tmps)
                t = s.field.ty
                if check_ranges and isinstance(t, IntT) and not t.lo <= v <= t.hi:
                    raise EvalError(f"`{s.field.var}` := {v} is out of its range {t.lo}..{t.hi}")
                cur[s.field.key] = v
            elif isinstance(s, GLet):
                tmps[s.name] = evaluate(s.value, cur, tmps)
            elif isinstance(s, GIf):
                run(s.then if evaluate(s.cond, cur, tmps) else s.other)
            elif isinstance(s, GFail):
                raise EvalError(s.message.replace("{}", "?"))

    run(inst.body)
    return cur

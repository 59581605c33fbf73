"""The ground form every engine reads: action instances with their parameters bound,
quantifiers unrolled, lets inlined, constants folded, array indices resolved to state
leaves where they are known. The ground nodes (`ground_nodes`), the reference semantics
(`semantics`) and constant folding (`folding`) are re-exported from here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from . import typed as T
from .domains import ArrayT, BoolT, IntT, Type, default, index_label, size, values
from .errors import Span
from .folding import fold, nary
from .ground_nodes import Arr, Field, G, GFail, GIf, GLet, GSet, GStmt, Instance, NAry, Select, Tmp
from .semantics import EvalError, arith_value, evaluate, execute, width_of

# engines and tests import the nodes, the evaluator and the folding helpers from here
__all__ = [
    "GROUND_LIMIT",
    "Arr",
    "EvalError",
    "Field",
    "G",
    "GFail",
    "GIf",
    "GLet",
    "GSet",
    "GStmt",
    "Ground",
    "Grounder",
    "Instance",
    "NAry",
    "Select",
    "Tmp",
    "arith_value",
    "const_value",
    "evaluate",
    "execute",
    "fold",
    "ground",
    "leaf_name",
    "leaves",
    "nary",
    "width_of",
]


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
        if isinstance(ix, T.Lit) and 0 <= int(ix.value) - lo < len(base.elems):  # type: ignore[call-overload]
            return base.elems[int(ix.value) - lo]  # type: ignore[call-overload]
        # a run-time index, or a constant one past the end: a range error if it is read
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
                pos = int(ix.value) - lo  # type: ignore[call-overload]
                if 0 <= pos < len(list(values(ty.index))):
                    return self._assign_at(s, ty.elem, done + (pos,), rest[1:], bit, value)
                return [GFail(f"index {ix.value} of `{s.var}` is out of {ty.index}", s.span)]
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
        """Every initial state as a leaf map, in canonical order (the first variable varies
        slowest). Lazy: `= any` over a huge type yields its first states at once, so a
        search's budget can stop it."""
        choices: list[Callable[[], Iterator[dict[tuple[str, tuple[int, ...]], object]]]] = []
        for v in self.model.vars:
            if v.any_init:
                choices.append(lambda v=v: (_flatten(v.name, v.ty, c) for c in values(v.ty)))  # type: ignore[misc]
                continue
            if v.init is not None:
                value = _broadcast(v.ty, evaluate(Grounder(self.model).expr(v.init, {}), {}))
            else:
                value = default(v.ty)
            fixed = _flatten(v.name, v.ty, value)
            choices.append(lambda fixed=fixed: iter((fixed,)))  # type: ignore[misc]
        if not choices:
            yield {}
            return
        # an odometer over the variables' choices (itertools.product would list every choice first)
        its = [choices[0]()]
        parts: list[dict[tuple[str, tuple[int, ...]], object]] = []
        while its:
            part = next(its[-1], None)
            if part is None:
                its.pop()
                if parts:
                    parts.pop()
                continue
            if len(parts) == len(its):
                parts[-1] = part
            else:
                parts.append(part)
            if len(its) < len(choices):
                its.append(choices[len(its)]())
                continue
            st: dict[tuple[str, tuple[int, ...]], object] = {}
            for p in parts:
                st.update(p)
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

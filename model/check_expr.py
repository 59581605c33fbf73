"""Typing of expressions, constant expressions and type expressions: the half of the checker
that names, constants, types and expressions share. `check._Checker` adds the declarations,
configurations and statements on top of it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from . import syntax as S
from . import typed as T
from .domains import INF, ArrayT, BitmapT, BoolT, EnumT, IntT, SetT, Type
from .errors import Span, SpecError
from .load import Spec

BUILTINS = {"min", "max", "popcount", "lowbits", "lowest", "highest"}
MAX_INT = INF - 1  # integers beyond this would collide with the "unbounded" marker
MAX_ELEMENTS = 1 << 20  # state leaves of one array variable (engines unroll every element)


def _clamp(v: int) -> int:
    return max(-INF, min(INF, v))


@dataclass
class Entry:
    kind: str  # const, enum, type, var, let, member, action, property
    span: Span
    value: object = None


@dataclass
class Scope:
    locals: dict[str, Type] = field(default_factory=dict)
    allow_vars: bool = True
    what: str = ""  # where a constant expression is required, for messages

    def child(self, **more: Type) -> Scope:
        d = dict(self.locals)
        d.update(more)
        return Scope(d, self.allow_vars, self.what)


class ExprChecker:
    """The names declared so far, and the typing of expressions and types against them."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.names: dict[str, Entry] = {}
        self.consts: dict[str, int] = {}
        self.enums: dict[str, EnumT] = {}
        self.types: dict[str, Type] = {}
        self.vars: dict[str, T.VarT] = {}
        self.lets: dict[str, T.LetDef] = {}

    # ---- errors
    def err(self, msg: str, span: Span) -> SpecError:
        return SpecError(msg, span, self.spec.sources.get(span.file))

    def undefined(self, name: str, span: Span, scope: Scope | None, what: str = "") -> SpecError:
        pool = list(self.names) + (list(scope.locals) if scope else [])
        close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        return self.err(f"`{name}` is not defined{what}{hint}", span)

    # ---- constants and types
    def const_int(self, e: S.Expr, what: str) -> int:
        from .ground import const_value

        te = self.expr(e, Scope(allow_vars=False, what=what), None)
        if not isinstance(te.ty, IntT):
            raise self.err(f"{what} must be an integer, not {te.ty}", e.span)
        return int(const_value(te, self))  # type: ignore[call-overload]

    def resolve_type(self, t: S.TypeExpr) -> Type:
        if isinstance(t, S.BoolType):
            return BoolT()
        if isinstance(t, S.RangeType):
            lo = self.const_int(t.lo, "a range bound")
            hi = self.const_int(t.hi, "a range bound")
            if lo > hi:
                raise self.err(f"empty range {lo}..{hi}: the lower bound is above the upper", t.span)
            return IntT(lo, hi)
        if isinstance(t, S.BitmapType):
            w = self.const_int(t.width, "a bitmap width")
            if not 1 <= w <= 4096:
                raise self.err(f"bitmap width {w} is out of 1..4096", t.span)
            return BitmapT(w)
        if isinstance(t, S.ArrayType):
            idx = self.resolve_type(t.index)
            if not T.is_index_type(idx):
                raise self.err(f"an array index must be a range, an enum or bool, not {idx}", t.index.span)
            arr = ArrayT(idx, self.resolve_type(t.elem))  # type: ignore[arg-type]
            if _leaf_count(arr) > MAX_ELEMENTS:
                raise self.err(
                    f"the array type {arr} has {_leaf_count(arr):,} elements; at most {MAX_ELEMENTS:,} are supported",
                    t.span,
                )
            return arr
        if isinstance(t, S.NamedType):
            if t.name in self.enums:
                return self.enums[t.name]
            if t.name in self.types:
                return self.types[t.name]
            e = self.names.get(t.name)
            if e is not None:
                raise self.err(f"`{t.name}` is a {e.kind}, not a type", t.span)
            close = difflib.get_close_matches(t.name, list(self.enums) + list(self.types) + ["bool", "bitmap"], n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise self.err(f"unknown type `{t.name}`{hint}", t.span)
        raise AssertionError(t)

    def index_type(self, t: S.TypeExpr, what: str) -> T.IndexT:
        ty = self.resolve_type(t)
        if not T.is_index_type(ty):
            raise self.err(f"{what} must range over a range, an enum or bool, not {ty}", t.span)
        return ty  # type: ignore[return-value]

    def assignable(self, target: Type, value: T.Expr, span: Span, what: str) -> None:
        vt = value.ty
        if isinstance(target, IntT) and isinstance(vt, IntT):
            if vt.hi < target.lo or vt.lo > target.hi:
                if isinstance(value, T.Lit):
                    raise self.err(f"{value.value} is out of {what}'s range {target}", span)
            return
        if isinstance(target, BitmapT) and isinstance(vt, BitmapT):
            if vt.width is None or vt.width == target.width:
                return
        elif target == vt:
            return
        raise self.err(f"type mismatch: {what} is {target}, but the value is {_show(value)}", span)

    # ---- expressions
    def bool_expr(self, e: S.Expr, scope: Scope) -> T.Expr:
        te = self.expr(e, scope, BoolT())
        if not isinstance(te.ty, BoolT):
            raise self.err(f"expected a condition (bool), but this is {te.ty}", e.span)
        return te

    def int_expr(self, e: S.Expr, scope: Scope, what: str) -> T.Expr:
        te = self.expr(e, scope, None)
        if not isinstance(te.ty, IntT):
            raise self.err(f"{what} must be an integer, not {te.ty}", e.span)
        return te

    def index_expr(self, e: S.Expr, ity: Type, scope: Scope, base: str, bitmap: int | None = None) -> T.Expr:
        te = self.expr(e, scope, ity)
        if isinstance(ity, IntT):
            what = f"is bitmap({bitmap})" if bitmap is not None else f"is indexed by {ity}"
            word = "bit" if bitmap is not None else "index"
            if not isinstance(te.ty, IntT):
                raise self.err(f"`{base}` {what}; this {word} is {te.ty}", e.span)
            if te.ty.hi < ity.lo or te.ty.lo > ity.hi:
                shown = str(te.value) if isinstance(te, T.Lit) else str(te.ty)
                raise self.err(f"`{base}` {what}; {word} {shown} is out of {ity.lo}..{ity.hi}", e.span)
        elif te.ty != ity:
            raise self.err(f"`{base}` is indexed by {ity}; this index is {te.ty}", e.span)
        return te

    def expr(self, e: S.Expr, scope: Scope, expected: Type | None) -> T.Expr:
        if isinstance(e, S.IntLit):
            if e.value > MAX_INT:
                raise self.err(f"the number {_short(e.value)} is too large (at most {MAX_INT})", e.span)
            return T.Lit(e.value, IntT(e.value, e.value), e.span)
        if isinstance(e, S.BoolLit):
            return T.Lit(e.value, BoolT(), e.span)
        if isinstance(e, S.Name):
            return self.name(e, scope)
        if isinstance(e, S.Index):
            return self.index(e, scope)
        if isinstance(e, S.Call):
            return self.call(e, scope, expected)
        if isinstance(e, S.Unop):
            return self.unop(e, scope, expected)
        if isinstance(e, S.Binop):
            return self.binop(e, scope, expected)
        if isinstance(e, S.SetLit):
            return self.setlit(e, scope, expected)
        if isinstance(e, S.Ite):
            c = self.bool_expr(e.cond, scope)
            a = self.expr(e.then, scope, expected)
            b = self.expr(e.other, scope, expected if expected is not None else a.ty)
            if isinstance(a.ty, BitmapT) and a.ty.width is None and isinstance(b.ty, BitmapT):
                a = self.expr(e.then, scope, b.ty)
            ty = self.join(a.ty, b.ty, e.span, "the two branches of `if`")
            return T.IteE(c, a, b, ty, e.span)
        if isinstance(e, S.Quant):
            return self.quant(e, scope)
        raise AssertionError(e)

    def join(self, a: Type, b: Type, span: Span, what: str) -> Type:
        if isinstance(a, IntT) and isinstance(b, IntT):
            return IntT(min(a.lo, b.lo), max(a.hi, b.hi))
        if isinstance(a, BitmapT) and isinstance(b, BitmapT):
            if a.width is None or b.width is None or a.width == b.width:
                return BitmapT(a.width if a.width is not None else b.width)
        elif a == b:
            return a
        raise self.err(f"type mismatch: {what} are {a} and {b}", span)

    def name(self, e: S.Name, scope: Scope) -> T.Expr:
        if e.id in scope.locals:
            return T.Local(e.id, scope.locals[e.id], e.span)
        ent = self.names.get(e.id)
        if ent is None:
            if e.id in BUILTINS:
                raise self.err(f"`{e.id}` is a function: call it as `{e.id}(...)`", e.span)
            raise self.undefined(e.id, e.span, scope)
        if ent.kind == "const":
            if e.id not in self.consts:
                raise self.err(f"constant `{e.id}` is used before it is defined", e.span)
            v = self.consts[e.id]
            return T.Lit(v, IntT(v, v), e.span)
        if ent.kind == "member":
            en = self.enums[str(ent.value)]
            return T.Lit(en.members.index(e.id), en, e.span)
        if ent.kind == "var":
            if not scope.allow_vars:
                raise self.err(f"{scope.what} must be a constant expression, but `{e.id}` is a variable", e.span)
            return T.VarRef(e.id, self.vars[e.id].ty, e.span)
        if ent.kind == "let":
            if e.id not in self.lets:
                raise self.err(f"`{e.id}` is used before it is defined (lets may use earlier lets)", e.span)
            ld = self.lets[e.id]
            if ld.params:
                raise self.err(f"`{e.id}` takes {plural(len(ld.params), 'argument')}: write `{e.id}(...)`", e.span)
            if not scope.allow_vars:
                raise self.err(f"{scope.what} must be a constant expression, not the let `{e.id}`", e.span)
            return T.LetRef(e.id, (), ld.ty, e.span)
        raise self.err(f"`{e.id}` is a {ent.kind}, not a value", e.span)

    def index(self, e: S.Index, scope: Scope) -> T.Expr:
        base = self.expr(e.base, scope, None)
        bt = base.ty
        what = base.name if isinstance(base, (T.VarRef, T.Local)) else "this value"
        if isinstance(bt, ArrayT):
            ix = self.index_expr(e.index, bt.index, scope, what)
            return T.Index(base, ix, bt.elem, e.span)
        if isinstance(bt, BitmapT):
            if bt.width is None:
                raise self.err("cannot tell this bitmap's width", e.base.span)
            ix = self.index_expr(e.index, IntT(0, bt.width - 1), scope, what, bt.width)
            return T.BitTest(base, ix, BoolT(), e.span)
        raise self.err(f"`{what}` is {bt}; only arrays and bitmaps can be indexed", e.span)

    def call(self, e: S.Call, scope: Scope, expected: Type | None) -> T.Expr:
        f, args = e.func, e.args
        if f in ("min", "max"):
            if len(args) < 2:
                raise self.err(f"`{f}` takes at least 2 arguments, got {len(args)}", e.span)
            targs = [self.int_expr(a, scope, f"an argument of `{f}`") for a in args]
            los = [a.ty.lo for a in targs]  # type: ignore[union-attr]
            his = [a.ty.hi for a in targs]  # type: ignore[union-attr]
            pick = min if f == "min" else max
            return T.Builtin(f, tuple(targs), IntT(pick(los), pick(his)), e.span)
        if f in ("popcount", "lowest", "highest"):
            if len(args) != 1:
                raise self.err(f"`{f}` takes 1 argument, got {len(args)}", e.span)
            a = self.expr(args[0], scope, None)
            if not isinstance(a.ty, BitmapT):
                raise self.err(f"`{f}` takes a bitmap, not {a.ty}", args[0].span)
            w = a.ty.width
            if w is None:
                raise self.err(
                    f"cannot tell this bitmap's width; `{f}` needs a bitmap variable or an expression using one",
                    args[0].span,
                )
            # lowest: the smallest member, the width if empty; highest: the largest, -1 if empty
            ty = IntT(0, w) if f != "highest" else IntT(-1, w - 1)
            return T.Builtin(f, (a,), ty, e.span)
        if f == "lowbits":
            if len(args) != 1:
                raise self.err(f"`lowbits` takes 1 argument, got {len(args)}", e.span)
            k = self.int_expr(args[0], scope, "the argument of `lowbits`")
            w = expected.width if isinstance(expected, BitmapT) else None
            return T.Builtin(f, (k,), BitmapT(w), e.span)
        ent = self.names.get(f)
        if ent is None or ent.kind != "let":
            if ent is not None:
                raise self.err(f"`{f}` is a {ent.kind}, not a function", e.span)
            close = difflib.get_close_matches(f, [*BUILTINS, *self.lets], n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise self.err(f"unknown function `{f}`{hint}", e.span)
        if f not in self.lets:
            raise self.err(f"`{f}` is used before it is defined (lets may use earlier lets)", e.span)
        ld = self.lets[f]
        if len(args) != len(ld.params):
            raise self.err(f"`{f}` takes {plural(len(ld.params), 'argument')}, got {len(args)}", e.span)
        if not scope.allow_vars:
            raise self.err(f"{scope.what} must be a constant expression, not the let `{f}`", e.span)
        targs = []
        for (pname, pty), arg in zip(ld.params, args, strict=True):
            ta = self.expr(arg, scope, pty)
            self.assignable(pty, ta, arg.span, f"parameter `{pname}` of `{f}`")
            targs.append(ta)
        return T.LetRef(f, tuple(targs), ld.ty, e.span)

    def unop(self, e: S.Unop, scope: Scope, expected: Type | None) -> T.Expr:
        if e.op == "not":
            return T.Un("not", self.bool_expr(e.operand, scope), BoolT(), e.span)
        if e.op == "-":
            a = self.int_expr(e.operand, scope, "the operand of `-`")
            if isinstance(a, T.Lit):
                return T.Lit(-int(a.value), IntT(-int(a.value), -int(a.value)), e.span)  # type: ignore[call-overload]
            return T.Un("-", a, IntT(_clamp(-a.ty.hi), _clamp(-a.ty.lo)), e.span)  # type: ignore[union-attr]
        a = self.expr(e.operand, scope, expected if isinstance(expected, BitmapT) else None)
        if not isinstance(a.ty, BitmapT):
            raise self.err(f"`~` takes a bitmap, not {a.ty}", e.operand.span)
        ty = a.ty
        if ty.width is None:  # e.g. `~full` with `let full = lowbits(S)`: the context gives the width
            if not isinstance(expected, BitmapT) or expected.width is None:
                raise self.err(
                    "cannot tell the width of this `~`; combine it with a typed bitmap (`m & ~x`)"
                    " or declare the let's type (`let r : bitmap(N) = ...`)",
                    e.span,
                )
            ty = expected
        return T.Un("~", a, ty, e.span)

    def binop(self, e: S.Binop, scope: Scope, expected: Type | None) -> T.Expr:
        op = e.op
        if op in ("and", "or", "implies"):
            return T.Bin(op, self.bool_expr(e.left, scope), self.bool_expr(e.right, scope), BoolT(), e.span)
        if op == "in":
            left = self.expr(e.left, scope, None)
            if isinstance(e.right, S.SetLit) and not isinstance(left.ty, BitmapT):
                opts = tuple(self.expr(x, scope, left.ty) for x in e.right.elems)
                for o, x in zip(opts, e.right.elems, strict=True):
                    if isinstance(left.ty, IntT) and isinstance(o.ty, IntT):
                        continue
                    if o.ty != left.ty:
                        raise self.err(f"type mismatch: `in` compares {left.ty} with {o.ty}", x.span)
                return T.Member(left, opts, BoolT(), e.span)
            right = self.expr(e.right, scope, None)
            if not isinstance(right.ty, BitmapT):
                raise self.err(f"`in` needs a set `{{...}}` or a bitmap on the right, not {right.ty}", e.right.span)
            if not isinstance(left.ty, IntT):
                raise self.err(f"a bitmap holds integers; `in` got {left.ty}", e.left.span)
            w = right.ty.width
            if w is not None and (left.ty.hi < 0 or left.ty.lo > w - 1):
                # the rule of `m[i]`: a bit that is out of range whatever the state is a static error
                what = right.name if isinstance(right, (T.VarRef, T.Local)) else "this value"
                shown = str(left.value) if isinstance(left, T.Lit) else str(left.ty)
                raise self.err(f"`{what}` is bitmap({w}); bit {shown} is out of 0..{w - 1}", e.left.span)
            return T.BitTest(right, left, BoolT(), e.span)
        if op in ("+", "-", "*", "/", "%", "<<", ">>", "<", "<=", ">", ">="):
            a = self.int_expr(e.left, scope, f"the left operand of `{op}`")
            b = self.int_expr(e.right, scope, f"the right operand of `{op}`")
            if op in ("<", "<=", ">", ">="):
                return T.Bin(op, a, b, BoolT(), e.span)
            return self.arith(op, a, b, e.span)
        if op in ("==", "!=", "&", "|", "subseteq"):
            want = expected if op in ("&", "|") and isinstance(expected, BitmapT) else None
            a = self.expr(e.left, scope, want)
            b = self.expr(e.right, scope, a.ty if isinstance(a.ty, (BitmapT, EnumT)) else want)
            if isinstance(a.ty, BitmapT) and a.ty.width is None and isinstance(b.ty, BitmapT):
                a = self.expr(e.left, scope, b.ty)
            if op in ("&", "|", "subseteq"):
                for tx, sx in ((a, e.left), (b, e.right)):
                    if not isinstance(tx.ty, BitmapT):
                        raise self.err(f"`{op}` combines bitmaps; this is {tx.ty}", sx.span)
                ty = self.join(a.ty, b.ty, e.span, f"the operands of `{op}`")
                return T.Bin(op, a, b, BoolT() if op == "subseteq" else ty, e.span)
            self.join(a.ty, b.ty, e.span, f"the operands of `{op}`")
            if isinstance(a.ty, SetT) or isinstance(b.ty, SetT):
                raise self.err("a set literal can only be used with `in`", e.span)
            return T.Bin(op, a, b, BoolT(), e.span)
        raise self.err(f"unknown operator `{op}`", e.span)

    def arith(self, op: str, a: T.Expr, b: T.Expr, span: Span) -> T.Expr:
        x, y = a.ty, b.ty
        assert isinstance(x, IntT) and isinstance(y, IntT)
        if isinstance(a, T.Lit) and isinstance(b, T.Lit):
            from .semantics import arith_value

            v = arith_value(op, int(a.value), int(b.value))  # type: ignore[call-overload]
            if v is None:
                raise self.err(f"`{op}` by zero" if op in "/%" else f"bad shift by {b.value}", span)
            if abs(v) > MAX_INT:
                raise self.err(f"`{op}` gives {_short(v)}, beyond the largest integer {MAX_INT}", span)
            return T.Lit(v, IntT(v, v), span)
        if op == "+":
            ty = IntT(_clamp(x.lo + y.lo), _clamp(x.hi + y.hi))
        elif op == "-":
            ty = IntT(_clamp(x.lo - y.hi), _clamp(x.hi - y.lo))
        elif op == "*" and x.bounded and y.bounded:
            ps = [x.lo * y.lo, x.lo * y.hi, x.hi * y.lo, x.hi * y.hi]
            ty = IntT(_clamp(min(ps)), _clamp(max(ps)))
        elif op == "%" and y.bounded and y.lo > 0 and x.lo >= 0:
            ty = IntT(0, y.hi - 1)
        elif op == "/" and y.bounded and y.lo > 0 and x.bounded and x.lo >= 0:
            ty = IntT(x.lo // y.hi, x.hi // y.lo)
        elif op == "%" and y.bounded:
            # floor modulo takes the divisor's sign and stays below its magnitude (0: an error)
            ty = IntT(min(0, y.lo + 1), max(0, y.hi - 1))
        elif op == "/" and y.bounded and x.bounded:
            # |floor(a / b)| <= |a| for every divisor b != 0: tight types keep the symbolic integers narrow
            big = max(abs(x.lo), abs(x.hi))
            ty = IntT(-big, big)
        else:
            ty = IntT()
        return T.Bin(op, a, b, ty, span)

    def setlit(self, e: S.SetLit, scope: Scope, expected: Type | None) -> T.Expr:
        if isinstance(expected, BitmapT) or expected is None:
            w = expected.width if isinstance(expected, BitmapT) else None
            elems = []
            for x in e.elems:
                ity = IntT(0, w - 1) if w is not None else IntT(0, INF)
                te = self.expr(x, scope, None)
                if not isinstance(te.ty, IntT):
                    if expected is None:
                        raise self.err("a set literal here can only be used with `in`", e.span)
                    raise self.err(f"a bitmap literal holds integers, not {te.ty}", x.span)
                if te.ty.hi < ity.lo or te.ty.lo > ity.hi:
                    shown = str(te.value) if isinstance(te, T.Lit) else str(te.ty)
                    raise self.err(f"bit {shown} is out of 0..{(w or 1) - 1}", x.span)
                elems.append(te)
            return T.SetOf(tuple(elems), BitmapT(w), e.span)
        raise self.err(f"expected {expected}, found a set literal", e.span)

    def quant(self, e: S.Quant, scope: Scope) -> T.Expr:
        binders: list[tuple[str, Type]] = []
        inner = scope.child()
        n = 1
        from .domains import size

        for b in e.binders:
            ty = self.index_type(b.type, f"`{e.kind}` variable `{b.name}`")
            if b.name in inner.locals and b.name not in scope.locals:
                raise self.err(f"`{b.name}` is bound twice", b.span)
            binders.append((b.name, ty))
            inner.locals[b.name] = ty
            n *= size(ty)
        if e.kind in ("forall", "exists"):
            body = self.bool_expr(e.body, inner)
            return T.QuantE(e.kind, tuple(binders), body, BoolT(), e.span)
        if e.kind == "count":
            body = self.bool_expr(e.body, inner)
            return T.QuantE("count", tuple(binders), body, IntT(0, n), e.span)
        body = self.int_expr(e.body, inner, "the body of `sum`")
        bt = body.ty
        assert isinstance(bt, IntT)
        return T.QuantE("sum", tuple(binders), body, IntT(_clamp(bt.lo * n), _clamp(bt.hi * n)), e.span)


def plural(n: int, word: str, many: str = "") -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _show(te: T.Expr) -> str:
    """A value's type as a reader says it: `the number 1` rather than the interval 1..1."""
    if isinstance(te, T.Lit) and isinstance(te.ty, IntT):
        return f"the number {te.value}"
    if isinstance(te.ty, IntT):
        return f"an integer in {te.ty}"
    return str(te.ty)


def _short(v: int) -> str:
    text = str(v)
    return text if len(text) <= 24 else f"{text[:10]}...({len(text)} digits)"


def _leaf_count(t: Type) -> int:
    if isinstance(t, ArrayT):
        from .domains import size

        return size(t.index) * _leaf_count(t.elem)
    return 1

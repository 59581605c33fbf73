"""Ground expressions as Promela expressions, with the run-time error conditions of the
reference semantics (`model.semantics.evaluate`) as separate Promela conditions.

SPIN evaluates expressions in C `int` (32 bits), so every integer a model can compute must fit
in it: each integer node's value interval is computed here (from the leaves' ranges, which is
tighter than the typed model's for `/`, `%` and shifts) and a node outside 32 bits is an
`ExportError`. Bitmaps are lists of 30-bit words (word j holds bits 30j .. 30j+29), so no
bitmap operation ever needs more than a non-negative `int`; a bitmap of width w is
ceil(w/30) words.

`err(g)` is the condition under which evaluating `g` raises `EvalError` in the reference
semantics, respecting its evaluation order (`and`/`or`/`implies`/`if` are lazy, everything
else evaluates every operand): the exporter asserts its negation before the value is used,
and a value expression is only evaluated when its error condition is false. Conditions that
the operand ranges rule out are left out, as the code generator leaves out the checks.
"""

from __future__ import annotations

from collections.abc import Callable

from model import typed as T
from model.domains import BitmapT, BoolT, EnumT, IntT, Type
from model.ground import Arr, Field, G, NAry, Select, Tmp

WORD = 30  # bits per word of a bitmap
INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1


class ExportError(Exception):
    """The model cannot be written as Promela (a value beyond 32 bits, an unsupported node)."""


def nwords(width: int) -> int:
    return (width + WORD - 1) // WORD


def word_mask(width: int, j: int) -> int:
    """The bits of word j that belong to a bitmap of the given width."""
    return (1 << min(WORD, width - WORD * j)) - 1


def _width(t: Type) -> int:
    assert isinstance(t, BitmapT) and t.width is not None, t
    return t.width


def _or(*parts: str | None) -> str | None:
    got = [p for p in parts if p is not None]
    if not got:
        return None
    return got[0] if len(got) == 1 else "(" + " || ".join(got) + ")"


def _ite(c: str, a: str, b: str) -> str:
    return f"({c} -> {a} : {b})"


Interval = tuple[int, int]


class ExprCompiler:
    """`leaf(key)` gives the Promela names of a state leaf's words (one name for a scalar);
    `tmp(name)` those of an action-local let."""

    def __init__(
        self,
        leaf: Callable[[tuple[str, tuple[int, ...]]], list[str]],
        tmp: Callable[[str], list[str]],
        what: str = "",
    ) -> None:
        self.leaf = leaf
        self.tmp = tmp
        self.tmp_iv: dict[str, Interval] = {}
        self.what = what  # where we are, for error messages
        self._ivs: dict[int, Interval] = {}  # by node id: the ground model outlives this compiler

    # ---- value intervals (integers, booleans as 0..1)
    def iv(self, g: G) -> Interval:
        got = self._ivs.get(id(g))
        if got is None:
            got = self._ivs[id(g)] = self._iv(g)
        return got

    def _iv(self, g: G) -> Interval:  # noqa: C901 - one case per node type
        t = g.ty
        if isinstance(t, BoolT):
            return (0, 1)
        if isinstance(t, EnumT):
            return (0, len(t.members) - 1)
        if isinstance(g, T.Lit):
            v = int(g.value)  # type: ignore[call-overload]
            return (v, v)
        if isinstance(g, Field):
            assert isinstance(t, IntT)
            return (t.lo, t.hi)
        if isinstance(g, Tmp):
            return self.tmp_iv[g.name]
        if isinstance(g, Select):
            return _hull([self.iv(o) for o in g.options])
        if isinstance(g, T.IteE):
            return _hull([self.iv(g.then), self.iv(g.other)])
        if isinstance(g, NAry):
            ivs = [self.iv(a) for a in g.args]
            return (sum(a for a, _ in ivs), sum(b for _, b in ivs))
        if isinstance(g, T.Un):
            lo, hi = self.iv(g.operand)
            return (-hi, -lo)
        if isinstance(g, T.Builtin):
            if g.func in ("min", "max"):
                ivs = [self.iv(a) for a in g.args]
                pick = min if g.func == "min" else max
                return (pick(a for a, _ in ivs), pick(b for _, b in ivs))
            w = _width(g.args[0].ty)
            return (-1, w - 1) if g.func == "highest" else (0, w)
        if isinstance(g, T.Bin):
            return _bin_iv(g.op, self.iv(g.left), self.iv(g.right))
        raise ExportError(f"{self.what}: cannot export {type(g).__name__} as a Promela integer")

    def _fits(self, g: G) -> Interval:
        lo, hi = self.iv(g)
        if lo < INT_MIN or hi > INT_MAX:
            raise ExportError(
                f"{self.what}: a value may reach {lo}..{hi}, beyond the 32-bit integers SPIN computes with"
            )
        return lo, hi

    # ---- integer, boolean and enum values
    def val(self, g: G) -> str:  # noqa: C901 - one case per node type
        if isinstance(g.ty, BitmapT):
            raise ExportError(f"{self.what}: a bitmap where a scalar was expected")
        if isinstance(g.ty, IntT):
            self._fits(g)
        if isinstance(g, T.Lit):
            v = int(g.value)  # type: ignore[call-overload]
            return f"({v})" if v < 0 else str(v)
        if isinstance(g, Field):
            return self.leaf(g.key)[0]
        if isinstance(g, Tmp):
            return self.tmp(g.name)[0]
        if isinstance(g, Select):
            return self._select([self.val(o) for o in g.options], g)
        if isinstance(g, NAry):
            sep = {"and": " && ", "or": " || ", "+": " + "}[g.op]
            return "(" + sep.join(self.val(a) for a in g.args) + ")"
        if isinstance(g, T.Un):
            return f"(!{self.val(g.operand)})" if g.op == "not" else f"(-{self.val(g.operand)})"
        if isinstance(g, T.Bin):
            return self._bin(g)
        if isinstance(g, T.Member):
            e = self.val(g.elem)
            return "(" + " || ".join(f"{e} == {self.val(o)}" for o in g.options) + ")"
        if isinstance(g, T.BitTest):
            return self._bittest(g)
        if isinstance(g, T.IteE):
            return _ite(self.val(g.cond), self.val(g.then), self.val(g.other))
        if isinstance(g, T.Builtin):
            return self._builtin(g)
        raise ExportError(f"{self.what}: cannot export {type(g).__name__} as a Promela value")

    def _select(self, opts: list[str], g: Select) -> str:
        ix = self.val(g.index)
        out = opts[-1]  # out-of-range indices never get here: err() asserts them first
        for k in range(len(opts) - 2, -1, -1):
            out = _ite(f"{ix} == {g.lo + k}", opts[k], out)
        return out

    def _bin(self, g: T.Bin) -> str:  # noqa: C901 - one case per operator
        op = g.op
        if isinstance(g.left.ty, BitmapT):
            w = self.pair_width(g.left, g.right)
            a, b = self.words(g.left, w), self.words(g.right, w)
            if op == "subseteq":
                return "(" + " && ".join(f"({x} & ~{y}) == 0" for x, y in zip(a, b, strict=True)) + ")"
            eq = "(" + " && ".join(f"{x} == {y}" for x, y in zip(a, b, strict=True)) + ")"
            return eq if op == "==" else f"(!{eq})"
        x, y = self.val(g.left), self.val(g.right)
        if op in ("and", "or"):
            return f"({x} {'&&' if op == 'and' else '||'} {y})"
        if op == "implies":
            return f"(!{x} || {y})"
        if op in ("==", "!=", "<", "<=", ">", ">=", "+", "-", "*"):
            return f"({x} {op} {y})"
        (alo, _), (blo, bhi) = self.iv(g.left), self.iv(g.right)
        if op == "/":
            if alo >= 0 and blo >= 0:  # C truncation is floor here
                return f"({x} / {y})"
            return f"({x} / {y} - ((({x} % {y}) != 0 && (({x} < 0) != ({y} < 0))) -> 1 : 0))"
        if op == "%":
            if alo >= 0 and blo >= 0:
                return f"({x} % {y})"
            bmax = max(abs(blo), abs(bhi))
            if 2 * bmax > INT_MAX:
                raise ExportError(f"{self.what}: a `%` by up to {bmax} does not fit SPIN's 32-bit arithmetic")
            return f"((({x} % {y}) + {y}) % {y})"  # the sign of the divisor, as Python's %
        if op == "<<":
            return f"({y} >= 31 -> 0 : ({x} << {y}))" if bhi >= 31 else f"({x} << {y})"
        if op == ">>":
            if bhi >= 31:
                return f"({y} >= 31 -> ({x} < 0 -> (-1) : 0) : ({x} >> {y}))"
            return f"({x} >> {y})"
        raise ExportError(f"{self.what}: cannot export the operator {op}")

    def _bittest(self, g: T.BitTest) -> str:
        m = self.words(g.bitmap)
        if isinstance(g.index, T.Lit):
            i = int(g.index.value)  # type: ignore[call-overload]
            if not 0 <= i < self.width(g.bitmap):
                return "0"  # never evaluated: err() reports the index first
            j = i // WORD
            return f"(({m[j]} >> {i - WORD * j}) & 1)"
        ix = self.val(g.index)
        if len(m) == 1:
            return f"(({m[0]} >> {ix}) & 1)"
        out = f"(({m[-1]} >> ({ix} - {WORD * (len(m) - 1)})) & 1)"
        for j in range(len(m) - 2, -1, -1):
            out = _ite(f"{ix} < {WORD * (j + 1)}", f"(({m[j]} >> ({ix} - {WORD * j})) & 1)", out)
        return out

    def _builtin(self, g: T.Builtin) -> str:
        f = g.func
        if f in ("min", "max"):
            args = [self.val(a) for a in g.args]
            out = args[0]
            for a in args[1:]:
                out = _ite(f"{out} {'<=' if f == 'min' else '>='} {a}", out, a)
            return out
        w = self.width(g.args[0])
        m = self.words(g.args[0], w)
        widths = [min(WORD, w - WORD * j) for j in range(len(m))]
        if f == "popcount":
            return "(" + " + ".join(_popcount(x, k) for x, k in zip(m, widths, strict=True)) + ")"
        if f == "lowest":
            out = str(w)
            for j in range(len(m) - 1, -1, -1):
                out = _ite(f"{m[j]} != 0", f"({WORD * j} + {_lowest(m[j], widths[j])})", out)
            return out
        if f == "highest":
            out = "(-1)"
            for j in range(len(m)):
                out = _ite(f"{m[j]} != 0", f"({WORD * j} + {_highest(m[j], widths[j])})", out)
            return out
        raise ExportError(f"{self.what}: cannot export {f} as a Promela integer")

    # ---- bitmaps as words
    def width(self, g: G, ctx: int | None = None) -> int:
        """A bitmap expression's width; `{}` and `lowbits(k)` take it from their context."""
        w = g.ty.width if isinstance(g.ty, BitmapT) and g.ty.width is not None else None
        if w is None and isinstance(g, T.Bin):
            w = self.pair_width(g.left, g.right, ctx)
        elif w is None and isinstance(g, T.IteE):
            w = self.pair_width(g.then, g.other, ctx)
        elif w is None and isinstance(g, T.Un):
            w = self.width(g.operand, ctx)
        w = ctx if w is None else w
        if w is None:
            raise ExportError(f"{self.what}: cannot tell the width of a bitmap expression")
        return w

    def words(self, g: G, ctx: int | None = None) -> list[str]:  # noqa: C901 - one case per node type
        w = self.width(g, ctx)
        n = nwords(w)
        if isinstance(g, T.Lit):
            v = int(g.value)  # type: ignore[call-overload]
            if v >> w:
                raise ExportError(f"{self.what}: a bitmap constant wider than its context ({w} bits)")
            return [str((v >> (WORD * j)) & word_mask(w, j)) for j in range(n)]
        if isinstance(g, Field):
            return self.leaf(g.key)
        if isinstance(g, Tmp):
            return self.tmp(g.name)
        if isinstance(g, Select):
            cols = [self.words(o, w) for o in g.options]
            return [self._select([c[j] for c in cols], g) for j in range(n)]
        if isinstance(g, T.Un):  # ~
            return [f"({word_mask(w, j)} ^ {x})" for j, x in enumerate(self.words(g.operand, w))]
        if isinstance(g, T.Bin) and g.op in ("&", "|"):
            a, b = self.words(g.left, w), self.words(g.right, w)
            return [f"({x} {g.op} {y})" for x, y in zip(a, b, strict=True)]
        if isinstance(g, T.IteE):
            c = self.val(g.cond)
            a, b = self.words(g.then, w), self.words(g.other, w)
            return [_ite(c, x, y) for x, y in zip(a, b, strict=True)]
        if isinstance(g, T.SetOf):
            if not isinstance(g.ty, BitmapT) or g.ty.width is None:
                for el in g.elems:  # the reference semantics only bounds these below
                    if self.iv(el)[1] >= w:
                        raise ExportError(f"{self.what}: cannot tell the width of a bitmap literal")
            return self._setof(g, w, n)
        if isinstance(g, T.Builtin) and g.func == "lowbits":
            k = self.val(g.args[0])
            if n == 1:
                return [f"((1 << {k}) - 1)"]
            out = []
            for j in range(n):
                top = WORD * j + min(WORD, w - WORD * j)
                part = f"((1 << ({k} - {WORD * j})) - 1)"
                out.append(_ite(f"{k} >= {top}", str(word_mask(w, j)), _ite(f"{k} <= {WORD * j}", "0", part)))
            return out
        raise ExportError(f"{self.what}: cannot export {type(g).__name__} as a Promela bitmap")

    def pair_width(self, a: G, b: G, ctx: int | None = None) -> int:
        for x in (a, b):
            if isinstance(x.ty, BitmapT) and x.ty.width is not None:
                return x.ty.width
        try:
            return self.width(a, ctx)
        except ExportError:
            return self.width(b, ctx)

    def _setof(self, g: T.SetOf, w: int, n: int) -> list[str]:
        parts: list[list[str]] = [[] for _ in range(n)]
        const = [0] * n
        for el in g.elems:
            if isinstance(el, T.Lit):
                i = int(el.value)  # type: ignore[call-overload]
                if 0 <= i < w:
                    const[i // WORD] |= 1 << (i % WORD)
                continue  # an out-of-range constant is an error err() reports first
            x = self.val(el)
            if n == 1:
                parts[0].append(f"(1 << {x})")
                continue
            for j in range(n):
                parts[j].append(_ite(f"{x} >= {WORD * j} && {x} < {WORD * (j + 1)}", f"(1 << ({x} - {WORD * j}))", "0"))
        out = []
        for j in range(n):
            terms = ([str(const[j])] if const[j] or not parts[j] else []) + parts[j]
            out.append(terms[0] if len(terms) == 1 else "(" + " | ".join(terms) + ")")
        return out

    # ---- run-time errors (EvalError in the reference semantics)
    def err(self, g: G) -> str | None:  # noqa: C901 - one case per node type
        if isinstance(g, (T.Lit, Field, Tmp)):
            return None
        if isinstance(g, Arr):
            raise ExportError(f"{self.what}: cannot export a whole-array value")
        if isinstance(g, Select):
            lo, hi = self._ix_iv(g.index)
            oob = None
            top = g.lo + len(g.options) - 1
            if lo < g.lo or hi > top:
                ix = self.val(g.index)
                oob = f"({ix} < {g.lo} || {ix} > {top})"
            opt_errs = [self.err(o) for o in g.options]
            inner = None
            if any(e is not None for e in opt_errs):
                ix = self.val(g.index)
                inner = "0"
                for k in range(len(opt_errs) - 1, -1, -1):
                    inner = _ite(f"{ix} == {g.lo + k}", opt_errs[k] or "0", inner)
            return _or(self.err(g.index), oob, inner)
        if isinstance(g, NAry):
            if g.op == "+":
                return _or(*(self.err(a) for a in g.args))
            return self._lazy(g.op, list(g.args))
        if isinstance(g, T.Un):
            return self.err(g.operand)
        if isinstance(g, T.Bin):
            if g.op in ("and", "or"):
                return self._lazy(g.op, [g.left, g.right])
            if g.op == "implies":
                return self._lazy("and", [g.left, g.right])
            return _or(self.err(g.left), self.err(g.right), self._op_err(g))
        if isinstance(g, T.Member):
            e = self.val(g.elem)
            chain = None
            for o in reversed(g.options):
                eo = self.err(o)
                if eo is not None or chain is not None:
                    rest = f"({e} != {self.val(o)} && {chain})" if chain is not None else None
                    chain = _or(eo, rest)
            return _or(self.err(g.elem), chain)
        if isinstance(g, T.SetOf):
            w = g.ty.width if isinstance(g.ty, BitmapT) and g.ty.width is not None else 1 << 40
            errs: list[str | None] = []
            for el in g.elems:
                errs.append(self.err(el))
                lo, hi = self._ix_iv(el)
                if lo < 0 or hi > w - 1:
                    if isinstance(el, T.Lit):
                        errs.append("1")
                    else:
                        x = self.val(el)
                        errs.append(f"({x} < 0 || {x} > {w - 1})" if hi > w - 1 else f"({x} < 0)")
            return _or(*errs)
        if isinstance(g, T.BitTest):
            w = self.width(g.bitmap)
            lo, hi = self._ix_iv(g.index)
            oob = None
            if lo < 0 or hi > w - 1:
                ix = self.val(g.index)
                oob = "1" if isinstance(g.index, T.Lit) else f"({ix} < 0 || {ix} > {w - 1})"
            return _or(self.err(g.bitmap), self.err(g.index), oob)
        if isinstance(g, T.IteE):
            et, eo = self.err(g.then), self.err(g.other)
            branch = _ite(self.val(g.cond), et or "0", eo or "0") if (et or eo) else None
            return _or(self.err(g.cond), branch)
        if isinstance(g, T.Builtin):
            base = _or(*(self.err(a) for a in g.args))
            if g.func == "lowbits":
                w = self.width(g)  # the code generator, too, needs lowbits' width
                lo, hi = self.iv(g.args[0])
                if lo < 0 or hi > w:
                    kx = self.val(g.args[0])
                    base = _or(base, f"({kx} < 0 || {kx} > {w})")
            return base
        raise ExportError(f"{self.what}: cannot export {type(g).__name__}")

    def _ix_iv(self, g: G) -> Interval:
        return self.iv(g) if not isinstance(g.ty, BoolT) else (0, 1)

    def _lazy(self, op: str, args: list[G]) -> str | None:
        """and/or evaluate left to right and stop at the first false/true operand."""
        acc: str | None = None
        for a in reversed(args):
            e = self.err(a)
            if acc is not None:
                cont = f"({self.val(a)} && {acc})" if op == "and" else f"(!{self.val(a)} && {acc})"
                acc = _or(e, cont)
            else:
                acc = e
        return acc

    def _op_err(self, g: T.Bin) -> str | None:
        if g.op in ("/", "%"):
            lo, hi = self.iv(g.right)
            return f"({self.val(g.right)} == 0)" if lo <= 0 <= hi else None
        if g.op in ("<<", ">>"):
            lo, hi = self.iv(g.right)
            if lo < 0 or hi > 4096:
                y = self.val(g.right)
                return f"({y} < 0 || {y} > 4096)"
        return None


def _hull(ivs: list[Interval]) -> Interval:
    return (min(a for a, _ in ivs), max(b for _, b in ivs))


def _bin_iv(op: str, a: Interval, b: Interval) -> Interval:
    if op in ("and", "or", "implies", "==", "!=", "<", "<=", ">", ">=", "subseteq"):
        return (0, 1)
    if op == "+":
        return (a[0] + b[0], a[1] + b[1])
    if op == "-":
        return (a[0] - b[1], a[1] - b[0])
    if op == "*":
        ps = [x * y for x in a for y in b]
        return (min(ps), max(ps))
    m = max(abs(a[0]), abs(a[1]))
    if op == "/":
        if a[0] >= 0 and b[0] > 0:
            return (a[0] // b[1], a[1] // b[0])
        return (-m, m)
    if op == "%":
        k = max(abs(b[0]), abs(b[1]))
        if b[0] > 0:
            return (0, b[1] - 1)
        return (-(k - 1), k - 1) if k else (0, 0)
    if op == "<<":
        s = min(max(b[1], 0), 64)  # a shift past 64 of anything non-zero is beyond 32 bits anyway
        return (min(a[0], a[0] << s), max(a[1], a[1] << s))
    if op == ">>":
        return (min(a[0], 0), max(a[1], 0))
    raise ExportError(f"cannot export the operator {op}")


def _popcount(x: str, k: int) -> str:
    return "(" + " + ".join(f"(({x} >> {i}) & 1)" for i in range(k)) + ")"


def _lowest(x: str, k: int) -> str:
    """The index of the lowest set bit of a non-zero word of k bits."""
    if k <= 8:
        out = str(k - 1)
        for i in range(k - 2, -1, -1):
            out = _ite(f"({x} & {1 << i}) != 0", str(i), out)
        return out
    p = f"({x} & -{x})"  # the lowest set bit alone; its index bit by bit
    terms = []
    for b in range((k - 1).bit_length()):
        mask = sum(1 << i for i in range(k) if (i >> b) & 1)
        terms.append(f"((({p} & {mask}) != 0) * {1 << b})" if b else f"(({p} & {mask}) != 0)")
    return "(" + " + ".join(terms) + ")"


def _highest(x: str, k: int) -> str:
    """The index of the highest set bit of a non-zero word of k bits."""
    if k <= 8:
        out = "0"
        for i in range(1, k):
            out = _ite(f"{x} >= {1 << i}", str(i), out)
        return out
    return "(" + " + ".join(f"({x} >= {1 << i})" for i in range(1, k)) + ")"

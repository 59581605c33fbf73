"""Compile a ground model to Python: one fused successor function over packed states,
plus invariant, reachability and guard functions. Generated source is registered in
linecache so tracebacks and debuggers show it.
"""

from __future__ import annotations

import itertools
import linecache
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from model import typed as T
from model.domains import BitmapT, BoolT, EnumT, IntT, Type
from model.ground import (
    Arr,
    EvalError,
    Field,
    G,
    GFail,
    GIf,
    GLet,
    Ground,
    GSet,
    GStmt,
    NAry,
    Select,
    Tmp,
)
from model.semantics import lowest_index
from model.walk import may_fail as _may_fail
from model.walk import reads as _reads
from model.walk import within as _within
from model.walk import writes as _writes

from .layout import Layout

_counter = itertools.count()


class StepError(Exception):
    """A runtime error while executing action instance `iid` (out of range, bad index)."""

    def __init__(self, iid: int, message: str, kind: str = "range") -> None:
        super().__init__(message)
        self.iid = iid
        self.message = message
        self.kind = kind


# ---- helpers the generated code calls
def _sel(i: int, opts: tuple[Any, ...]) -> Any:
    if 0 <= i < len(opts):
        return opts[i]
    raise EvalError(f"array index out of range (position {i})")


def _bit(i: int, w: int) -> int:
    if 0 <= i < w:
        return 1 << i
    raise EvalError(f"bit {i} is out of 0..{w - 1}")


def _test(m: int, i: int, w: int) -> bool:
    if 0 <= i < w:
        return (m >> i) & 1 == 1
    raise EvalError(f"bit {i} is out of 0..{w - 1}")


def _low(k: int, w: int) -> int:
    if 0 <= k <= w:
        return (1 << k) - 1
    raise EvalError(f"lowbits({k}) is out of 0..{w}")


def _div(a: int, b: int) -> int:
    if b == 0:
        raise EvalError("division by zero")
    return a // b


def _mod(a: int, b: int) -> int:
    if b == 0:
        raise EvalError("division by zero")
    return a % b


def _shl(a: int, b: int) -> int:
    if 0 <= b <= 4096:
        return a << b
    raise EvalError(f"shift by {b}")


def _shr(a: int, b: int) -> int:
    if 0 <= b <= 4096:
        return a >> b
    raise EvalError(f"shift by {b}")


_HELPERS = {
    "_sel": _sel,
    "_bit": _bit,
    "_test": _test,
    "_low": _low,
    "_lowest": lowest_index,
    "_div": _div,
    "_mod": _mod,
    "_shl": _shl,
    "_shr": _shr,
    "EvalError": EvalError,
    "StepError": StepError,
}


@dataclass
class Compiled:
    """The compiled model. `successors(s)` lists (instance id, next state) in instance order;
    it raises StepError for a runtime error in an enabled instance."""

    ground: Ground
    layout: Layout
    successors: Callable[[int], list[tuple[int, int]]]
    bad_invariants: Callable[[int], int]  # bit i set: invariant i fails
    reached: Callable[[int], int]  # bit i set: reachable i holds
    enabled: Callable[[int], list[int]]  # ids of the instances whose guard holds
    props: Callable[[int], int]  # bit i set: ground property expression i holds
    goals: Callable[[int], int]  # bit i set: ground goal i holds (leadsto)
    source: str


class _Gen:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.names: dict[tuple[str, tuple[int, ...]], str] = {}  # leaf -> current local name

    def leaf(self, f: Field) -> str:
        return self.names.get(f.key) or f"v{self.layout.index[f.key]}"

    def x(self, g: G) -> str:  # noqa: C901 - one case per node type
        if isinstance(g, T.Lit):
            if isinstance(g.value, bool):
                return "True" if g.value else "False"
            return repr(int(g.value))  # type: ignore[call-overload]
        if isinstance(g, Field):
            return self.leaf(g)
        if isinstance(g, Tmp):
            return f"t_{g.name}"
        if isinstance(g, Select):
            # only the chosen option is evaluated (its error counts, not the others'): options
            # that may fail become thunks
            lazy = any(_may_fail(o) for o in g.options)
            opts = "(" + ", ".join(("lambda: " if lazy else "") + self.x(o) for o in g.options) + ",)"
            ix = self.x(g.index)
            pos = f"({ix} - {g.lo})" if g.lo else ix
            if _within(g.index.ty, g.lo, g.lo + len(g.options) - 1) or isinstance(g.index.ty, (EnumT, BoolT)):
                return f"{opts}[{pos}]" + ("()" if lazy else "")
            return f"_sel({pos}, {opts})" + ("()" if lazy else "")
        if isinstance(g, NAry):
            sep = {"and": " and ", "or": " or ", "+": " + "}[g.op]
            return "(" + sep.join(self.x(a) for a in g.args) + ")"
        if isinstance(g, T.Un):
            a = self.x(g.operand)
            if g.op == "not":
                return f"(not {a})"
            if g.op == "-":
                return f"(-{a})"
            return f"({(1 << _w(g.ty)) - 1} ^ {a})"
        if isinstance(g, T.Bin):
            return self.bin(g)
        if isinstance(g, T.Member):
            e = self.x(g.elem)
            return f"({e} in (" + ", ".join(self.x(o) for o in g.options) + ",))"
        if isinstance(g, T.SetOf):
            w = _w(g.ty)
            parts = []
            for el in g.elems:
                if isinstance(el, T.Lit) and 0 <= int(el.value) < w:  # type: ignore[call-overload]
                    parts.append(str(1 << int(el.value)))  # type: ignore[call-overload]
                elif _within(el.ty, 0, w - 1):
                    parts.append(f"(1 << {self.x(el)})")
                else:
                    parts.append(f"_bit({self.x(el)}, {w})")
            return "(" + " | ".join(parts) + ")" if parts else "0"
        if isinstance(g, T.BitTest):
            m = self.x(g.bitmap)
            w = _w(g.bitmap.ty)
            if isinstance(g.index, T.Lit) and 0 <= int(g.index.value) < w:  # type: ignore[call-overload]
                return f"({m} & {1 << int(g.index.value)} != 0)"  # type: ignore[call-overload]
            if _within(g.index.ty, 0, w - 1):
                return f"({m} >> {self.x(g.index)} & 1 == 1)"
            return f"_test({m}, {self.x(g.index)}, {w})"
        if isinstance(g, T.IteE):
            return f"({self.x(g.then)} if {self.x(g.cond)} else {self.x(g.other)})"
        if isinstance(g, T.Builtin):
            args = [self.x(a) for a in g.args]
            if g.func in ("min", "max"):
                return f"{g.func}({', '.join(args)})"
            if g.func == "popcount":
                return f"{args[0]}.bit_count()"
            if g.func == "lowest":
                return f"_lowest({args[0]}, {_w(g.args[0].ty)})"
            if g.func == "highest":
                return f"({args[0]}.bit_length() - 1)"
            w = _w(g.ty)
            if _within(g.args[0].ty, 0, w):
                return f"((1 << {args[0]}) - 1)"
            return f"_low({args[0]}, {w})"
        if isinstance(g, Arr):
            return "(" + ", ".join(self.x(e) for e in g.elems) + ",)"
        raise AssertionError(g)

    def bin(self, g: T.Bin) -> str:
        a, b, op = self.x(g.left), self.x(g.right), g.op
        if op == "implies":
            return f"((not {a}) or {b})"
        if op in ("and", "or", "==", "!=", "<", "<=", ">", ">=", "&", "|", "+", "-", "*"):
            return f"({a} {op} {b})"
        if op == "subseteq":
            return f"({a} & ~{b} == 0)"
        rb: int | None = int(g.right.value) if isinstance(g.right, T.Lit) else None  # type: ignore[call-overload]
        if op == "/":
            return f"({a} // {b})" if rb else f"_div({a}, {b})"
        if op == "%":
            return f"({a} % {b})" if rb else f"_mod({a}, {b})"
        if op in ("<<", ">>"):
            if rb is not None and 0 <= rb <= 4096:
                return f"({a} {op} {b})"
            return f"{'_shl' if op == '<<' else '_shr'}({a}, {b})"
        raise AssertionError(op)


def _w(t: Type) -> int:
    assert isinstance(t, BitmapT) and t.width is not None
    return t.width


def compile_model(gm: Ground) -> Compiled:
    layout = Layout(gm.model)
    gen = _Gen(layout)
    lines: list[str] = []
    emit = lines.append

    def decode(used: set[tuple[str, tuple[int, ...]]], ind: str) -> None:
        for key in sorted(used, key=lambda k: layout.index[k]):
            i = layout.index[key]
            sl = layout.slots[i]
            raw = f"(s >> {sl.offset}) & {(1 << sl.width) - 1}" if sl.width else "0"
            if isinstance(sl.field.ty, BoolT):
                emit(f"{ind}v{i} = {raw} != 0")
            elif sl.lo:
                emit(f"{ind}v{i} = ({raw}) + {sl.lo}")
            else:
                emit(f"{ind}v{i} = {raw}")

    # -- successors
    used: set[tuple[str, tuple[int, ...]]] = set()
    for inst in gm.instances:
        _reads(inst.guard, used)
        _reads(list(inst.body), used)
    emit("def successors(s):")
    emit("    out = []")
    emit("    cur = -1")
    emit("    try:")
    decode(used, "        ")
    for inst in gm.instances:
        emit(f"        # {inst.label}")
        emit(f"        cur = {inst.id}")
        emit(f"        if {gen.x(inst.guard)}:")
        written: list[tuple[str, tuple[int, ...]]] = []
        _writes(inst.body, written)
        gen.names = {}
        for key in written:
            i = layout.index[key]
            emit(f"            n{i} = v{i}")
            gen.names[key] = f"n{i}"
        _stmts(gen, inst.body, "            ", emit, layout)
        if written:
            clear = 0
            parts = []
            for key in written:
                i = layout.index[key]
                sl = layout.slots[i]
                clear |= ((1 << sl.width) - 1) << sl.offset
                val = f"(n{i} - {sl.lo})" if sl.lo else f"n{i}"
                parts.append(f"({val} << {sl.offset})" if sl.offset else f"{val}")
            full = (1 << max(layout.bits, 1)) - 1
            emit(f"            out.append(({inst.id}, (s & {full ^ clear}) | " + " | ".join(parts) + "))")
        else:
            emit(f"            out.append(({inst.id}, s))")
        gen.names = {}
    emit("    except EvalError as exc:")
    emit("        raise StepError(cur, str(exc)) from None")
    emit("    return out")
    emit("")

    # -- enabled instances (for coverage, fairness and liveness)
    emit("def enabled(s):")
    emit("    out = []")
    decode(used, "    ")
    for inst in gm.instances:
        emit("    try:")
        emit(f"        if {gen.x(inst.guard)}: out.append({inst.id})")
        emit("    except EvalError:")
        emit(f"        out.append({inst.id})")
    emit("    return out")
    emit("")

    # -- property masks
    def mask_fn(name: str, exprs: list[G], negate: bool) -> None:
        acc: set[tuple[str, tuple[int, ...]]] = set()
        _reads(exprs, acc)
        emit(f"def {name}(s):")
        emit("    r = 0")
        decode(acc, "    ")
        for i, e in enumerate(exprs):
            cond = f"not {gen.x(e)}" if negate else gen.x(e)
            emit("    try:")
            emit(f"        if {cond}: r |= {1 << i}")
            emit("    except EvalError:")
            emit(f"        r |= {1 << i}" if negate else "        pass")
        emit("    return r")
        emit("")

    invs = [g for p, g, _ in gm.properties if p.kind == "invariant"]
    reach = [g for p, g, _ in gm.properties if p.kind == "reachable"]
    allp = [g for _, g, _ in gm.properties]
    goals = [goal if goal is not None else T.Lit(False, BoolT()) for _, _, goal in gm.properties]
    mask_fn("bad_invariants", invs, True)
    mask_fn("reached", reach, False)
    mask_fn("props", allp, False)
    mask_fn("goals", goals, False)

    src = "\n".join(lines) + "\n"
    fname = f"<plugcheck:{gm.model.name}:{gm.model.config.name}:{next(_counter)}>"
    linecache.cache[fname] = (len(src), None, src.splitlines(True), fname)
    ns: dict[str, Any] = dict(_HELPERS)
    exec(compile(src, fname, "exec"), ns)
    return Compiled(
        gm, layout, ns["successors"], ns["bad_invariants"], ns["reached"], ns["enabled"], ns["props"], ns["goals"], src
    )


def _stmts(gen: _Gen, ss: tuple[GStmt, ...], ind: str, emit: Callable[[str], None], layout: Layout) -> None:
    if not ss:
        emit(f"{ind}pass")
        return
    for s in ss:
        if isinstance(s, GSet):
            i = layout.index[s.field.key]
            emit(f"{ind}n{i} = {gen.x(s.value)}")
            t = s.field.ty
            if isinstance(t, IntT) and not _within(s.value.ty, t.lo, t.hi):
                name = layout.slots[i].name
                emit(f"{ind}if not {t.lo} <= n{i} <= {t.hi}:")
                emit(f"{ind}    raise EvalError(f'`{name}` := {{n{i}}} is out of its range {t.lo}..{t.hi}')")
        elif isinstance(s, GLet):
            emit(f"{ind}t_{s.name} = {gen.x(s.value)}")
        elif isinstance(s, GIf):
            emit(f"{ind}if {gen.x(s.cond)}:")
            _stmts(gen, s.then, ind + "    ", emit, layout)
            if s.other:
                emit(f"{ind}else:")
                _stmts(gen, s.other, ind + "    ", emit, layout)
        elif isinstance(s, GFail):
            emit(f"{ind}raise EvalError({s.message.replace('{}', '?')!r})")

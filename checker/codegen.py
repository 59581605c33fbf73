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
from model.budget import check_time
from model.domains import BitmapT, BoolT, EnumT, IntT, Type
from model.errors import SpecError
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
    Instance,
    NAry,
    Select,
    Tmp,
)
from model.semantics import lowest_index
from model.walk import may_fail as _may_fail
from model.walk import reads as _reads
from model.walk import within as _within
from model.walk import writes as _writes

from .code_cache import compiled
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


class _Lazy:
    """A generated function compiled on its first call. Python's `compile` is most of the cost
    of compiling a model, and where the numpy kernels run the search, the per-state functions
    serve only error lanes, traces and liveness: most of them are never called. Compiling
    replaces the entry in the namespace, so generated code calling generated code calls the
    real function after the first time; a caller holding the stub pays one indirection."""

    __slots__ = ("ns", "name", "src", "unit", "fn")

    def __init__(self, ns: dict[str, Any], name: str, src: str, unit: str) -> None:
        self.ns, self.name, self.src, self.unit = ns, name, src, unit
        self.fn: Callable[..., Any] | None = None

    def __call__(self, *args: Any) -> Any:
        fn = self.fn
        if fn is None:
            exec(compiled(self.src, self.unit), self.ns)
            fn = self.fn = self.ns[self.name]
        return fn(*args)


class _Gen:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self._names: dict[tuple[str, tuple[int, ...]], str] = {}  # leaf -> current local name
        # the text of each node (by id; the ground model keeps them alive) while the names hold:
        # a write through variable indices repeats one value node in every element's branch
        self.memo: dict[int, str] = {}

    @property
    def names(self) -> dict[tuple[str, tuple[int, ...]], str]:
        return self._names

    @names.setter
    def names(self, value: dict[tuple[str, tuple[int, ...]], str]) -> None:
        self._names = value
        self.memo = {}

    def leaf(self, f: Field) -> str:
        return self._names.get(f.key) or f"v{self.layout.index[f.key]}"

    def x(self, g: G) -> str:
        text = self.memo.get(id(g))
        if text is None:
            text = self.memo[id(g)] = self._x(g)
        return text

    def _x(self, g: G) -> str:  # noqa: C901 - one case per node type
        if isinstance(g, T.Lit):
            if isinstance(g.value, bool):
                return "True" if g.value else "False"
            return _int(int(g.value))  # type: ignore[call-overload]
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
            return f"({_int((1 << _w(g.ty)) - 1)} ^ {a})"
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
                    parts.append(_int(1 << int(el.value)))  # type: ignore[call-overload]
                elif _within(el.ty, 0, w - 1):
                    parts.append(f"(1 << {self.x(el)})")
                else:
                    parts.append(f"_bit({self.x(el)}, {w})")
            return "(" + " | ".join(parts) + ")" if parts else "0"
        if isinstance(g, T.BitTest):
            m = self.x(g.bitmap)
            w = _w(g.bitmap.ty)
            if isinstance(g.index, T.Lit) and 0 <= int(g.index.value) < w:  # type: ignore[call-overload]
                return f"({m} & {_int(1 << int(g.index.value))} != 0)"  # type: ignore[call-overload]
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


UNIT_LINES = 50_000  # generated lines compiled at once: the time budget is checked between units
SOURCE_LIMIT = 100_000_000  # characters of generated code (the largest shipped config needs 22 M)


def _int(n: int) -> str:
    """An integer literal. Masks over a whole state can be wider than the 4,300 decimal digits
    Python converts to text; hexadecimal has no such limit."""
    return repr(n) if -(10**18) < n < 10**18 else hex(n)


def compile_model(gm: Ground) -> Compiled:
    layout = Layout(gm.model)
    gen = _Gen(layout)
    units: list[list[str]] = []  # each compiled on its own, so the clock is read between them

    def decode(used: set[tuple[str, tuple[int, ...]]], ind: str, emit: Callable[[str], None]) -> None:
        for key in sorted(used, key=lambda k: layout.index[k]):
            i = layout.index[key]
            sl = layout.slots[i]
            raw = f"(s >> {sl.offset}) & {_int((1 << sl.width) - 1)}" if sl.width else "0"
            if isinstance(sl.field.ty, BoolT):
                emit(f"{ind}v{i} = {raw} != 0")
            elif sl.lo:
                emit(f"{ind}v{i} = ({raw}) + {sl.lo}")
            else:
                emit(f"{ind}v{i} = {raw}")

    # -- successors: the instances in chunks of about UNIT_LINES lines, one function each
    full = (1 << max(layout.bits, 1)) - 1
    chunks: list[tuple[list[Instance], list[str]]] = [([], [])]
    total = [0]  # characters generated so far

    for inst in gm.instances:
        check_time("compiling")
        insts, lines = chunks[-1]
        if len(lines) > UNIT_LINES:
            insts, lines = [], []
            chunks.append((insts, lines))
        insts.append(inst)

        def emit(line: str, lines: list[str] = lines, inst: Instance = inst) -> None:
            lines.append(line)
            total[0] += len(line) + 1
            if total[0] > SOURCE_LIMIT:
                _too_large(gm, inst)
            if len(lines) & 1023 == 0:
                check_time("compiling")

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
            emit(f"            out.append(({inst.id}, (s & {_int(full ^ clear)}) | " + " | ".join(parts) + "))")
        else:
            emit(f"            out.append(({inst.id}, s))")
        gen.names = {}
    for k, (insts, body) in enumerate(chunks):
        lines = []
        used: set[tuple[str, tuple[int, ...]]] = set()
        for inst in insts:
            _reads(inst.guard, used)
            _reads(list(inst.body), used)
        if len(chunks) == 1:
            lines += ["def successors(s):", "    out = []"]
        else:
            lines.append(f"def _successors{k}(s, out):")
        lines += ["    cur = -1", "    try:"]
        decode(used, "        ", lines.append)
        lines += body or ["        pass"]  # a spec without actions has no successors
        lines += ["    except EvalError as exc:", "        raise StepError(cur, str(exc)) from None"]
        lines += ["    return out", ""] if len(chunks) == 1 else [""]
        units.append(lines)
    if len(chunks) > 1:
        calls = [f"    _successors{k}(s, out)" for k in range(len(chunks))]
        units.append(["def successors(s):", "    out = []", *calls, "    return out", ""])

    # -- enabled instances (for coverage, fairness and liveness), chunked the same way
    parts_e: list[str] = []
    for k, (insts, _) in enumerate(chunks):
        check_time("compiling")
        lines = [f"def _enabled{k}(s, out):"]
        used = set()
        for inst in insts:
            _reads(inst.guard, used)
        decode(used, "    ", lines.append)
        for inst in insts:
            lines.append("    try:")
            lines.append(f"        if {gen.x(inst.guard)}: out.append({inst.id})")
            lines.append("    except EvalError:")
            lines.append(f"        out.append({inst.id})")
        lines += ["    return out", ""]
        units.append(lines)
        parts_e.append(f"    _enabled{k}(s, out)")
    units.append(["def enabled(s):", "    out = []", *parts_e, "    return out", ""])

    # -- property masks
    def mask_fn(name: str, exprs: list[G], negate: bool) -> None:
        check_time("compiling")
        lines: list[str] = []
        emit = lines.append
        acc: set[tuple[str, tuple[int, ...]]] = set()
        _reads(exprs, acc)
        emit(f"def {name}(s):")
        emit("    r = 0")
        decode(acc, "    ", emit)
        for i, e in enumerate(exprs):
            cond = f"not {gen.x(e)}" if negate else gen.x(e)
            emit("    try:")
            emit(f"        if {cond}: r |= {_int(1 << i)}")
            emit("    except EvalError:")
            emit(f"        r |= {_int(1 << i)}" if negate else "        pass")
        emit("    return r")
        emit("")
        units.append(lines)

    invs = [g for p, g, _ in gm.properties if p.kind == "invariant"]
    reach = [g for p, g, _ in gm.properties if p.kind == "reachable"]
    allp = [g for _, g, _ in gm.properties]
    goals = [goal if goal is not None else T.Lit(False, BoolT()) for _, _, goal in gm.properties]
    mask_fn("bad_invariants", invs, True)
    mask_fn("reached", reach, False)
    mask_fn("props", allp, False)
    mask_fn("goals", goals, False)

    ns: dict[str, Any] = dict(_HELPERS)
    fname = f"<plugcheck:{gm.model.name}:{gm.model.config.name}:{next(_counter)}>"
    sources: list[str] = []
    for k, lines in enumerate(units):
        check_time("compiling")
        src = "\n".join(lines) + "\n"
        unit_name = fname if k == 0 else f"{fname[:-1]}:{k}>"
        linecache.cache[unit_name] = (len(src), None, src.splitlines(True), unit_name)
        name = lines[0][4 : lines[0].index("(")]  # each unit defines one function: `def NAME(...)`
        ns[name] = _Lazy(ns, name, src, unit_name)
        sources.append(src)
    return Compiled(
        gm,
        layout,
        ns["successors"],
        ns["bad_invariants"],
        ns["reached"],
        ns["enabled"],
        ns["props"],
        ns["goals"],
        "".join(sources),
    )


def _too_large(gm: Ground, inst: Instance) -> None:
    """A model whose generated code would not fit: an error at the action that got there
    (a write through variable indices into a huge array is one `if` per element)."""
    span = next(a.span for a in gm.model.actions if a.name == inst.action)
    raise SpecError(
        f"action `{inst.action}` makes the model too large to compile (more than {SOURCE_LIMIT // 1_000_000} MB"
        " of code); use smaller constants or types",
        span,
        gm.model.sources.get(span.file),
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
            # an else branch that is one `if` becomes `elif`: a write through a variable index
            # is a chain of one `if` per element, which must not nest one level per element
            word = "if"
            branch: GIf = s
            while True:
                emit(f"{ind}{word} {gen.x(branch.cond)}:")
                _stmts(gen, branch.then, ind + "    ", emit, layout)
                if len(branch.other) == 1 and isinstance(branch.other[0], GIf):
                    word, branch = "elif", branch.other[0]
                    continue
                if branch.other:
                    emit(f"{ind}else:")
                    _stmts(gen, branch.other, ind + "    ", emit, layout)
                break
        elif isinstance(s, GFail):
            emit(f"{ind}raise EvalError({s.message.replace('{}', '?')!r})")

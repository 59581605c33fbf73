"""Compile a ground model to numpy kernels over a whole chunk of packed states at once.

Every action instance becomes a guard (a boolean mask over the chunk) and a body (bit-field
arithmetic on the lanes the guard selects); invariants and reachables become masks too.
Values are int64 (bools as numpy bools); compile-time interval analysis guarantees no
intermediate value leaves +-2**62, so results equal Python's unbounded arithmetic. Bitmaps
wider than 62 bits are rows of uint64 limbs (`kernels_wide`).

Runtime errors (index or bit out of range, division by zero, assignment out of range) are
not raised: each kernel returns, per lane, whether an error *could* occur there. The mask is
conservative (it ignores short-circuiting inside one expression); the frontier engine sends
those lanes through the single-state functions, which decide exactly.
"""

from __future__ import annotations

import itertools
import linecache
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from model import typed as T
from model.budget import check_time
from model.domains import BitmapT, BoolT, EnumT, IntT, Type
from model.ground import Arr, Field, G, GFail, GIf, GLet, Ground, GSet, GStmt, NAry, Select, Tmp
from model.walk import conjuncts

from . import kernels_wide as wide
from .code_cache import compiled
from .codegen import _reads, _writes
from .kernels_wide import Unsupported
from .layout import Layout

LIMIT = 1 << 62  # every intermediate value stays strictly inside +-LIMIT
_counter = itertools.count()


@dataclass
class Kernels:
    """Over S, an (n, k) array of k-word states (or a 1-D array of one-word states):
    `successors(S)` -> (lane_err, any_enabled, action_enabled[a], [(iid, lanes, next)]);
    `props(S)` -> (lane_err, [value mask per expression]) for invariants and reachables."""

    successors: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, list[np.ndarray], list[Any]]]
    invariants: Callable[[np.ndarray], tuple[np.ndarray, list[np.ndarray]]]
    reached: Callable[[np.ndarray], tuple[np.ndarray, list[np.ndarray]]]
    source: str


def _bounds_of_type(t: Type) -> tuple[int, int]:
    if isinstance(t, BoolT):
        return 0, 1
    if isinstance(t, IntT):
        return t.lo, t.hi
    if isinstance(t, EnumT):
        return 0, len(t.members) - 1
    if isinstance(t, BitmapT):  # a wide one only bounds its popcount and bit indices
        return 0, (1 << _w(t)) - 1
    raise Unsupported(f"type {t}")


def _w(t: Type) -> int:
    if not isinstance(t, BitmapT) or t.width is None:
        raise Unsupported(f"bitmap type {t}")
    return t.width


class _Gen:
    """Expression emitter: returns a Python expression string over numpy arrays; lines that
    must run first (temporaries) go to `pre`, possible-error conditions to `errs`."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.names: dict[tuple[str, tuple[int, ...]], str] = {}
        self.tmp_bounds: dict[str, tuple[int, int]] = {}
        self.pre: list[str] = []
        self.errs: list[str] = []
        self.n = 0
        # value text -> the temporary holding it, in the current scope (the function's top
        # level, or one instance's body): a let or a select the spec repeats is computed once
        self.memo: dict[str, str] = {}
        self.consts: dict[tuple[int, ...], str] = {}  # a wide bitmap constant's limbs -> its global

    def const(self, value: int, width: int) -> str:
        """The global holding a wide bitmap constant (one (L,) uint64 row)."""
        key = wide.limbs_of(value, width)
        if key not in self.consts:
            self.consts[key] = f"L{len(self.consts)}"
        return self.consts[key]

    def fresh(self, value: str) -> str:
        stable = _MUTABLE.search(value) is None  # new values and lets change between statements
        if stable and value in self.memo:
            return self.memo[value]
        self.n += 1
        name = f"q{self.n}"
        self.pre.append(f"{name} = {value}")
        if stable:
            self.memo[value] = name
        return name

    def leaf(self, f: Field) -> str:
        return self.names.get(f.key) or f"v{self.layout.index[f.key]}"

    def bounds(self, g: G) -> tuple[int, int]:  # noqa: C901 - one case per node type
        if isinstance(g, T.Lit):
            v = int(g.value)  # type: ignore[call-overload]
            return v, v
        if isinstance(g, Field):
            return _bounds_of_type(g.ty)
        if isinstance(g, Tmp):
            return self.tmp_bounds[g.name]
        if isinstance(g, Select):
            bs = [self.bounds(o) for o in g.options]
            return min(b[0] for b in bs), max(b[1] for b in bs)
        if isinstance(g, NAry):
            if g.op != "+":
                return 0, 1
            bs = [self.bounds(a) for a in g.args]
            return self._chk(sum(b[0] for b in bs), sum(b[1] for b in bs))
        if isinstance(g, T.Un):
            if g.op == "-":
                lo, hi = self.bounds(g.operand)
                return -hi, -lo
            if g.op == "~":
                return 0, (1 << _w(g.ty)) - 1
            return 0, 1
        if isinstance(g, T.Bin):
            op = g.op
            if op in ("+", "-", "*", "/", "%", "<<", ">>", "&", "|"):
                (a0, a1), (b0, b1) = self.bounds(g.left), self.bounds(g.right)
                if op == "+":
                    return self._chk(a0 + b0, a1 + b1)
                if op == "-":
                    return self._chk(a0 - b1, a1 - b0)
                if op == "*":
                    ps = [a0 * b0, a0 * b1, a1 * b0, a1 * b1]
                    return self._chk(min(ps), max(ps))
                if op in ("/", "%"):
                    m = max(abs(a0), abs(a1), abs(b0), abs(b1))
                    return -m, m
                if op == "<<":
                    if b0 < 0 or b1 > 62:
                        raise Unsupported("shift amount")
                    return self._chk(min(a0 << b0, a0 << b1), max(a1 << b0, a1 << b1))
                if op == ">>":
                    if b0 < 0 or b1 > 62:
                        raise Unsupported("shift amount")
                    return min(a0, a0 >> b1, 0), max(a1, 0)
                if a0 < 0 or b0 < 0:
                    raise Unsupported("bitwise operation on negative values")
                return 0, (1 << max(a1, b1).bit_length()) - 1
            return 0, 1
        if isinstance(g, T.IteE):
            (a0, a1), (b0, b1) = self.bounds(g.then), self.bounds(g.other)
            return min(a0, b0), max(a1, b1)
        if isinstance(g, T.Builtin):
            if g.func in ("min", "max"):
                bs = [self.bounds(a) for a in g.args]
                f = min if g.func == "min" else max
                return f(b[0] for b in bs), f(b[1] for b in bs)
            if g.func == "popcount":
                return 0, _w(g.args[0].ty)
            if g.func == "lowest":
                return 0, _w(g.args[0].ty)
            if g.func == "highest":
                return -1, _w(g.args[0].ty) - 1
            return 0, (1 << _w(g.ty)) - 1
        if isinstance(g, (T.Member, T.SetOf, T.BitTest)):
            return (0, 1) if not isinstance(g, T.SetOf) else (0, (1 << _w(g.ty)) - 1)
        raise Unsupported(type(g).__name__)

    @staticmethod
    def _chk(lo: int, hi: int) -> tuple[int, int]:
        if lo <= -LIMIT or hi >= LIMIT:
            raise Unsupported("an intermediate value may exceed 62 bits")
        return lo, hi

    def x(self, g: G) -> str:
        s = self._x(g)
        # a long expression over old values is named, so a repeat of it (lets and selects
        # are expanded where they are used) reuses the temporary
        return self.fresh(s) if len(s) > _NAMED and _MUTABLE.search(s) is None else s

    def _x(self, g: G) -> str:  # noqa: C901 - one case per node type
        self.bounds(g)  # raises Unsupported for values that might overflow int64
        if wide.handles(g):  # bitmaps wider than 62 bits are limbs
            return wide.emit(self, g)
        if isinstance(g, T.Lit):
            if isinstance(g.value, bool):
                return "True" if g.value else "False"
            return repr(int(g.value))  # type: ignore[call-overload]
        if isinstance(g, Field):
            return self.leaf(g)
        if isinstance(g, Tmp):
            return f"t_{g.name}"
        if isinstance(g, Select):
            ix = self.fresh(self.x(g.index))
            n = len(g.options)
            self.errs.append(f"(({ix}) < {g.lo}) | (({ix}) > {g.lo + n - 1})")
            out = self.x(g.options[-1])
            for k in range(n - 2, -1, -1):
                out = f"np.where({ix} == {g.lo + k}, {self.x(g.options[k])}, {out})"
            return out
        if isinstance(g, NAry):
            if g.op == "+":
                return "(" + " + ".join(self._int(a) for a in g.args) + ")"
            sep = " & " if g.op == "and" else " | "
            return "(" + sep.join(self.x(a) for a in g.args) + ")"
        if isinstance(g, T.Un):
            a = self.x(g.operand)
            if g.op == "not":
                return f"np.logical_not({a})"
            if g.op == "-":
                return f"(-{self._int(g.operand)})"
            return f"({(1 << _w(g.ty)) - 1} ^ {a})"
        if isinstance(g, T.Bin):
            return self.bin(g)
        if isinstance(g, T.Member):
            e = self.fresh(self.x(g.elem))
            return "(" + " | ".join(f"({e} == {self.x(o)})" for o in g.options) + ")"
        if isinstance(g, T.SetOf):
            w = _w(g.ty)
            parts = []
            for el in g.elems:
                if isinstance(el, T.Lit) and 0 <= int(el.value) < w:  # type: ignore[call-overload]
                    parts.append(str(1 << int(el.value)))  # type: ignore[call-overload]
                elif isinstance(el, T.Lit):  # a bit past the width: an error wherever it is evaluated
                    self.errs.append("True")
                else:
                    i = self.fresh(self.x(el))
                    self.errs.append(f"(({i}) < 0) | (({i}) > {w - 1})")
                    parts.append(f"np.left_shift(1, np.clip({i}, 0, {w - 1}))")
            return "(" + " | ".join(parts) + ")" if parts else "0"
        if isinstance(g, T.BitTest):
            m = self.x(g.bitmap)
            w = _w(g.bitmap.ty)
            if isinstance(g.index, T.Lit):
                k = int(g.index.value)  # type: ignore[call-overload]
                if not 0 <= k < w:  # an error wherever it is evaluated: the single-state path reports it
                    self.errs.append("True")
                    return "False"
                return f"(({m}) & {1 << k} != 0)"
            i = self.fresh(self.x(g.index))
            self.errs.append(f"(({i}) < 0) | (({i}) > {w - 1})")
            return f"((np.right_shift({m}, np.clip({i}, 0, {w - 1})) & 1) == 1)"
        if isinstance(g, T.IteE):
            return f"np.where({self.x(g.cond)}, {self.x(g.then)}, {self.x(g.other)})"
        if isinstance(g, T.Builtin):
            args = [self._int(a) for a in g.args]
            if g.func in ("min", "max"):
                f = "np.minimum" if g.func == "min" else "np.maximum"
                out = args[0]
                for a in args[1:]:
                    out = f"{f}({out}, {a})"
                return out
            if g.func == "popcount":
                return f"np.bitwise_count(np.asarray({args[0]}, dtype=np.int64)).astype(np.int64)"
            if g.func in ("lowest", "highest"):
                return f"_{g.func}({args[0]}, {_w(g.args[0].ty)})"
            w = _w(g.ty)
            kv = self.fresh(args[0])
            self.errs.append(f"(({kv}) < 0) | (({kv}) > {w})")
            return f"(np.left_shift(1, np.clip({kv}, 0, {w})) - 1)"
        if isinstance(g, Arr):
            raise Unsupported("whole-array value")
        raise Unsupported(type(g).__name__)

    def _int(self, g: G) -> str:
        s = self.x(g)
        return f"np.asarray({s}, dtype=np.int64)" if isinstance(g.ty, BoolT) else s

    def bin(self, g: T.Bin) -> str:
        op = g.op
        if op == "implies":
            return f"(np.logical_not({self.x(g.left)}) | {self.x(g.right)})"
        if op in ("and", "or"):
            return f"({self.x(g.left)} {'&' if op == 'and' else '|'} {self.x(g.right)})"
        if op in ("==", "!=", "<", "<=", ">", ">=", "&", "|"):
            return f"({self.x(g.left)} {op} {self.x(g.right)})"
        if op == "subseteq":
            return f"(({self.x(g.left)} & ~({self.x(g.right)})) == 0)"
        a, b = self._int(g.left), self._int(g.right)
        if op in ("+", "-", "*"):
            return f"({a} {op} {b})"
        if op in ("/", "%"):
            d = self.fresh(b)
            self.errs.append(f"(({d}) == 0)")
            f = "np.floor_divide" if op == "/" else "np.remainder"
            return f"{f}({a}, np.where({d} == 0, 1, {d}))"
        if op in ("<<", ">>"):
            return f"np.{'left_shift' if op == '<<' else 'right_shift'}({a}, {b})"
        raise Unsupported(op)


def compile_kernels(gm: Ground, layout: Layout) -> Kernels:
    """Raises Unsupported when some construct or value range is outside what kernels handle."""
    nwords = words(layout)
    gen = _Gen(layout)
    lines: list[str] = []
    emit = lines.append

    def decode(used: set[tuple[str, tuple[int, ...]]], ind: str) -> None:
        for j in range(nwords):  # the state's 64-bit words, one column each
            emit(f"{ind}W{j} = S[:, {j}]")
        for key in sorted(used, key=lambda k: layout.index[k]):
            i = layout.index[key]
            sl = layout.slots[i]
            if wide.is_wide(sl.field.ty):
                emit(f"{ind}v{i} = {wide.decode_field(sl.offset, sl.width)}")
                continue
            if sl.width > 62:
                raise Unsupported(f"`{sl.name}` takes {sl.width} bits")
            j, r = divmod(sl.offset, 64)
            word = f"(W{j} >> np.uint64({r}))" if r else f"W{j}"
            if r + sl.width > 64:  # the field straddles two words
                word = f"({word} | (W{j + 1} << np.uint64({64 - r})))"
            raw = f"({word} & np.uint64({(1 << sl.width) - 1}))"
            if not sl.width:
                raw = "np.zeros(S.shape[0], np.uint64)"
            if isinstance(sl.field.ty, BoolT):
                emit(f"{ind}v{i} = {raw} != 0")
            elif sl.lo:
                emit(f"{ind}v{i} = {raw}.astype(np.int64) + {sl.lo}")
            else:
                emit(f"{ind}v{i} = {raw}.astype(np.int64)")

    def flush(ind: str, ctx: str, err: str) -> None:
        """Emit the pending temporaries and fold the pending error conditions into `err`."""
        for p in gen.pre:
            emit(ind + p)
        if gen.errs:
            cond = " | ".join(f"({e})" for e in gen.errs)
            emit(f"{ind}{err} |= {cond if ctx == 'True' else f'{ctx} & ({cond})'}")  # broadcasts in place
        gen.pre, gen.errs = [], []

    def expr(g: G, ind: str, ctx: str, err: str) -> str:
        s = gen.x(g)
        flush(ind, ctx, err)
        return s

    actions = list(dict.fromkeys(inst.action for inst in gm.instances))
    used: set[tuple[str, tuple[int, ...]]] = set()
    for inst in gm.instances:
        _reads(inst.guard, used)
        _reads(list(inst.body), used)
    emit("def successors(S):")
    # a 1-D array of one-word states is accepted too (and gets 1-D successors back)
    emit("    flat = S.ndim == 1")
    emit("    if flat: S = S[:, None]")
    emit("    n = S.shape[0]")
    emit("    lane_err = np.zeros(n, np.bool_)")
    emit("    any_en = np.zeros(n, np.bool_)")
    emit(f"    act_en = [np.zeros(n, np.bool_) for _ in range({len(actions)})]")
    emit("    outs = []")
    decode(used, "    ")
    full = (1 << 64) - 1
    shared: dict[G, str] = {}
    for inst in gm.instances:
        check_time("compiling")
        emit(f"    # {inst.label}")
        if isinstance(inst.guard, T.Lit):
            if not inst.guard.value:
                continue
            emit("    idx = np.arange(n)")
            emit("    any_en[:] = True")
            emit(f"    act_en[{actions.index(inst.action)}][:] = True")
        else:
            # instances of one action share most guard conjuncts: each distinct one is computed once
            # (its possible errors flag lanes as the whole guard's would: conservatively)
            names = []
            for c in conjuncts(inst.guard):
                if c not in shared:
                    g = expr(c, "    ", "True", "lane_err")
                    shared[c] = f"k{len(shared)}"
                    emit(f"    {shared[c]} = _lanes({g}, n)")
                names.append(shared[c])
            emit(f"    gd = {' & '.join(names)}")
            emit("    any_en |= gd")
            emit(f"    act_en[{actions.index(inst.action)}] |= gd")
            emit("    idx = np.flatnonzero(gd)")
        emit("    if idx.size:")
        body_used: set[tuple[str, tuple[int, ...]]] = set()
        _reads(list(inst.body), body_used)
        written: list[tuple[str, tuple[int, ...]]] = []
        _writes(inst.body, written)
        gen.names = {}
        top_memo, gen.memo = gen.memo, {}  # temporaries of this body are local to it
        body_start = len(lines)
        for key in sorted(body_used | set(written), key=lambda k: layout.index[k]):
            i = layout.index[key]
            emit(f"        b{i} = v{i}[idx]")
            gen.names[key] = f"b{i}"
        emit("        e = np.zeros(idx.size, np.bool_)")
        for key in written:
            i = layout.index[key]
            emit(f"        n{i} = b{i}")
            gen.names[key] = f"n{i}"
        _stmts(gen, inst.body, "        ", "True", emit, expr, layout)
        emit("        if e.any(): lane_err[idx[e]] = True")
        for key in written:
            if wide.is_wide(layout.slots[layout.index[key]].field.ty):  # a constant value: one row per lane
                emit(f"        n{layout.index[key]} = _rows(n{layout.index[key]}, idx.size)")
        emit("        nx = np.take(S, idx, axis=0)")  # several times faster than S[idx] on (m, k) rows
        for j, (clear, parts) in sorted(_word_writes(layout, written).items()):
            emit(f"        nx[:, {j}] = (nx[:, {j}] & np.uint64({full ^ clear})) | " + " | ".join(parts))
        emit(f"        outs.append(({inst.id}, idx, nx[:, 0] if flat else nx))")
        lines[body_start:] = _prune(lines[body_start:])
        gen.names, gen.memo = {}, top_memo
    emit("    return lane_err, any_en, act_en, outs")
    emit("")

    def mask_fn(name: str, exprs: list[G]) -> None:
        gen.memo = {}  # a new function: no temporaries yet
        acc: set[tuple[str, tuple[int, ...]]] = set()
        _reads(exprs, acc)
        emit(f"def {name}(S):")
        emit("    if S.ndim == 1: S = S[:, None]")
        emit("    n = S.shape[0]")
        emit("    lane_err = np.zeros(n, np.bool_)")
        emit("    out = []")
        decode(acc, "    ")
        for g in exprs:
            s = expr(g, "    ", "True", "lane_err")
            emit(f"    out.append(_lanes(np.asarray({s}, dtype=np.bool_), n))")
        emit("    return lane_err, out")
        emit("")

    mask_fn("invariants", [g for p, g, _ in gm.properties if p.kind == "invariant"])
    mask_fn("reached", [g for p, g, _ in gm.properties if p.kind == "reachable"])
    src = "\n".join(lines) + "\n"
    fname = f"<plugcheck-kernels:{gm.model.name}:{gm.model.config.name}:{next(_counter)}>"
    linecache.cache[fname] = (len(src), None, src.splitlines(True), fname)
    ns: dict[str, Any] = {"np": np, "_lowest": _lowest, "_highest": _highest, "_lanes": _lanes, **wide.HELPERS}
    for limbs, name in gen.consts.items():
        ns[name] = np.array(limbs, dtype=np.uint64)
        ns[name].flags.writeable = False
    check_time("compiling")
    try:
        code = compiled(src, fname)
    except (SyntaxError, RecursionError, MemoryError) as exc:
        # a select over hundreds of elements is a where() nested that deep: past Python's
        # parser limits, the single-state path (an if per element) runs the model instead
        raise Unsupported(f"the kernels are too deeply nested for Python ({exc.__class__.__name__})") from None
    exec(code, ns)
    return Kernels(ns["successors"], ns["invariants"], ns["reached"], src)


def words(layout: Layout) -> int:
    """How many 64-bit words a packed state takes (at least one)."""
    return max(1, (layout.bits + 63) // 64)


def _word_writes(layout: Layout, written: list[tuple[str, tuple[int, ...]]]) -> dict[int, tuple[int, list[str]]]:
    """Per state word the written fields touch: the bits they clear and the new bits' terms."""
    pieces: list[tuple[int, int, str]] = []  # (bit offset, width, uint64 value code) of at most 64 bits
    for key in written:
        i = layout.index[key]
        sl = layout.slots[i]
        if wide.is_wide(sl.field.ty):
            pieces += wide.field_pieces(sl.offset, sl.width, f"n{i}")
        elif sl.width:
            val = f"np.asarray(n{i} - {sl.lo}).astype(np.uint64)" if sl.lo else f"np.asarray(n{i}).astype(np.uint64)"
            pieces.append((sl.offset, sl.width, val))
    out: dict[int, tuple[int, list[str]]] = {}
    for offset, width, val in pieces:
        j, r = divmod(offset, 64)
        mask = (1 << width) - 1
        clear, parts = out.get(j, (0, []))
        out[j] = (clear | (mask << r) & ((1 << 64) - 1), [*parts, f"({val} << np.uint64({r}))" if r else val])
        if r + width > 64:  # the high part goes to the next word
            clear, parts = out.get(j + 1, (0, []))
            out[j + 1] = (clear | mask >> (64 - r), [*parts, f"({val} >> np.uint64({64 - r}))"])
    return out


_NAMED = 40  # characters: a longer value expression gets a temporary
_MUTABLE = re.compile(r"\b(n\d+|t_\w+)\b")  # names a statement may assign again
_INIT = re.compile(r"        (n\d+) = (b\d+)$")
_GATHER = re.compile(r"        (b\d+) = v\d+\[idx\]$")
_OLD = re.compile(r"\bb\d+\b")
_NEW = re.compile(r"\bn\d+\b")


def _prune(body: list[str]) -> list[str]:
    """Drop the dead lines of an instance's body (straight-line code: conditions are masks).
    A written field starts as its old value (`nK = bK`) only until a first assignment that
    does not read it; a field's old value is gathered (`bK = vK[idx]`) only if something
    reads it. A reset action that writes every field then gathers almost nothing."""
    names = [set(_NEW.findall(line)) for line in body]
    dead: set[int] = set()
    for i, line in enumerate(body):
        m = _INIT.match(line)
        if m is None:
            continue
        new = m.group(1)
        for j in range(i + 1, len(body)):
            if new in names[j]:
                lhs, _, rhs = body[j].partition(" = ")
                if lhs == f"        {new}" and new not in _NEW.findall(rhs):
                    dead.add(i)  # overwritten before any read
                break
    out = [line for i, line in enumerate(body) if i not in dead]
    uses = Counter(_OLD.findall("\n".join(out)))
    # a gather only its own line mentions is dead
    return [line for line in out if (g := _GATHER.match(line)) is None or uses[g.group(1)] > 1]


def _lanes(x: Any, n: int) -> Any:
    """A mask over the n lanes (a constant condition comes as a scalar); read-only."""
    return x if getattr(x, "shape", None) == (n,) else np.broadcast_to(x, (n,))


def _lowest(m: Any, w: int) -> Any:
    """Per lane: the lowest set bit's index, w for an empty bitmap."""
    m = np.asarray(m, dtype=np.int64)
    return np.where(m == 0, w, np.bitwise_count((m & -m) - 1).astype(np.int64))


def _highest(m: Any, w: int) -> Any:
    """Per lane: the highest set bit's index, -1 for an empty bitmap (smear the top bit down)."""
    m = np.asarray(m, dtype=np.int64)
    for sh in (1, 2, 4, 8, 16, 32):
        m = m | (m >> sh)
    return np.bitwise_count(m).astype(np.int64) - 1


def _stmts(
    gen: _Gen,
    ss: tuple[GStmt, ...],
    ind: str,
    ctx: str,
    emit: Callable[[str], None],
    expr: Callable[[G, str, str, str], str],
    layout: Layout,
) -> None:
    for s in ss:
        if isinstance(s, GSet):
            i = layout.index[s.field.key]
            if wide.is_wide(s.field.ty):  # limbs: the condition as a column
                if isinstance(s.value, T.Lit):  # a folded constant: the field's width
                    v = gen.const(int(s.value.value), wide.width(s.field.ty))  # type: ignore[call-overload]
                elif s.value.ty == s.field.ty:
                    v = expr(s.value, ind, ctx, "e")
                else:
                    raise Unsupported(f"a {s.value.ty} value assigned to a {s.field.ty} variable")
                cond = f"np.expand_dims({ctx}, -1)"
            else:
                v, cond = expr(s.value, ind, ctx, "e"), ctx
            emit(f"{ind}n{i} = {v}" if ctx == "True" else f"{ind}n{i} = np.where({cond}, {v}, n{i})")
            t = s.field.ty
            lo, hi = gen.bounds(s.value)
            if isinstance(t, IntT) and not (t.lo <= lo and hi <= t.hi):
                bad = f"(n{i} < {t.lo}) | (n{i} > {t.hi})"
                emit(f"{ind}e |= {bad if ctx == 'True' else f'{ctx} & ({bad})'}")
        elif isinstance(s, GLet):
            gen.tmp_bounds[s.name] = gen.bounds(s.value)
            emit(f"{ind}t_{s.name} = {expr(s.value, ind, ctx, 'e')}")
        elif isinstance(s, GIf):
            c = expr(s.cond, ind, ctx, "e")
            gen.n += 1
            k = gen.n
            base = "" if ctx == "True" else f"{ctx} & "
            emit(f"{ind}h{k} = np.asarray({c}, dtype=np.bool_)")  # the condition once, both branches
            emit(f"{ind}c{k} = {base}h{k}")
            emit(f"{ind}d{k} = {base}np.logical_not(h{k})")
            _stmts(gen, s.then, ind, f"c{k}", emit, expr, layout)
            _stmts(gen, s.other, ind, f"d{k}", emit, expr, layout)
        elif isinstance(s, GFail):
            emit(f"{ind}e |= {ctx}")

"""Compile a ground model to C: the numpy kernels' work (every action instance over a chunk
of packed states, and the invariant and reachable masks), one state at a time in a loop
that gcc compiles (`native.py` builds and loads it).

The C code is a copy of the compiled Python's semantics (`codegen.py`): `and`, `or`,
`implies`, `if` and array reads evaluate lazily, everything else eagerly. A runtime error
(an index or bit out of range, division by zero, an assignment out of range, `fail`) sets
the lane's error flag and abandons the lane: its successors are dropped and the backend
hands it to the compiled Python, which decides exactly, as for the numpy kernels. So C
must flag every lane where an error occurs; it never has to say which one.

Values are `int64_t` and, for bitmaps of 63 to 128 bits, `unsigned __int128`. The model
must compile to numpy kernels first: their interval analysis guarantees no intermediate
value leaves +-2**62, so int64 arithmetic equals Python's.

The source holds nothing of the spec's text: names are generated (`v3`, `n3`, `t7`) and
every literal is a number, so a spec cannot inject code."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from model import typed as T
from model.budget import check_time
from model.domains import BitmapT, BoolT, EnumT, IntT, Type
from model.ground import Arr, Field, G, GFail, GIf, GLet, Ground, GSet, GStmt, NAry, Select, Tmp
from model.walk import reads as _reads
from model.walk import within as _within
from model.walk import writes as _writes

from .kernels_wide import Unsupported
from .layout import Layout

WIDEST = 128  # bits of the widest bitmap C holds in one value

PRELUDE = r"""#include <stdint.h>
typedef int64_t I;
typedef unsigned __int128 U;
#define OK(e) ({ __auto_type _ok = (e); if (err) goto bad; _ok; })
static inline I fdiv(I a, I b) { I q = a / b; if ((a % b != 0) && ((a < 0) != (b < 0))) q--; return q; }
static inline I fmod_(I a, I b) { I r = a % b; if (r != 0 && ((r < 0) != (b < 0))) r += b; return r; }
static inline I pop(U m) { return __builtin_popcountll((uint64_t)m) + __builtin_popcountll((uint64_t)(m >> 64)); }
static inline I low(U m, I w) {
    if (!m) return w;
    uint64_t lo = (uint64_t)m;
    return lo ? __builtin_ctzll(lo) : 64 + __builtin_ctzll((uint64_t)(m >> 64));
}
static inline I high(U m) {
    uint64_t hi = (uint64_t)(m >> 64);
    if (hi) return 127 - __builtin_clzll(hi);
    uint64_t lo = (uint64_t)m;
    return lo ? 63 - __builtin_clzll(lo) : -1;
}
"""


def _wide(t: Type) -> bool:
    return isinstance(t, BitmapT) and t.width is not None and t.width > 62


def _ctype(t: Type) -> str:
    if isinstance(t, BitmapT):
        if t.width is None:  # a literal compared with a bitmap: its value decides (`_num`)
            return "I"
        if t.width > WIDEST:
            raise Unsupported(f"a bitmap of {t.width} bits")
        return "U" if t.width > 62 else "I"
    return "I"


def _w(t: Type) -> int:
    if not isinstance(t, BitmapT) or t.width is None:
        raise Unsupported(f"bitmap type {t}")
    return t.width


def _num(value: int, ctype: str = "I") -> str:
    """A C literal of an int64 or, above 64 bits, an unsigned 128-bit value."""
    if ctype == "U" or value >= 1 << 63:
        lo, hi = value & ((1 << 64) - 1), value >> 64
        return f"(((U){hi}ULL << 64) | (U){lo}ULL)" if hi else f"((U){lo}ULL)"
    if value == -(1 << 63):
        return "INT64_MIN"
    return f"INT64_C({value})"


class _Gen:
    """Expression emitter: a C expression per node; temporaries are statement expressions
    with fresh names (a nested one may not reuse a name its initialiser reads)."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.names: dict[tuple[str, tuple[int, ...]], str] = {}  # written leaf -> its new value's name
        self.tmps: dict[tuple[str, str], str] = {}  # (let name, C type) -> its variable
        self._n = itertools.count()

    def t(self) -> str:
        return f"_t{next(self._n)}"

    def tmp(self, name: str, ty: Type) -> str:
        key = (name, _ctype(ty))
        if key not in self.tmps:
            self.tmps[key] = f"t{len(self.tmps)}"
        return self.tmps[key]

    def x(self, g: G) -> str:  # noqa: C901 - one case per node type
        if isinstance(g, T.Lit):
            if isinstance(g.value, bool):
                return "1" if g.value else "0"
            return _num(int(g.value), _ctype(g.ty))  # type: ignore[call-overload]
        if isinstance(g, Field):
            return self.names.get(g.key) or f"v{self.layout.index[g.key]}"
        if isinstance(g, Tmp):
            return self.tmp(g.name, g.ty)
        if isinstance(g, Select):
            i = self.t()
            n = len(g.options)
            inside = _within(g.index.ty, g.lo, g.lo + n - 1) or isinstance(g.index.ty, (EnumT, BoolT))
            out = self.x(g.options[-1]) if inside else f"(err = 1, ({_ctype(g.ty)})0)"
            for k in range(n - 1 if inside else n, 0, -1):
                out = f"({i} == {g.lo + k - 1} ? {self.x(g.options[k - 1])} : {out})"
            return f"({{ I {i} = {self.x(g.index)}; {out}; }})"
        if isinstance(g, NAry):
            sep = {"and": " && ", "or": " || ", "+": " + "}[g.op]
            return "(" + sep.join(self.x(a) for a in g.args) + ")"
        if isinstance(g, T.Un):
            a = self.x(g.operand)
            if g.op == "not":
                return f"(!{a})"
            if g.op == "-":
                return f"(-{a})"
            return f"({_num((1 << _w(g.ty)) - 1, _ctype(g.ty))} ^ {a})"
        if isinstance(g, T.Bin):
            return self.bin(g)
        if isinstance(g, T.Member):
            return self._eager([g.elem, *g.options], lambda v: "(" + " || ".join(f"{v[0]} == {o}" for o in v[1:]) + ")")
        if isinstance(g, T.SetOf):
            return self._setof(g)
        if isinstance(g, T.BitTest):
            w = _w(g.bitmap.ty)
            if isinstance(g.index, T.Lit):
                k = int(g.index.value)  # type: ignore[call-overload]
                if not 0 <= k < w:  # an error wherever it is evaluated
                    return f"({self.x(g.bitmap)}, err = 1, 0)"
                return f"(({self.x(g.bitmap)} & {_num(1 << k, _ctype(g.bitmap.ty))}) != 0)"

            def test(v: list[str]) -> str:
                return f"(({v[1]} < 0 || {v[1]} > {w - 1}) ? (err = 1, 0) : (int)(({v[0]} >> {v[1]}) & 1))"

            return self._eager([g.bitmap, g.index], test)
        if isinstance(g, T.IteE):
            return f"({self.x(g.cond)} ? {self.x(g.then)} : {self.x(g.other)})"
        if isinstance(g, T.Builtin):
            return self.builtin(g)
        if isinstance(g, Arr):
            raise Unsupported("whole-array value")
        raise Unsupported(type(g).__name__)

    def _eager(self, args: list[G], body: Callable[[list[str]], str]) -> str:
        """Every argument evaluated (as Python evaluates a call's arguments), then `body`."""
        names = [self.t() for _ in args]
        decls = " ".join(f"__auto_type {n} = {self.x(a)};" for n, a in zip(names, args, strict=True))
        return f"({{ {decls} {body(names)}; }})"

    def _setof(self, g: T.SetOf) -> str:
        w, ct = _w(g.ty), _ctype(g.ty)
        if not g.elems:
            return f"(({ct})0)"
        dynamic: list[G] = []
        consts = 0
        bad = False
        for el in g.elems:
            if isinstance(el, T.Lit):
                k = int(el.value)  # type: ignore[call-overload]
                if 0 <= k < w:
                    consts |= 1 << k
                else:
                    bad = True
            else:
                dynamic.append(el)

        def bits(v: list[str]) -> str:
            parts = [_num(consts, ct)]
            for n in v:
                parts.append(f"(({n} < 0 || {n} > {w - 1}) ? (err = 1, ({ct})0) : (({ct})1 << {n}))")
            return ("(err = 1, 0) | " if bad else "") + "(" + " | ".join(parts) + ")"

        return self._eager(dynamic, bits) if dynamic else bits([])

    def builtin(self, g: T.Builtin) -> str:
        f = g.func
        if f in ("min", "max"):
            op = "<" if f == "min" else ">"

            def pick(v: list[str]) -> str:
                out = v[0]
                for n in v[1:]:
                    out = f"({out} {op} {n} ? {out} : {n})"
                return out

            return self._eager(list(g.args), pick)
        a = self.x(g.args[0])
        if f == "popcount":
            return f"pop({a})"
        if f == "lowest":
            return f"low({a}, {_w(g.args[0].ty)})"
        if f == "highest":
            return f"high({a})"
        w, ct = _w(g.ty), _ctype(g.ty)  # lowbits
        k = self.t()
        full = _num((1 << w) - 1, ct)
        value = f"{k} == {w} ? {full} : ((({ct})1 << {k}) - 1)"  # a shift by the full width is undefined in C
        return f"({{ I {k} = {a}; ({k} < 0 || {k} > {w}) ? (err = 1, ({ct})0) : {value}; }})"

    def bin(self, g: T.Bin) -> str:
        op = g.op
        if op == "implies":
            return f"(!{self.x(g.left)} || {self.x(g.right)})"
        if op in ("and", "or"):
            return f"({self.x(g.left)} {'&&' if op == 'and' else '||'} {self.x(g.right)})"
        if op in ("==", "!=", "<", "<=", ">", ">=", "&", "|", "+", "-", "*"):
            return f"({self.x(g.left)} {op} {self.x(g.right)})"
        if op == "subseteq":
            return self._eager([g.left, g.right], lambda v: f"(({v[0]} & ~{v[1]}) == 0)")
        if op in ("/", "%"):
            fn = "fdiv" if op == "/" else "fmod_"
            return self._eager([g.left, g.right], lambda v: f"({v[1]} == 0 ? (err = 1, 0) : {fn}({v[0]}, {v[1]}))")
        if op == "<<":  # through uint64: a negative value shifts as Python's does (no overflow: bounds)
            return self._eager([g.left, g.right], lambda v: f"(I)((uint64_t){v[0]} << {v[1]})")
        if op == ">>":
            return f"({self.x(g.left)} >> {self.x(g.right)})"
        raise Unsupported(op)


def _decode(layout: Layout, i: int) -> str:
    """The C expression of leaf i's value from the state's words `s`."""
    sl = layout.slots[i]
    ct = _ctype(sl.field.ty)
    if not sl.width:
        return "0"
    ut = "U" if ct == "U" or sl.offset % 64 + sl.width > 64 else "uint64_t"
    parts = []
    for j in range(sl.offset // 64, (sl.offset + sl.width - 1) // 64 + 1):
        sh = 64 * j - sl.offset
        parts.append(f"(({ut})s[{j}] << {sh})" if sh > 0 else f"(({ut})s[{j}] >> {-sh})" if sh else f"({ut})s[{j}]")
    raw = f"(({' | '.join(parts)}) & {_num((1 << sl.width) - 1, 'U' if ut == 'U' else 'I')})"
    if isinstance(sl.field.ty, BoolT):
        return f"({raw} != 0)"
    if ct == "U":
        return raw
    return f"((I){raw} + {sl.lo})" if sl.lo else f"(I){raw}"


def _encode(layout: Layout, written: list[tuple[str, tuple[int, ...]]], nwords: int) -> list[str]:
    """Statements writing the successor's words `o` from `s` and the new values `nK`."""
    clear = [0] * nwords
    parts: list[list[str]] = [[] for _ in range(nwords)]
    for key in written:
        i = layout.index[key]
        sl = layout.slots[i]
        if not sl.width:
            continue
        r = sl.offset % 64
        if r + sl.width <= 64 and _ctype(sl.field.ty) == "I":  # one word: 64-bit arithmetic
            j = sl.offset // 64
            clear[j] |= ((1 << sl.width) - 1) << r
            v = f"(n{i} - {sl.lo})" if sl.lo else f"n{i}"
            parts[j].append(f"((uint64_t){v} << {r})")
            continue
        val = f"((U)(n{i} - {sl.lo}))" if sl.lo else f"((U)n{i})"
        for j in range(sl.offset // 64, (sl.offset + sl.width - 1) // 64 + 1):
            lo, hi = max(sl.offset, 64 * j), min(sl.offset + sl.width, 64 * j + 64)
            clear[j] |= ((1 << (hi - lo)) - 1) << (lo - 64 * j)
            sh = 64 * j - sl.offset
            parts[j].append(f"(uint64_t)({val} >> {sh})" if sh > 0 else f"(uint64_t)({val} << {-sh})")
    out = []
    for j in range(nwords):
        if parts[j]:
            keep = ((1 << 64) - 1) ^ clear[j]
            out.append(f"o[{j}] = (s[{j}] & {keep}ULL) | " + " | ".join(parts[j]) + ";")
        else:
            out.append(f"o[{j}] = s[{j}];")
    return out


def _stmts(gen: _Gen, ss: tuple[GStmt, ...], emit: Callable[[str], None], layout: Layout) -> None:
    for s in ss:
        if isinstance(s, GSet):
            i = layout.index[s.field.key]
            emit(f"n{i} = OK({gen.x(s.value)});")
            t = s.field.ty
            if isinstance(t, IntT) and not _within(s.value.ty, t.lo, t.hi):
                emit(f"if (n{i} < {t.lo} || n{i} > {t.hi}) goto bad;")
        elif isinstance(s, GLet):
            emit(f"{gen.tmp(s.name, s.value.ty)} = OK({gen.x(s.value)});")
        elif isinstance(s, GIf):
            # an else branch that is one `if` stays flat: a write through a variable index is a
            # chain of one `if` per element
            word, branch = "if", s
            while True:
                emit(f"{word} (OK({gen.x(branch.cond)})) {{")
                _stmts(gen, branch.then, emit, layout)
                if len(branch.other) == 1 and isinstance(branch.other[0], GIf):
                    word, branch = "} else if", branch.other[0]
                    continue
                if branch.other:
                    emit("} else {")
                    _stmts(gen, branch.other, emit, layout)
                emit("}")
                break
        elif isinstance(s, GFail):
            emit("goto bad;")


# A chunk's transitions, in (lane, instance) order, into the visited set (`store.Visited`'s
# table: a slot per row, free where its last word is all ones; the hash is `row_hash`):
# self-loops (unless S is NULL: the sources are elsewhere) and known states are skipped, a
# new state is inserted at once (so a later duplicate in the chunk is known) and listed, so
# the new states come out in the order of their first occurrence, the rule that numbers
# states alike on every backend. With `vals`, each new state's number goes into the table
# and `target` gets every transition's successor number. `limit`: after the limit-th new
# state, the lanes after its lane are left (`*cut` is then the first lane left; else -1).
# No row's last word may be all ones. With `ninst`, `src` holds keys lane * ninst + instance
# and `iid` is not read. `place` fills a grown (empty) table with the rows of the old one.
VISIT = r"""
#define ALL UINT64_MAX
#define PF 64 /* a probe's slot is fetched this many transitions ahead: the misses overlap */
static inline uint64_t row_hash(const uint64_t *x) {
    uint64_t h = x[0] * MUL;
    for (int j = 1; j < K; j++) { h ^= x[j]; h *= MUL; }
    return h;
}
/* start fetching the home slot of row x: its probe comes PF rows later */
static inline __attribute__((always_inline)) void fetch(const uint64_t *table, int64_t bits, const uint64_t *x) {
    __builtin_prefetch(table + (row_hash(x) >> (64 - bits)) * K);
}
int64_t visit(const uint64_t *S, const int64_t *src, const int64_t *iid, int64_t ninst, const uint64_t *nxt,
              int64_t m, uint64_t *table, int64_t *vals, int64_t bits, int64_t base, int64_t lo, int64_t limit,
              uint64_t *new_rows, int64_t *new_src, int32_t *new_iid, int64_t *target, int64_t *cut) {
    uint64_t mask = ((uint64_t)1 << bits) - 1;
    int64_t c = 0, stop = limit <= 0 ? 0 : -1;
    *cut = -1;
    for (int64_t t = 0; t < m; t++) {
        int64_t L = ninst ? src[t] / ninst : src[t];
        if (stop >= 0 && L > stop) { *cut = stop + 1; break; }
        const uint64_t *x = nxt + t * K;
        if (t + PF < m) fetch(table, bits, x + PF * K);
        if (S) {
            const uint64_t *p = S + L * K;
            int same = 1;
            for (int j = 0; j < K; j++) if (x[j] != p[j]) { same = 0; break; }
            if (same) { if (target) target[t] = lo + L; continue; }
        }
        uint64_t h = row_hash(x) >> (64 - bits);
        for (;;) {
            uint64_t *slot = table + h * K;
            if (slot[K - 1] == ALL) {
                for (int j = 0; j < K; j++) { slot[j] = x[j]; new_rows[c * K + j] = x[j]; }
                if (vals) vals[h] = base + c;
                if (target) target[t] = base + c;
                new_src[c] = lo + L; new_iid[c] = (int32_t)(ninst ? src[t] % ninst : iid[t]);
                c++;
                if (c == limit) stop = L;
                break;
            }
            int eq = 1;
            for (int j = 0; j < K; j++) if (slot[j] != x[j]) { eq = 0; break; }
            if (eq) { if (target) target[t] = vals ? vals[h] : 0; break; }
            h = (h + 1) & mask;
        }
    }
    if (stop >= 0 && *cut < 0) *cut = stop + 1;
    return c;
}
// The partitioned search's step (`distributed.partition`): a chunk's transitions, self-loops
// dropped, each successor to the partition its hash with multiplier `omul` picks (as
// `partition.owners`); successors of partition `index` that its visited set holds are
// dropped too (read only: new ones are inserted later, in key order). The rest go to owner
// j's region of `out_rows`/`out_key` (from j * m on), in transition order, keyed
// lane * ninst + instance; `counts[j]` says how many. No row's last word may be all ones.
// Two passes: the first routes (an owner is a coin toss, which the branch predictor loses,
// and a mispredicted probe would throw away the memory fetches under way) and lists the own
// transitions in the own region's keys; the second probes those, fetching ahead. (Its probe
// loop is visit's without the insert: one helper for both measured 3-5% slower at -O1.)
void split(const uint64_t *S, const int64_t *src, const int64_t *iid, int64_t ninst, const uint64_t *nxt,
           int64_t m, const uint64_t *table, int64_t bits, int64_t parts, int64_t index, uint64_t omul,
           uint64_t *out_rows, int64_t *out_key, int64_t *counts) {
    uint64_t mask = ((uint64_t)1 << bits) - 1;
    for (int64_t j = 0; j < parts; j++) counts[j] = 0;
    int64_t *mine = out_key + index * m, n = 0;
    for (int64_t t = 0; t < m; t++) {
        const uint64_t *x = nxt + t * K;
        const uint64_t *p = S + src[t] * K;
        int same = 1;
        for (int j = 0; j < K; j++) if (x[j] != p[j]) { same = 0; break; }
        if (same) continue;
        uint64_t o = x[0] * omul;
        for (int j = 1; j < K; j++) { o ^= x[j]; o *= omul; }
        int64_t owner = (int64_t)(((o >> 32) * (uint64_t)parts) >> 32), own = owner == index;
        /* without a branch on the coin toss: an own transition's row and key go to the own
           region's last slot (pass 2 writes there last, counts[index] is 0 until then; the
           key first, as mine[m - 1] is the last transition's own entry) */
        int64_t at = owner * m + counts[owner] + own * (m - 1);
        for (int j = 0; j < K; j++) out_rows[at * K + j] = x[j];
        out_key[at] = src[t] * ninst + iid[t];
        counts[owner] += 1 - own;
        mine[n] = t; n += own;
    }
    int64_t c = 0;  /* written at c <= i: the lanes still to read are not overwritten */
    for (int64_t i = 0; i < n; i++) {
        if (i + PF < n) fetch(table, bits, nxt + mine[i + PF] * K);
        int64_t t = mine[i];
        const uint64_t *x = nxt + t * K;
        uint64_t h = row_hash(x) >> (64 - bits);
        int known = 0;
        for (;;) {
            const uint64_t *slot = table + h * K;
            if (slot[K - 1] == ALL) break;
            int eq = 1;
            for (int j = 0; j < K; j++) if (slot[j] != x[j]) { eq = 0; break; }
            if (eq) { known = 1; break; }
            h = (h + 1) & mask;
        }
        if (known) continue;
        int64_t at = index * m + c++;
        for (int j = 0; j < K; j++) out_rows[at * K + j] = x[j];
        mine[c - 1] = src[t] * ninst + iid[t];
    }
    counts[index] = c;
}
void place(const uint64_t *old, const int64_t *old_vals, int64_t old_size,
           uint64_t *table, int64_t *vals, int64_t bits) {
    uint64_t mask = ((uint64_t)1 << bits) - 1;
    for (int64_t i = 0; i < old_size; i++) {
        const uint64_t *x = old + i * K;
        if (x[K - 1] == ALL) continue;
        uint64_t h = row_hash(x) >> (64 - bits);
        while (table[h * K + K - 1] != ALL) h = (h + 1) & mask;
        for (int j = 0; j < K; j++) table[h * K + j] = x[j];
        if (vals) vals[h] = old_vals[i];
    }
}
"""


def c_source(gm: Ground, layout: Layout, nwords: int, mul: int) -> str:
    """The C source of `expand`, `invariants`, `reached`, `visit` and `split` (see `native.py` for
    their arguments; `mul`: `row_hash`'s multiplier). Raises Unsupported where the model
    needs what the C code does not handle."""
    gen = _Gen(layout)
    lines: list[str] = [PRELUDE, f"#define K {nwords}", f"#define MUL {mul}ULL", VISIT]
    emit = lines.append
    actions = list(dict.fromkeys(inst.action for inst in gm.instances))
    used: set[tuple[str, tuple[int, ...]]] = set()
    for inst in gm.instances:
        _reads(inst.guard, used)
        _reads(list(inst.body), used)
    order = sorted(used, key=lambda k: layout.index[k])

    def decode(keys: list[tuple[str, tuple[int, ...]]]) -> None:
        for key in keys:
            i = layout.index[key]
            emit(f"const {_ctype(layout.slots[i].field.ty)} v{i} = {_decode(layout, i)};")

    body: list[str] = []
    for inst in gm.instances:
        check_time("compiling")
        out = body.append
        written: list[tuple[str, tuple[int, ...]]] = []
        _writes(inst.body, written)
        a = actions.index(inst.action)
        out(f"if (OK({gen.x(inst.guard)})) {{")
        for key in written:
            i = layout.index[key]
            out(f"{_ctype(layout.slots[i].field.ty)} n{i} = v{i};")
            gen.names[key] = f"n{i}"
        _stmts(gen, inst.body, out, layout)
        out(f"uint64_t *o = nxt + m * {nwords};")
        body.extend(_encode(layout, written, nwords))
        out(f"src[m] = L; iid[m] = {inst.id}; m++;")
        out(f"if (stamp[{a}] != L) {{ stamp[{a}] = L; act[{a}]++; }}")
        out("}")
        gen.names = {}
    tmps = [f"{ct} {name} = 0;" for (_, ct), name in gen.tmps.items()]
    nact = max(len(actions), 1)
    emit("int64_t expand(const uint64_t *S, int64_t n, int64_t start, int64_t cap, int64_t *src, int64_t *iid,")
    emit("               uint64_t *nxt, uint8_t *lane_err, int64_t *act, int64_t *done) {")
    emit(f"int64_t m = 0, L; int64_t stamp[{nact}];")
    emit(f"for (int a = 0; a < {nact}; a++) stamp[a] = -1;")
    emit("for (L = start; L < n; L++) {")
    emit(f"if (m + {max(len(gm.instances), 1)} > cap) break;")
    emit(f"const uint64_t *s = S + L * {nwords};")
    emit("int64_t m0 = m; int err = 0;")
    lines.extend(tmps)
    emit("{")  # the decoded values' scope ends before the label `bad`
    decode(order)
    lines.extend(body)
    emit("}")
    emit("continue;")
    emit("bad:")
    emit("m = m0; lane_err[L] = 1;")
    emit(f"for (int a = 0; a < {nact}; a++) if (stamp[a] == L) {{ stamp[a] = -1; act[a]--; }}")
    emit("}")
    emit("*done = L; return m;")
    emit("}")
    for name, kind in (("invariants", "invariant"), ("reached", "reachable")):
        exprs = [g for p, g, _ in gm.properties if p.kind == kind]
        acc: set[tuple[str, tuple[int, ...]]] = set()
        _reads(exprs, acc)
        emit(f"void {name}(const uint64_t *S, int64_t n, uint8_t *val, uint8_t *lane_err) {{")
        emit("for (int64_t L = 0; L < n; L++) {")
        emit(f"const uint64_t *s = S + L * {nwords}; int err = 0;")
        emit("{")
        decode(sorted(acc, key=lambda k: layout.index[k]))
        for j, g in enumerate(exprs):
            check_time("compiling")
            emit(f"val[{j} * n + L] = OK({gen.x(g)}) ? 1 : 0;")
        emit("}")
        emit("continue;")
        emit("bad: lane_err[L] = 1;")
        emit("}")
        emit("}")
    return "\n".join(lines) + "\n"

"""Candidate invariants from templates over a spec's own vocabulary, as spec text.

The templates are the shapes the hand-written auxiliary invariants of the shipped specs
take: per-index relations between bitmap views of the same blocks (subset, equal,
disjoint), an enum state forcing a bitmap of the same index empty, non-empty or full, an
enum state excluding a state of another enum array or forcing a flag, a counter equal to a
count or a sum over the arrays, and the ordering of integer counters and program counters.
Candidates are written with the spec's own type names and constants (`forall b : Block.
... lowbits(S)`), so the same text means the same thing at every config size.

Nothing from the spec reaches the text unchecked: names are identifiers the parser accepted
and type and width texts are the spec's own source slices, which the parser parses again."""

from __future__ import annotations

import re
from dataclasses import dataclass

from model import syntax as S
from model import typed as T
from model.domains import ArrayT, BitmapT, BoolT, EnumT, IntT, Type
from model.load import Spec, source_of

DEFAULT_LIMIT = 10000  # candidates kept when the templates produce more (stated in the output)


@dataclass(frozen=True)
class Var:
    name: str
    ty: Type  # the element type for arrays
    index: str | None = None  # the index type as written (`Block`), None for a scalar
    width: str | None = None  # a bitmap's width as written (`S`)
    named: str | None = None  # a scalar's type when it is a name (`cur : Block`): it can index arrays
    index2: str | None = None  # the inner index of a nested array (`[Dev] [Block] ...`)

    @property
    def quant(self) -> str:
        """`forall` over every element (`forall i : Dev. forall j : Block.`)."""
        inner = f" forall j : {self.index2}." if self.index2 else ""
        return f"forall i : {self.index}.{inner}"

    @property
    def el(self) -> str:
        """The element the quantifier binds (`fo[i][j]`)."""
        return f"{self.name}[i][j]" if self.index2 else f"{self.name}[i]"


def _text(spec: Spec, span: S.Span) -> str | None:
    """The source slice of a one-line span (None when it cannot be cut out)."""
    src = source_of(spec, span)
    if src is None or not span.line or span.end_line != span.line:
        return None
    line = src.splitlines()[span.line - 1]
    return line[span.column - 1 : span.end_column - 1].strip() or None


def vocabulary(spec: Spec, model: T.Model) -> list[Var]:
    """The spec's variables with the texts templates need, in declaration order."""
    decls = {d.name: d for d in spec.decls if isinstance(d, S.VarDecl)}
    out = []
    for v in model.vars:
        d = decls.get(v.name)
        if d is None:
            continue
        ty, tx = v.ty, d.type
        index = index2 = None
        if isinstance(ty, ArrayT):
            if not isinstance(tx, S.ArrayType):
                continue
            index = _text(spec, tx.index.span)
            ty, tx = ty.elem, tx.elem
            if isinstance(ty, ArrayT):  # one level of nesting: per-element relations only
                if not isinstance(tx, S.ArrayType) or isinstance(ty.elem, ArrayT):
                    continue
                index2 = _text(spec, tx.index.span)
                if index2 is None:
                    continue
                ty, tx = ty.elem, tx.elem
            if index is None:
                continue
        width = _text(spec, tx.width.span) if isinstance(tx, S.BitmapType) else None
        if isinstance(ty, BitmapT) and width is None:
            continue
        named = tx.name if index is None and isinstance(tx, S.NamedType) else None
        out.append(Var(v.name, ty, index, width, named, index2))
    return out


def candidates(spec: Spec, model: T.Model) -> list[str]:
    """Candidate invariant expressions, most useful templates first, without repeats."""
    vs = vocabulary(spec, model)
    shaped = [v for v in vs if v.index is not None]
    arrays = [v for v in shaped if v.index2 is None]  # nested arrays only in the per-element relations
    scalars = [v for v in vs if v.index is None]
    out: list[str] = []
    for a in shaped:
        for b in shaped:
            if (a.index, a.index2) != (b.index, b.index2) or a is b:
                continue
            q, ea, eb = a.quant, a.el, b.el
            if isinstance(a.ty, BitmapT) and isinstance(b.ty, BitmapT) and a.width == b.width:
                out.append(f"{q} {ea} subseteq {eb}")
                if a.name < b.name:
                    out += [f"{q} {ea} == {eb}", f"{q} {ea} & {eb} == {{}}"]
            if isinstance(a.ty, EnumT) and isinstance(b.ty, BitmapT):
                for m in a.ty.members:
                    at = f"{q} {ea} == {m} implies {eb}"
                    out += [f"{at} == {{}}", f"{at} != {{}}", f"{at} == lowbits({b.width})"]
            if isinstance(a.ty, BoolT) and isinstance(b.ty, BoolT):
                out.append(f"{q} {ea} implies {eb}")
            if isinstance(a.ty, EnumT) and isinstance(b.ty, BoolT):
                for m in a.ty.members:
                    at = f"{q} {ea} == {m} implies"
                    out += [f"{at} {eb}", f"{at} not {eb}"]
    for a in shaped:
        for b in shaped:
            same = (a.index, a.index2) == (b.index, b.index2)
            if same and a is not b and isinstance(a.ty, EnumT) and isinstance(b.ty, EnumT):
                for m in a.ty.members:
                    for n in b.ty.members:
                        out.append(f"{a.quant} {a.el} == {m} implies {b.el} != {n}")
    ints = [v for v in scalars if isinstance(v.ty, IntT)]
    for v in ints:
        for a in arrays:
            if isinstance(a.ty, EnumT):
                for m in a.ty.members:
                    out.append(f"{v.name} == count(i : {a.index}. {a.name}[i] == {m})")
            if isinstance(a.ty, BitmapT):
                out.append(f"{v.name} == sum(i : {a.index}. popcount({a.name}[i]))")
    for x in ints:
        for y in ints:
            if x is not y:
                out.append(f"{x.name} <= {y.name}")
    out += _scalar_bitmaps(scalars)
    out += _cursor(arrays, scalars)
    out += _below(arrays, scalars)
    out += _room(spec, model, scalars)
    out += _bitmap_of_elements(arrays, scalars, model)
    out += _same_element(scalars)
    out += _mapped(spec, shaped)
    out += _nested_cursor(shaped, scalars)
    out += _only_at_cursor(arrays, scalars)
    out += _cursor_below(arrays, scalars)
    out += _paired_states(arrays, scalars, model)
    out += _whole_array(arrays, scalars)
    out += _pending_effect(spec, arrays, scalars)
    for pc in scalars:
        if not isinstance(pc.ty, EnumT):
            continue
        for m in pc.ty.members:
            for v in scalars:
                if isinstance(v.ty, BoolT):
                    out += [f"{pc.name} == {m} implies {v.name}", f"{pc.name} == {m} implies not {v.name}"]
                elif isinstance(v.ty, IntT) and v.ty.lo <= 0 <= v.ty.hi:
                    out += [f"{pc.name} == {m} implies {v.name} == 0", f"{pc.name} == {m} implies {v.name} != 0"]
                elif isinstance(v.ty, EnumT) and v is not pc:
                    out += [f"{pc.name} == {m} implies {v.name} != {n}" for n in v.ty.members]
    # a state of a scalar enum never taken (`rc != EINVAL`: no error ever reaches the result)
    out += [f"{v.name} != {m}" for v in scalars if isinstance(v.ty, EnumT) for m in v.ty.members]
    # last (the limit cuts these first): counters ordered under a program-counter state
    # (`pc == PA_ADD implies cnt <= nb`: the step took at most what was left; false
    # elsewhere, once the step has subtracted it)
    for pc in scalars:
        if isinstance(pc.ty, EnumT):
            out += [
                f"{pc.name} == {m} implies {x.name} <= {y.name}"
                for m in pc.ty.members
                for x in ints
                for y in ints
                if x is not y
            ]
    return list(dict.fromkeys(out))


def _scalar_bitmaps(scalars: list[Var]) -> list[str]:
    """Relations between scalar bitmaps of one width (a ghost copy and the bitmap it copies,
    a driver's view and the device's), unconditional and under each state of a scalar enum
    (`resp != NO_RESP implies acked == pre_bm`), and an integer counting a scalar bitmap."""
    bms = [v for v in scalars if isinstance(v.ty, BitmapT)]
    pairs = [(a, b) for a in bms for b in bms if a is not b and a.width == b.width]
    out: list[str] = []
    for a, b in pairs:
        out.append(f"{a.name} subseteq {b.name}")
        if a.name < b.name:
            out.append(f"{a.name} == {b.name}")
    for pc in scalars:
        if not isinstance(pc.ty, EnumT):
            continue
        for m in pc.ty.members:
            for op in ("==", "!="):
                for a, b in pairs:
                    if a.name < b.name:
                        out.append(f"{pc.name} {op} {m} implies {a.name} == {b.name}")
                for a in bms:
                    out.append(f"{pc.name} {op} {m} implies {a.name} == {{}}")
    for v in scalars:
        if isinstance(v.ty, IntT):
            out += [f"{v.name} == popcount({a.name})" for a in bms]
    flags = [v for v in scalars if isinstance(v.ty, BoolT)]
    out += [t for f in flags for t in (f.name, f"not {f.name}")]  # a flag fixed (a ghost that never fires)
    for f in flags:
        for neg in ("", "not "):
            out += [f"{neg}{f.name} implies {a.name} == {{}}" for a in bms]
            out += [f"{neg}{f.name} implies {g.name}" for g in flags if g is not f]
            out += [f"{neg}{f.name} implies not {g.name}" for g in flags if g is not f]
            # a flag that records an event fixes a counter or excludes a state (`switched implies migs_left == 0`)
            for v in scalars:
                if isinstance(v.ty, IntT) and v.ty.lo <= 0 <= v.ty.hi:
                    out.append(f"{neg}{f.name} implies {v.name} == 0")
                elif isinstance(v.ty, EnumT):
                    out += [f"{neg}{f.name} implies {v.name} != {m}" for m in v.ty.members]
    return out


def _facts(a: Var, at: str) -> list[str]:
    """What a template can say about element `at` of array `a`: each enum state it is not in,
    a flag set or clear, a bitmap empty, non-empty or full."""
    e = f"{a.name}[{at}]"
    if isinstance(a.ty, EnumT):
        return [f"{e} != {m}" for m in a.ty.members]
    if isinstance(a.ty, BoolT):
        return [e, f"not {e}"]
    if isinstance(a.ty, BitmapT):
        return [f"{e} == {{}}", f"{e} != {{}}", f"{e} == lowbits({a.width})"]
    return []


def _cursor(arrays: list[Var], scalars: list[Var]) -> list[str]:
    """The element a step works on: under a state of a scalar enum (a program counter), the
    arrays at a scalar of their index type (`cur : Block`) - `pc == PA_ADD implies not
    added[cur]`."""
    out: list[str] = []
    for c in scalars:
        if c.named is None:
            continue
        for pc in scalars:
            if not isinstance(pc.ty, EnumT):
                continue
            for m in pc.ty.members:
                at = f"{pc.name} == {m} implies"
                on = [a for a in arrays if a.index == c.named]
                for a in on:
                    out += [f"{at} {f}" for f in _facts(a, c.name)]
                for a in on:
                    if not isinstance(a.ty, BitmapT):
                        continue
                    # the bitmap a step set up from a counter (`sb[cur] == lowbits(cnt)`), and two views
                    ints = [v for v in scalars if isinstance(v.ty, IntT) and v.named is None]
                    out += [f"{at} {a.name}[{c.name}] == lowbits({v.name})" for v in ints]
                    out += [
                        f"{at} {a.name}[{c.name}] == {b.name}[{c.name}]"
                        for b in on
                        if isinstance(b.ty, BitmapT) and b.width == a.width and a.name < b.name
                    ]
    return out


def _room(spec: Spec, model: T.Model, scalars: list[Var]) -> list[str]:
    """An invariant `x <= y` of the spec, strict under a program-counter state: the step
    about to raise `x` checked there was room (`pc == PA_ADD implies count(...) < L`)."""
    names = {p.name for p in model.invariants}
    bounds = []
    for d in spec.decls:
        if isinstance(d, S.InvariantDecl) and d.name in names and isinstance(d.expr, S.Binop) and d.expr.op == "<=":
            lhs, rhs = _text(spec, d.expr.left.span), _text(spec, d.expr.right.span)
            if lhs is not None and rhs is not None:
                bounds.append(f"{lhs} < {rhs}")
    out: list[str] = []
    for pc in scalars:
        if isinstance(pc.ty, EnumT):
            out += [f"{pc.name} == {m} implies {b}" for m in pc.ty.members for b in bounds]
    return out


def _below(arrays: list[Var], scalars: list[Var]) -> list[str]:
    """Elements at or past an integer high-water mark are untouched (`forall i : Block. i >=
    next_mb implies mb[i] != ONLINE`)."""
    out: list[str] = []
    for v in scalars:
        if not isinstance(v.ty, IntT):
            continue
        for a in arrays:
            out += [f"forall i : {a.index}. i >= {v.name} implies {f}" for f in _facts(a, "i")]
    return out


def _bitmap_of_elements(arrays: list[Var], scalars: list[Var], model: T.Model) -> list[str]:
    """A scalar bitmap with one bit per element of an array (`dev_bm : bitmap(NB)` beside
    `bb : [BBlock] BbState`): each enum state, flag or non-empty bitmap of an element forces
    its bit set or clear, per element and at a cursor under a program-counter state."""
    sizes = {v.name: v.ty.index for v in model.vars if isinstance(v.ty, ArrayT)}
    out: list[str] = []
    for x in scalars:
        if not isinstance(x.ty, BitmapT):
            continue
        for a in arrays:
            ix = sizes.get(a.name)
            if not (isinstance(ix, IntT) and ix.lo == 0 and ix.hi + 1 == x.ty.width):
                continue
            q = f"forall i : {a.index}."
            if isinstance(a.ty, EnumT):
                for m in a.ty.members:
                    out += [
                        f"{q} {a.name}[i] == {m} implies {x.name}[i]",
                        f"{q} {a.name}[i] == {m} implies not {x.name}[i]",
                    ]
                # and only while a scalar enum is in one state (`req == NO_REQ implies (bb[i] ==
                # UNUSED implies not dev_bm[i])`: between a request's answer and the driver reading it
                # the two disagree)
                for pc in scalars:
                    if isinstance(pc.ty, EnumT):
                        out += [
                            f"{q} {pc.name} == {k} implies ({a.name}[i] == {m} implies {neg}{x.name}[i])"
                            for k in pc.ty.members
                            for m in a.ty.members
                            for neg in ("", "not ")
                        ]
                # except at the element a scalar names while a scalar enum is in one state
                # (`(bb[i] == UNUSED and not (req == PLUG and req_bb == i)) implies not dev_bm[i]`:
                # the device plugs a block before the driver reads the answer and marks it)
                for c in scalars:
                    if c.named != a.index:
                        continue
                    for pc in scalars:
                        if isinstance(pc.ty, EnumT):
                            out += [
                                f"{q} ({a.name}[i] == {m} and not ({pc.name} == {k} and {c.name} == i)) "
                                f"implies {neg}{x.name}[i]"
                                for k in pc.ty.members
                                for m in a.ty.members
                                for neg in ("", "not ")
                            ]
            elif isinstance(a.ty, BoolT):
                out += [f"{q} {a.name}[i] implies {x.name}[i]", f"{q} {x.name}[i] implies {a.name}[i]"]
            elif isinstance(a.ty, BitmapT):
                out += [f"{q} {a.name}[i] != {{}} implies {x.name}[i]", f"{q} {x.name}[i] implies {a.name}[i] != {{}}"]
        for c in scalars:
            ix = next((sizes[a.name] for a in arrays if a.index == c.named), None)
            if c.named is None or not (isinstance(ix, IntT) and ix.lo == 0 and ix.hi + 1 == x.ty.width):
                continue
            for pc in scalars:
                if isinstance(pc.ty, EnumT):
                    for m in pc.ty.members:
                        out += [
                            f"{pc.name} == {m} implies {x.name}[{c.name}]",
                            f"{pc.name} == {m} implies not {x.name}[{c.name}]",
                        ]
    return out


def _same_element(scalars: list[Var]) -> list[str]:
    """Two scalars naming elements of one index type agree (the block a request is about and
    the block the step works on), always or under each state of a scalar enum."""
    cs = [c for c in scalars if c.named is not None]
    pairs = [(a, b) for a in cs for b in cs if a.named == b.named and a.name < b.name]
    out = [f"{a.name} == {b.name}" for a, b in pairs]
    for pc in scalars:
        if isinstance(pc.ty, EnumT):
            for m in pc.ty.members:
                for op in ("==", "!="):
                    out += [f"{pc.name} {op} {m} implies {a.name} == {b.name}" for a, b in pairs]
    return out


def _mapped(spec: Spec, shaped: list[Var]) -> list[str]:
    """Per-element relations between a nested array and an array the spec indexes through a
    let of the nested array's two index types (`buddy[gid(d, b)]` beside `mb[d][b]`): only
    pairs the spec itself writes as `array[let(`, so every index stays in range."""
    lets = {
        d.name: tuple(_text(spec, p.type.span) for p in d.params)
        for d in spec.decls
        if isinstance(d, S.LetDecl) and len(d.params) == 2
    }
    single = {v.name: v for v in shaped if v.index2 is None}
    uses = sorted({(a, f) for a, f in re.findall(r"(\w+)\[(\w+)\(", spec.source) if a in single and f in lets})
    out: list[str] = []
    for n in (v for v in shaped if v.index2 is not None):
        for c_name, f in uses:
            if lets[f] != (n.index, n.index2):
                continue
            c = single[c_name]
            ec, en = f"{c.name}[{f}(i, j)]", n.el
            if isinstance(c.ty, BitmapT) and isinstance(n.ty, BitmapT) and c.width == n.width:
                out += [
                    f"{n.quant} {ec} subseteq {en}",
                    f"{n.quant} {en} subseteq {ec}",
                    f"{n.quant} {ec} & {en} == {{}}",
                ]
            if isinstance(n.ty, EnumT) and isinstance(c.ty, BitmapT):
                out += [f"{n.quant} {en} == {m} implies {ec} == {{}}" for m in n.ty.members]
            if isinstance(c.ty, EnumT) and isinstance(n.ty, BitmapT):
                out += [f"{n.quant} {ec} == {m} implies {en} == {{}}" for m in c.ty.members]
            if isinstance(n.ty, EnumT) and isinstance(c.ty, EnumT):
                out += [f"{n.quant} {en} == {m} implies {ec} != {k}" for m in n.ty.members for k in c.ty.members]
    return out


def _nested_cursor(shaped: list[Var], scalars: list[Var]) -> list[str]:
    """The row of a nested array at the element a step works on, under a state of a scalar
    enum: every inner element is (not) in one state (`pc == PA_ADD implies forall j : Mem.
    lx[cur][j] == REMOVED`: the block about to be added has no memory yet)."""
    out: list[str] = []
    for c in scalars:
        if c.named is None:
            continue
        for a in shaped:
            if a.index != c.named or a.index2 is None:
                continue
            e = f"{a.name}[{c.name}][j]"
            if isinstance(a.ty, EnumT):
                facts = [f for m in a.ty.members for f in (f"{e} == {m}", f"{e} != {m}")]
            elif isinstance(a.ty, BoolT):
                facts = [e, f"not {e}"]
            elif isinstance(a.ty, BitmapT):
                facts = [f"{e} == {{}}"]
            else:
                continue
            for pc in scalars:
                if isinstance(pc.ty, EnumT):
                    row = [f"(forall j : {a.index2}. {f})" for f in facts]
                    out += [f"{pc.name} == {m} implies {r}" for m in pc.ty.members for r in row]
    return out


def _paired_states(arrays: list[Var], scalars: list[Var], model: T.Model) -> list[str]:
    """A pair of states of two scalar enums (a request and its answer) forcing the bit of a
    scalar bitmap with one bit per array element at an element-naming scalar (`req == PLUG and
    resp == NO_RESP implies not dev_bm[req_bb]`: a request asks for a change the bitmap lacks)."""
    sizes = {v.name: v.ty.index for v in model.vars if isinstance(v.ty, ArrayT)}
    out: list[str] = []
    for x in scalars:
        if not isinstance(x.ty, BitmapT):
            continue
        for c in scalars:
            ix = next((sizes[a.name] for a in arrays if a.index == c.named), None)
            if c.named is None or not (isinstance(ix, IntT) and ix.lo == 0 and ix.hi + 1 == x.ty.width):
                continue
            for at in _state_pairs(scalars):
                out += [f"{at} implies {x.name}[{c.name}]", f"{at} implies not {x.name}[{c.name}]"]
    return out


def _state_pairs(scalars: list[Var]) -> list[str]:
    """Every pair of states of two scalar enums, in declaration order (`req == PLUG and resp == ACK`)."""
    states = [(v.name, v.ty.members) for v in scalars if isinstance(v.ty, EnumT)]
    return [
        f"{n1} == {m1} and {n2} == {m2}"
        for k, (n1, ms1) in enumerate(states)
        for n2, ms2 in states[k + 1 :]
        for m1 in ms1
        for m2 in ms2
    ]


def _only_at_cursor(arrays: list[Var], scalars: list[Var]) -> list[str]:
    """An enum state only the element a step works on can be in (`forall i : BBlock. bb[i] ==
    FAKE_OFFLINE implies i == cur`: one block is taken apart at a time)."""
    out: list[str] = []
    for c in scalars:
        if c.named is None:
            continue
        for a in arrays:
            if a.index == c.named and isinstance(a.ty, EnumT):
                out += [f"forall i : {a.index}. {a.name}[i] == {m} implies i == {c.name}" for m in a.ty.members]
    return out


def _cursor_below(arrays: list[Var], scalars: list[Var]) -> list[str]:
    """Under a state of a scalar enum, the element a step works on (a scalar of an array's
    index type) is below an integer high-water mark (`pc == PA_WAIT implies cur < next_bb`:
    it was taken from below it)."""
    ints = [v for v in scalars if isinstance(v.ty, IntT) and v.named is None]
    indices = {a.index for a in arrays}
    out: list[str] = []
    for c in scalars:
        if c.named is None or c.named not in indices:
            continue
        for pc in scalars:
            if isinstance(pc.ty, EnumT):
                out += [f"{pc.name} == {m} implies {c.name} < {v.name}" for m in pc.ty.members for v in ints]
    return out


def _whole_array(arrays: list[Var], scalars: list[Var]) -> list[str]:
    """Every element of an array in one form while a scalar enum is in one state or a flag
    is set or clear (`pc == UA_WAIT implies (forall i : Block. sb[i] == {})`: the driver has
    nothing plugged while it waits for UNPLUG_ALL), and every bitmap element empty under a pair
    of scalar enum states (`pc == UA_WAIT and resp == ACK implies (forall i : Block. dev_bm[i]
    == {})`: the device's answer to UNPLUG_ALL)."""
    states = [(v.name, v.ty.members) for v in scalars if isinstance(v.ty, EnumT)]
    conds = [f"{n} == {m}" for n, ms in states for m in ms]
    conds += [c for v in scalars if isinstance(v.ty, BoolT) for c in (v.name, f"not {v.name}")]
    out = [f"{c} implies (forall i : {a.index}. {f})" for c in conds for a in arrays for f in _facts(a, "i")]
    bms = [a for a in arrays if isinstance(a.ty, BitmapT)]
    pairs = _state_pairs(scalars)
    return out + [f"{c} implies (forall i : {a.index}. {a.name}[i] == {{}})" for c in pairs for a in bms]


_UPDATE = re.compile(r"\b(\w+)\[(\w+)\] := \1\[\2\] (\||& ~) ?(\w+)\b")


def _pending_effect(spec: Spec, arrays: list[Var], scalars: list[Var]) -> list[str]:
    """An answered request one side has applied and the other not yet: for each update the
    spec writes as `a[c] := a[c] | x` or `a[c] := a[c] & ~x` (x a scalar bitmap), `a[c]` is
    another bitmap array's element with x applied, under a pair of states of the scalar enums
    set to their first state on a line that empties x (a request's fields, reset together:
    `req := NO_REQ; req_sbs := {}; resp := NO_RESP`): `req == UNPLUG and resp == ACK implies
    dev_bm[req_mb] == (sb[req_mb] & ~req_sbs)`. Only updates the spec itself writes, and only
    the request's own enums: every pair of every enum would be 13,000 candidates on the SBM
    spec."""
    by_name = {v.name: v for v in [*arrays, *scalars]}
    lines = spec.source.splitlines()
    out: list[str] = []
    for a_name, c_name, op, x_name in dict.fromkeys(_UPDATE.findall(spec.source)):
        a, c, x = by_name.get(a_name), by_name.get(c_name), by_name.get(x_name)
        if a is None or c is None or x is None or a.index is None or c.named != a.index:
            continue
        if not (isinstance(a.ty, BitmapT) and isinstance(x.ty, BitmapT) and x.index is None and x.width == a.width):
            continue
        resets = [ln for ln in lines if re.search(rf"\b{x.name} := {{}}", ln)]
        beside = {(n, m) for ln in resets for n, m in re.findall(r"\b(\w+) := (\w+)", ln)}
        fields = [v for v in scalars if isinstance(v.ty, EnumT) and (v.name, v.ty.members[0]) in beside]
        others = [b for b in arrays if b is not a and b.index == a.index and isinstance(b.ty, BitmapT)]
        for b in (b for b in others if b.width == a.width):
            eq = f"{a.name}[{c.name}] == ({b.name}[{c.name}] {op}{' ' if op == '|' else ''}{x.name})"
            out += [f"{at} implies {eq}" for at in _state_pairs(fields)]
    return out

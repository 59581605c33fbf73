"""The ground model as one Promela process, for SPIN (`plugcheck export --to promela`).

The file is built so that SPIN stores exactly the states plugcheck counts:
- every state leaf is one global (a bitmap wider than 30 bits is several 30-bit words), so
  SPIN's state vector holds our state and, at the loop head, nothing else that varies;
- one `do` loop; each action instance is one `d_step` option whose first statement is the
  guard, so a step is one SPIN transition and no intermediate state is stored;
- temporaries (lets, checked values) are process locals reset to 0 before each `d_step`
  ends, so they never tell two states apart;
- each invariant is an option `d_step { bad -> assert(...) }`: enabled only in a violating
  state, it checks every state, the initial ones included, without adding a state;
- `range` errors (a value outside its variable's range, a bit or index out of bounds, a
  division by zero, a bad shift: the conditions of `model.semantics`) are an `assert` and a
  blocking condition at the point they happen. A d_step cannot undo what it already wrote,
  so pan stops there even with `-c0` (plugcheck skips the failing step and goes on);
- a deadlock (no option enabled) is SPIN's invalid end state; `allow deadlock` puts an end
  label on the loop;
- several initial states (`= any`) are a prologue before the loop: an `if` with one d_step
  per initial state. SPIN then stores exactly one more state than plugcheck: its own start
  state, before the choice. Past 4,096 initial states the prologue chooses leaf by leaf in
  an `atomic`; pan -DBFS stores the states in between too, and counts them as "atomic
  steps" (stored - atomic steps = plugcheck's states + 1). One initial state: no prologue.

Weak and strong fairness are not exported. SPIN's weak fairness (`pan -f`) is per process;
ours is per action instance, and here every instance is in the one process, so `-f` would not
express it. Safety verdicts, which is what the file checks, do not depend on fairness.
Temporal and `reachable` properties are listed in the header and not exported.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

from model import typed as T
from model.domains import ArrayT, BitmapT, BoolT, EnumT, IntT, Type, index_label, size
from model.ground import Field, GFail, GIf, GLet, Ground, GSet, GStmt, Instance, ground

from ..search import always_as_invariants
from .names import Names, comment
from .promela_expr import INT_MAX, INT_MIN, WORD, ExportError, ExprCompiler, nwords, word_mask

Key = tuple[str, tuple[int, ...]]
MAX_INITIAL_OPTIONS = 4096  # beyond this many initial states, the prologue chooses leaf by leaf
# -o2: no dead-variable elimination, which would merge states that differ only in a variable nothing reads
SPIN_FLAGS = "spin -a -o2"


@dataclass
class PromelaExport:
    text: str
    notes: list[str]  # what the file does not carry (for the command's stderr)
    extra_states: int  # SPIN's stored (nominal) states minus plugcheck's in a complete search
    vectorsz: int  # a -DVECTORSZ that fits the state vector


@dataclass
class _Decl:
    names: list[str]  # one per word (one for a scalar)
    ctype: list[str]
    label: str  # as a person writes the leaf: dev[1]


@dataclass
class _Body:
    lines: list[str] = field(default_factory=list)
    used: set[int] = field(default_factory=set)  # temporaries this d_step touched


def safety_part(model: T.Model) -> T.Model:
    """The model without its temporal properties: what the Promela file checks (comparisons
    with SPIN explore this, which also keeps plugcheck from building the liveness graph)."""
    keep = [p for p in model.properties if p.kind in ("invariant", "reachable", "always")]
    return replace(model, properties=keep)


def to_promela(model: T.Model) -> PromelaExport:
    model = always_as_invariants(model)
    gm = ground(model)
    return _Writer(model, gm).write()


class _Writer:
    def __init__(self, model: T.Model, gm: Ground) -> None:
        self.model = model
        self.gm = gm
        self.decls: dict[Key, _Decl] = {}
        self.ntemps = 0
        self.tmps: dict[str, list[str]] = {}
        self.free: list[int] = []
        self.cx = ExprCompiler(lambda k: self.decls[k].names, lambda n: self.tmps[n])
        self._name_leaves()

    # ---- state leaves
    def _name_leaves(self) -> None:
        names = Names()  # temporaries are `tmp_N`: safe_base moves spec names out of that space
        by_var: dict[str, list[Field]] = {}
        for f in self.gm.leaves:
            by_var.setdefault(f.var, []).append(f)
        for v in self.model.vars:
            leaves = by_var[v.name]
            labels = [_path_suffix(self.model, f, True) for f in leaves]
            if len(set(labels)) != len(labels):
                labels = [_path_suffix(self.model, f, False) for f in leaves]
            suffixes: list[str] = []
            counts: list[int] = []
            for f, lab in zip(leaves, labels, strict=True):
                n = nwords(f.ty.width) if isinstance(f.ty, BitmapT) else 1  # type: ignore[arg-type]
                counts.append(n)
                suffixes += [lab] if n == 1 else [f"{lab}_w{j}" for j in range(n)]
            got = names.group(v.name, suffixes)
            pos = 0
            for f, n in zip(leaves, counts, strict=True):
                self.decls[f.key] = _Decl(got[pos : pos + n], _ctypes(f.ty), _leaf_label(self.model, f))
                pos += n

    # ---- temporaries
    def _temp(self, body: _Body) -> str:
        i = self.free.pop() if self.free else self._new_temp()
        body.used.add(i)
        return f"tmp_{i}"

    def _new_temp(self) -> int:
        self.ntemps += 1
        return self.ntemps - 1

    def _release(self, name: str) -> None:
        self.free.append(int(name[4:]))

    # ---- statements
    def _check(self, body: _Body, cond: str | None, ind: str, why: str) -> None:
        """A run-time error: assert it (pan names the expression), then block (d_step: pan stops)."""
        if cond is None:
            return
        body.lines.append(f"{ind}assert(!{cond});   /* range: {comment(why)} */")
        body.lines.append(f"{ind}(!{cond});")

    def _stmts(self, ss: tuple[GStmt, ...], body: _Body, ind: str) -> None:
        start = len(body.lines)
        for s in ss:
            if isinstance(s, GSet):
                self._set(s, body, ind)
            elif isinstance(s, GLet):
                self._let(s, body, ind)
            elif isinstance(s, GIf):
                self._check(body, self.cx.err(s.cond), ind, "the condition of an `if`")
                body.lines.append(f"{ind}if")
                body.lines.append(f"{ind}:: {self.cx.val(s.cond)} ->")
                self._stmts(s.then, body, ind + "   ")
                body.lines.append(f"{ind}:: else ->")
                self._stmts(s.other, body, ind + "   ")
                body.lines.append(f"{ind}fi;")
            elif isinstance(s, GFail):
                body.lines.append(f"{ind}assert(false);   /* range: {comment(s.message.replace('{}', '?'))} */")
                body.lines.append(f"{ind}false;")
        if len(body.lines) == start:
            body.lines.append(f"{ind}skip;")

    def _set(self, s: GSet, body: _Body, ind: str) -> None:
        d = self.decls[s.field.key]
        self._check(body, self.cx.err(s.value), ind, f"the value assigned to `{d.label}`")
        t = s.field.ty
        if isinstance(t, BitmapT):
            ws = self.cx.words(s.value, t.width)
            copies: list[str] = []
            if len(ws) > 1 and s.field.key in _reads(s.value):  # word j may read word i < j: copy first
                copies = [self._temp(body) for _ in ws]
                body.lines += [f"{ind}{n} = {w};" for n, w in zip(copies, ws, strict=True)]
                ws = copies
            body.lines += [f"{ind}{n} = {w};" for n, w in zip(d.names, ws, strict=True)]
            for c in copies:
                self._release(c)
            return
        v = self.cx.val(s.value)
        if isinstance(t, IntT):
            lo, hi = self.cx.iv(s.value)
            if not t.lo <= lo <= hi <= t.hi:
                tmp = self._temp(body)
                body.lines.append(f"{ind}{tmp} = {v};")
                ok = f"({t.lo} <= {tmp} && {tmp} <= {t.hi})"
                body.lines.append(f"{ind}assert{ok};   /* range: {comment(f'`{d.label}` out of {t.lo}..{t.hi}')} */")
                body.lines.append(f"{ind}{ok};")
                v = tmp
                self._release(tmp)
        body.lines.append(f"{ind}{d.names[0]} = {v};")

    def _let(self, s: GLet, body: _Body, ind: str) -> None:
        self._check(body, self.cx.err(s.value), ind, "a local `let`")
        if isinstance(s.value.ty, BitmapT):
            ws = self.cx.words(s.value)
            tmps = [self._temp(body) for _ in ws]
            body.lines += [f"{ind}{n} = {w};" for n, w in zip(tmps, ws, strict=True)]
        else:
            if isinstance(s.value.ty, IntT):
                self.cx.tmp_iv[s.name] = self.cx.iv(s.value)
            tmps = [self._temp(body)]
            body.lines.append(f"{ind}{tmps[0]} = {self.cx.val(s.value)};")
        self.tmps[s.name] = tmps

    # ---- options of the main loop
    def _instance(self, inst: Instance) -> list[str]:
        self.cx.what = f"action {inst.label}"
        self.free = list(range(self.ntemps - 1, -1, -1))  # every temporary is 0 again here
        if isinstance(inst.guard, T.Lit) and not inst.guard.value:
            return []
        body = _Body()
        self._stmts(inst.body, body, "      ")
        gerr = self.cx.err(inst.guard)
        guard = self.cx.val(inst.guard)
        first = f"({gerr} || {guard})" if gerr else guard
        out = [f"  :: /* {comment(inst.label)} */", f"     d_step {{ {first} ->"]
        if gerr:
            out.append(f"      assert(!{gerr});   /* range: the guard of {comment(inst.label)} */")
            out.append(f"      (!{gerr});")
        out += body.lines
        out += [f"      tmp_{i} = 0;" for i in sorted(body.used)]
        out.append("     }")
        return out

    def _invariant(self, prop: T.PropT, g: object) -> list[str]:
        self.cx.what = f"invariant {prop.name}"
        e = self.cx.err(g)
        v = self.cx.val(g)
        bad = f"({e} || !{v})" if e else f"!{v}"
        ok = f"(!{e} && {v})" if e else v
        return [f"  :: /* invariant {comment(prop.name)} */", f"     d_step {{ {bad} -> assert({ok}) }}"]

    # ---- initial states
    def _initial(self) -> tuple[dict[Key, int], list[str]]:
        """Initial values for the declarations, and the prologue choosing among several."""
        fixed: dict[Key, int] = {}
        # the declared values, `any` variables at their first value (never enumerating their types)
        plain_vars = [replace(v, any_init=False, init=None) if v.any_init else v for v in self.model.vars]
        plain = replace(self.model, vars=plain_vars)
        st = next(replace(self.gm, model=plain).initial_states())
        for f in self.gm.leaves:
            fixed[f.key] = int(st[f.key])  # type: ignore[call-overload]
        free = [f for f in self.gm.leaves if self.model.var(f.var).any_init and size(f.ty) > 1]
        if not free:
            return fixed, []
        count = 1
        for f in free:
            count *= size(f.ty)
            if count > MAX_INITIAL_OPTIONS:
                return fixed, self._choices_per_leaf(free)
        lines = ["  if   /* the initial states: one d_step each, so SPIN stores none in between */"]
        for combo in itertools.product(*(_values(f.ty) for f in free)):
            sets = []
            for f, v in zip(free, combo, strict=True):
                d = self.decls[f.key]
                sets += [f"{n} = {w}" for n, w in zip(d.names, _word_values(f.ty, v), strict=True)]
            lines.append(f"  :: d_step {{ {'; '.join(sets)} }}")
        lines.append("  fi;")
        return fixed, lines

    def _choices_per_leaf(self, free: list[Field]) -> list[str]:
        """Too many initial states to list: one choice per leaf (per bit of a bitmap) in an
        atomic sequence. pan -DBFS stores the states in between as "atomic steps"."""
        out = ["  atomic {   /* the initial states, leaf by leaf */"]
        for f in free:
            d = self.decls[f.key]
            t = f.ty
            if isinstance(t, BitmapT):
                for j, n in enumerate(d.names):
                    for b in range(min(WORD, (t.width or 0) - WORD * j)):
                        why = f"bit {WORD * j + b} of {comment(d.label)}"
                        out.append(f"    if :: skip :: {n} = {n} | {1 << b} fi;   /* {why} */")
                continue
            opts = " ".join(f":: {d.names[0]} = {x}" for x in _values(t))
            out.append(f"    if {opts} fi;   /* {comment(d.label)} */")
        out.append("  }")
        return out

    # ---- the file
    def write(self) -> PromelaExport:
        model, gm = self.model, self.gm
        invariants = [(p, g) for p, g, _ in gm.properties if p.kind == "invariant"]
        options: list[str] = []
        for p, g in invariants:
            options += self._invariant(p, g)
        for inst in gm.instances:
            options += self._instance(inst)
        fixed, choices = self._initial()
        if choices:
            for f in gm.leaves:  # a per-bit prologue ORs bits in: start `any` bitmaps empty
                if model.var(f.var).any_init and isinstance(f.ty, BitmapT):
                    fixed[f.key] = 0
        decl_lines, vector = self._declarations(fixed)
        vector += 4 * self.ntemps + 16
        vectorsz = max(1024, 1 << (2 * vector - 1).bit_length())
        notes = self._notes()
        lines = self._header(notes, bool(choices), vectorsz)
        lines += decl_lines
        lines.append("")
        lines.append("active proctype main() {")
        if self.ntemps:
            temps = ", ".join(f"tmp_{i}" for i in range(self.ntemps))
            lines.append(f"  int {temps};   /* always 0 between steps */")
        lines += choices
        label = "end_deadlock_allowed: " if model.allow_deadlock else ""
        lines.append(f"  {label}do")
        lines += options
        if not options:
            lines.append("  :: false")
        lines.append("  od")
        lines.append("}")
        return PromelaExport("\n".join(lines) + "\n", notes, 1 if choices else 0, vectorsz)

    def _declarations(self, init: dict[Key, int]) -> tuple[list[str], int]:
        lines = []
        vector = 0
        for f in self.gm.leaves:
            d = self.decls[f.key]
            v = init[f.key]
            for j, (n, ct) in enumerate(zip(d.names, d.ctype, strict=True)):
                x = (v >> (WORD * j)) & word_mask(f.ty.width or 0, j) if isinstance(f.ty, BitmapT) else v  # type: ignore[union-attr]
                lines.append(f"{ct} {n} = {x};   /* {comment(d.label)} */")
                vector += {"bit": 1, "byte": 1, "short": 2, "int": 4}[ct]
        return lines, vector

    def _notes(self) -> list[str]:
        model = self.model
        notes = []
        temporal = [p.name for p in model.temporal]
        if temporal:
            notes.append(f"temporal properties not exported (check them with plugcheck): {', '.join(temporal)}")
        reach = [p.name for p in model.reachables]
        if reach:
            notes.append(f"reachable properties not exported: {', '.join(reach)}")
        fair = [a.name for a in model.actions if a.fairness]
        if fair:
            notes.append(
                "fairness not exported: plugcheck's fairness is per action instance, SPIN's weak fairness"
                " (pan -f) is per process and this model is one process, so -f would mean something else;"
                f" safety results do not depend on it (fair actions: {', '.join(fair)})"
            )
        return notes

    def _header(self, notes: list[str], prologue: bool, vectorsz: int) -> list[str]:
        m = self.model
        consts = " ".join(f"{k}={v}" for k, v in m.consts.items())
        lines = [
            f"/* {comment(m.name)}: {comment(m.title)}",
            f"   exported by plugcheck from {comment(m.path)}, config {comment(m.config.name)} ({comment(consts)})",
            "",
            "   One process; each action instance is one d_step, so SPIN stores exactly plugcheck's states.",
            f"   Run: {SPIN_FLAGS} FILE.pml && gcc -O2 -DBFS -DSAFETY -DVECTORSZ={vectorsz} -o pan pan.c && ./pan -c0",
            "   (-o2 keeps variables nothing reads; -c0 goes on after invariant violations and deadlocks;",
            "   a range error stops pan: a d_step cannot undo its partial effect.)",
            "   Checked: invariants, range errors, deadlocks"
            + (" (allowed: an end label on the loop)." if m.allow_deadlock else " (invalid end states)."),
        ]
        if prologue:
            lines.append("   Several initial states: SPIN also stores its start state before the prologue, one more.")
        lines += [f"   Note: {comment(n)}" for n in notes]
        lines.append("*/")
        lines.append("")
        return lines


def _values(t: Type) -> list[int]:
    """A scalar type's values as the Promela file writes them (bool 0/1, enum members by index)."""
    if isinstance(t, BoolT):
        return [0, 1]
    if isinstance(t, EnumT):
        return list(range(len(t.members)))
    if isinstance(t, IntT):
        return list(range(t.lo, t.hi + 1))
    assert isinstance(t, BitmapT) and t.width is not None
    return list(range(1 << t.width))


def _word_values(t: Type, v: int) -> list[int]:
    if isinstance(t, BitmapT) and t.width is not None:
        return [(v >> (WORD * j)) & word_mask(t.width, j) for j in range(nwords(t.width))]
    return [v]


def _path_suffix(model: T.Model, f: Field, labels: bool) -> str:
    ty: Type = model.var(f.var).ty
    out = ""
    for p in f.path:
        assert isinstance(ty, ArrayT)
        lab = index_label(ty.index, p) if labels else str(p)
        out += "_" + lab.replace("-", "m")
        ty = ty.elem
    return out


def _leaf_label(model: T.Model, f: Field) -> str:
    from model.ground import leaf_name

    return leaf_name(model, f)


def _ctypes(t: Type) -> list[str]:
    if isinstance(t, BoolT):
        return ["bit"]
    if isinstance(t, EnumT):
        return ["byte" if len(t.members) <= 256 else "short"]
    if isinstance(t, IntT):
        if 0 <= t.lo and t.hi <= 255:
            return ["byte"]
        if -32768 <= t.lo and t.hi <= 32767:
            return ["short"]
        if INT_MIN <= t.lo and t.hi <= INT_MAX:
            return ["int"]
        raise ExportError(f"a variable of range {t.lo}..{t.hi} does not fit SPIN's 32-bit int")
    assert isinstance(t, BitmapT) and t.width is not None
    out = []
    for j in range(nwords(t.width)):
        k = min(WORD, t.width - WORD * j)
        out.append("byte" if k <= 8 else "short" if k <= 15 else "int")
    return out


def _reads(g: object) -> set[Key]:
    from model.walk import reads

    return reads(g)

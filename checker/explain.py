"""Why an invariant is false in a state: the conjunct that fails, the quantifier instance
it fails for, the values it reads and the lets it uses. Decided with the reference
semantics (`model.ground.evaluate`) on the decoded state, so every engine's trace gets
the same explanation, and the terminal, JUnit, SARIF and the reports show the same text."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from model import typed as T
from model.domains import ArrayT, BitmapT, BoolT, Type, format_value, size, values
from model.errors import Span
from model.ground import EvalError, Grounder, evaluate

from .states import Leaves, leaf_map

SET, CLEAR = "█", "·"
_IS_FALSE = "\x00"  # marks a premise that is false (an earlier disjunct) rather than true
MAX_VALUE = 80  # characters of one shown value before it is cut


@dataclass
class Why:
    """`conjunct` (as written) is false where `binding` holds; `reads` are (name, value) of
    the state it reads, `lets` of the lets it uses."""

    prop: str
    conjunct: str
    span: Span | None
    binding: list[tuple[str, str]] = field(default_factory=list)  # quantifier and let parameters
    path: list[str] = field(default_factory=list)  # premises that hold on the way (`x implies ...`)
    reads: list[tuple[str, str]] = field(default_factory=list)
    lets: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""  # the expression cannot be evaluated (a run-time error)

    def lines(self) -> list[str]:
        where = " for " + ", ".join(f"{n} = {v}" for n, v in self.binding) if self.binding else ""
        if self.error:
            out = [f"why: `{self.prop}` cannot be evaluated{where}: `{self.conjunct}`: {self.error}"]
        else:
            out = [f"why: `{self.prop}` fails{where}: `{self.conjunct}` is false"]
        if self.span is not None and self.span.line:
            out.append(f"  at {self.span}")
        out += [
            f"  given: `{p[len(_IS_FALSE) :]}` is false" if p.startswith(_IS_FALSE) else f"  given: `{p}` holds"
            for p in self.path
        ]
        if self.reads:
            out.append("  reads: " + "; ".join(f"{n} = {v}" for n, v in self.reads))
        if self.lets:
            out.append("  lets: " + "; ".join(f"{n} = {v}" for n, v in self.lets))
        return out

    def text(self) -> str:
        return "\n".join(self.lines())


def source_text(model: T.Model, span: Span) -> str:
    """The text of an expression as written in the spec (one line, whitespace collapsed)."""
    src = model.sources.get(span.file, model.source if span.file == model.path else "")
    lines = src.splitlines()
    if not span.line or span.line > len(lines):
        return ""
    if span.end_line == span.line and span.end_column > span.column:
        return lines[span.line - 1][span.column - 1 : span.end_column - 1]
    if span.end_line > span.line:
        parts = [lines[span.line - 1][span.column - 1 :]] + lines[span.line : span.end_line - 1]
        parts.append(lines[span.end_line - 1][: max(span.end_column - 1, 0)])
        return " ".join(p.strip() for p in parts if p.strip())
    return lines[span.line - 1][span.column - 1 :].strip()


def cells(width: int, m: int) -> str:
    """A bitmap as one cell per bit, bit 0 on the left, in groups of 8 when it is wide."""
    s = "".join(SET if (m >> i) & 1 else CLEAR for i in range(width))
    if width > 16:
        s = " ".join(s[i : i + 8] for i in range(0, width, 8))
    return s


def show(t: Type, v: object) -> str:
    """A value as the explanation shows it: bitmaps as cells, the rest as `format_value`."""
    if isinstance(t, BitmapT):
        text = cells(t.width or 0, int(v))  # type: ignore[call-overload]
    elif isinstance(t, ArrayT):
        text = "[" + ", ".join(show(t.elem, x) for x in v) + "]"  # type: ignore[attr-defined]
    else:
        text = format_value(t, v)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


class _Explainer:
    def __init__(self, model: T.Model, state: Leaves) -> None:
        self.model = model
        self.state = state
        self.gr = Grounder(model)
        self.premises: list[tuple[T.Expr, dict[str, T.Expr]]] = []  # false disjuncts on the way

    def value(self, e: T.Expr, env: Mapping[str, T.Expr]) -> Any:
        return evaluate(self.gr.expr(e, env), self.state)  # type: ignore[arg-type]

    def text(self, e: T.Expr) -> str:
        return source_text(self.model, e.span) or type(e).__name__

    def false_part(self, e: T.Expr, env: dict[str, T.Expr], why: Why) -> tuple[T.Expr, dict[str, T.Expr]]:
        """Descend to the smallest sub-expression that is false on its own; fill `why.binding`
        and `why.path` on the way."""
        while True:
            if isinstance(e, T.Bin) and e.op == "and":
                e = e.left if not self.value(e.left, env) else e.right
            elif isinstance(e, T.Bin) and e.op == "or":
                # every disjunct is false: the earlier ones are premises (their reads shown too),
                # the last one is the reason
                parts = _disjuncts(e)
                for d in parts[:-1]:
                    why.path.append(_IS_FALSE + self.text(d))
                    self.premises.append((d, env))
                e = parts[-1]
            elif isinstance(e, T.Bin) and e.op == "implies":
                why.path.append(self.text(e.left))
                e = e.right
            elif isinstance(e, T.QuantE) and e.kind == "forall":
                found = None
                for vals in itertools.product(*(list(values(t)) for _, t in e.binders)):
                    inner = dict(env)
                    for (n, t), v in zip(e.binders, vals, strict=True):
                        inner[n] = T.Lit(v, t)
                    if not self.value(e.body, inner):
                        found = inner, [(n, format_value(t, v)) for (n, t), v in zip(e.binders, vals, strict=True)]
                        break
                if found is None:
                    return e, env
                env = found[0]
                why.binding += found[1]
                e = e.body
            elif isinstance(e, T.Un) and e.op == "not" and isinstance(e.operand, T.Un) and e.operand.op == "not":
                e = e.operand.operand
            elif isinstance(e, T.LetRef) and isinstance(e.ty, BoolT) and e.name in self.model.lets:
                ld = self.model.lets[e.name]
                inner = {p: T.Lit(self.value(a, env), t) for (p, t), a in zip(ld.params, e.args, strict=True)}
                why.path.append(f"{self.text(e)} is false: it is `{self.text(ld.body)}`")
                why.binding += [(p, format_value(t, inner[p].value)) for p, t in ld.params]  # type: ignore[union-attr]
                env, e = inner, ld.body
            else:
                return e, env

    # ---- what a false conjunct reads
    def name(self, e: T.Expr, env: Mapping[str, T.Expr]) -> str | None:
        """`sb[1]` for `sb[b]` with b = 1; None when `e` is not a read of the state."""
        if isinstance(e, T.VarRef):
            return e.name
        if isinstance(e, T.Index):
            base = self.name(e.base, env)
            if base is None:
                return None
            ix = self.value(e.index, env)
            return f"{base}[{format_value(e.index.ty, ix)}]"
        return None

    def collect(self, e: T.Expr, env: Mapping[str, T.Expr], why: Why, seen: set[str]) -> None:
        def add(into: list[tuple[str, str]], label: str, expr: T.Expr) -> None:
            if label in seen:
                return
            seen.add(label)
            try:
                into.append((label, show(expr.ty, self.value(expr, env))))
            except EvalError as exc:
                into.append((label, f"cannot be evaluated: {exc}"))

        if isinstance(e, (T.VarRef, T.Index)):
            label = self.name(e, env)
            if label is not None:
                add(why.reads, label, e)
                if isinstance(e, T.Index):
                    self.collect(e.index, env, why, seen)
                return
        if isinstance(e, T.LetRef):
            ld = self.model.lets.get(e.name)
            args = [format_value(a.ty, self.value(a, env)) for a in e.args]
            label = e.name + (f"({', '.join(args)})" if args else "")
            add(why.lets, label, e)
            if ld is not None and not ld.params:
                return
            for a in e.args:
                self.collect(a, env, why, seen)
            return
        if isinstance(e, T.QuantE):
            if size_of_binders(e) <= 1 or len(self.text(e)) <= 60:
                add(why.reads, self.text(e), e)
            return
        for child in children(e):
            self.collect(child, env, why, seen)


def _disjuncts(e: T.Expr) -> list[T.Expr]:
    if isinstance(e, T.Bin) and e.op == "or":
        return _disjuncts(e.left) + _disjuncts(e.right)
    return [e]


def size_of_binders(e: T.QuantE) -> int:
    n = 1
    for _, t in e.binders:
        n *= size(t)
    return n


def children(e: T.Expr) -> list[T.Expr]:
    if isinstance(e, T.Index):
        return [e.base, e.index]
    if isinstance(e, T.BitTest):
        return [e.bitmap, e.index]
    if isinstance(e, T.Un):
        return [e.operand]
    if isinstance(e, T.Bin):
        return [e.left, e.right]
    if isinstance(e, T.Member):
        return [e.elem, *e.options]
    if isinstance(e, T.SetOf):
        return list(e.elems)
    if isinstance(e, T.IteE):
        return [e.cond, e.then, e.other]
    if isinstance(e, (T.Builtin, T.LetRef)):
        return list(e.args)
    return []


def explain(model: T.Model, prop_name: str, state: Mapping[str, Any]) -> Why | None:
    """Why invariant `prop_name` is false in `state` (a decoded JSON state, as in traces);
    None when it is not an invariant of the model or it holds there."""
    prop = next((p for p in model.properties if p.name == prop_name and p.kind == "invariant"), None)
    if prop is None:
        return None
    try:
        leaves = leaf_map(model, state)
    except (KeyError, IndexError, TypeError, ValueError):
        return None  # a state that does not fit the model (a trace from elsewhere)
    ex = _Explainer(model, leaves)
    why = Why(prop.name, "", None)
    try:
        if ex.value(prop.expr, {}):
            return None
        part, env = ex.false_part(prop.expr, {}, why)
    except EvalError as exc:
        why.conjunct, why.span, why.error = ex.text(prop.expr), prop.expr.span, str(exc)
        return why
    why.conjunct, why.span = ex.text(part), part.span
    try:
        seen: set[str] = set()
        for premise, penv in ex.premises:
            ex.collect(premise, penv, why, seen)
        ex.collect(part, env, why, seen)
    except EvalError:
        pass  # a read past the end of an array: the conjunct alone still says what failed
    return why


def explain_last(model: T.Model, prop_name: str, steps: list[Any]) -> Why | None:
    """The explanation at the last state of a trace (the violating one)."""
    if not steps:
        return None
    return explain(model, prop_name, steps[-1].state)

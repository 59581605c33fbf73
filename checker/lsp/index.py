"""Names in a spec and its `extends` chain: where each is defined, where it is used, what
to say about it on hover, what completes at a position, and the outline.

Built from the merged declaration list (model.load), so a name used in a child spec
resolves to the parent's definition, or to the child's `replace`ment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from model import Spec
from model import syntax as S
from model import typed as T
from model.check_expr import BUILTINS
from model.domains import size
from model.errors import Span, SpecError
from model.parse import keywords, parse_text

from ..format.doc import render
from ..format.layout import expr, type_


@dataclass(eq=False)
class Def:
    name: str
    kind: str  # const, enum, member, type, var, let, action, invariant, property, reachable, config, param, local
    span: Span  # the name where it is defined
    node: Any  # the declaration (or parameter / binder / local let)
    owner: str = ""  # the enum of a member, the declaration of a parameter


@dataclass
class Index:
    defs: list[Def] = field(default_factory=list)
    refs: list[tuple[Span, Def]] = field(default_factory=list)  # every use and every definition
    globals: dict[str, Def] = field(default_factory=dict)

    def at(self, file: str, line: int, column: int) -> Def | None:
        """The definition of the name at a position (1-based), used or defined there."""
        for span, d in self.refs:
            if span.file == file and span.line == line and span.column <= column < span.end_column:
                return d
        return None

    def uses(self, d: Def) -> list[Span]:
        return [s for s, x in self.refs if x is d]


_TITLE = {
    S.ConstDecl: "const",
    S.EnumDecl: "enum",
    S.TypeDecl: "type",
    S.VarDecl: "var",
    S.LetDecl: "let",
    S.ActionDecl: "action",
    S.InvariantDecl: "invariant",
    S.PropertyDecl: "property",
    S.ReachableDecl: "reachable",
    S.ConfigDecl: "config",
    S.ExtendActionDecl: "extend action",
    S.ExtendEnumDecl: "extend enum",
}


def _name_span(sources: dict[str, str], span: Span, name: str, skip: int = 0) -> Span:
    """Where `name` is written inside `span` (the first time after `skip` characters)."""
    lines = sources.get(span.file, "").splitlines()
    for ln in range(span.line, (span.end_line or span.line) + 1):
        if ln - 1 >= len(lines):
            break
        start = span.column - 1 + skip if ln == span.line else 0
        m = re.compile(rf"\b{re.escape(name)}\b").search(lines[ln - 1], start)
        if m:
            return Span(span.file, ln, m.start() + 1, ln, m.end() + 1)
    return Span(span.file, span.line, span.column, span.line, span.column + len(name))


def _word(span: Span, name: str) -> Span:
    return Span(span.file, span.line, span.column, span.line, span.column + len(name))


def build_index(spec: Spec) -> Index:
    idx = Index()
    src = spec.sources
    for d in spec.decls:
        kind = _TITLE.get(type(d))
        if kind is None or kind == "config":
            continue
        name = d.name  # type: ignore[union-attr]
        nd = Def(name, kind, _name_span(src, d.span, name), d)
        idx.defs.append(nd)
        idx.globals.setdefault(name, nd)
        idx.refs.append((nd.span, nd))
        if isinstance(d, S.EnumDecl):
            for m, ms in zip(d.members, d.member_spans, strict=False):
                md = Def(m, "member", _word(ms, m), d, d.name)
                idx.defs.append(md)
                idx.globals.setdefault(m, md)
                idx.refs.append((md.span, md))
    w = _Walker(idx, src)
    for d in spec.decls:
        w.decl(d)
    # `extend action NAME` / `extend enum NAME` are merged into the parent's declaration: the
    # name they extend is a use of it
    for d in _own_decls(spec):
        if isinstance(d, (S.ExtendActionDecl, S.ExtendEnumDecl)) and d.name in idx.globals:
            idx.refs.append((_name_span(src, d.span, d.name, len("extend ")), idx.globals[d.name]))
    return idx


def _own_decls(spec: Spec, text: str | None = None) -> list[S.Decl]:
    """The document's own declarations as written (replacements and extensions included):
    from `text` if it parses, else from the spec's (where failing declarations are blanked)."""
    for source in (text, spec.source):
        if source is not None:
            try:
                return list(parse_text(source, spec.path).decls)
            except SpecError:
                continue
    return []


class _Walker:
    def __init__(self, idx: Index, sources: dict[str, str]) -> None:
        self.idx = idx
        self.src = sources

    def use(self, span: Span, name: str, scope: dict[str, Def]) -> None:
        d = scope.get(name) or self.idx.globals.get(name)
        if d is not None and span.line:
            self.idx.refs.append((_word(span, name), d))

    def local(self, name: str, kind: str, span: Span, node: Any, owner: str, scope: dict[str, Def]) -> dict[str, Def]:
        d = Def(name, kind, _name_span(self.src, span, name), node, owner)
        self.idx.defs.append(d)
        self.idx.refs.append((d.span, d))
        return {**scope, name: d}

    def params(self, ps: Iterable[S.Param | S.Binder], owner: str, scope: dict[str, Def]) -> dict[str, Def]:
        for p in ps:
            self.type(p.type, scope)
            scope = self.local(p.name, "param", p.span, p, owner, scope)
        return scope

    def decl(self, d: Any) -> None:
        scope: dict[str, Def] = {}
        if isinstance(d, S.ReplaceDecl):
            d = d.decl
        if isinstance(d, (S.ConstDecl, S.InvariantDecl, S.ReachableDecl)):
            self.expr(d.value if isinstance(d, S.ConstDecl) else d.expr, scope)
        elif isinstance(d, S.TypeDecl):
            self.type(d.type, scope)
        elif isinstance(d, S.VarDecl):
            self.type(d.type, scope)
            if d.init is not None:
                self.expr(d.init, scope)
        elif isinstance(d, S.LetDecl):
            inner = self.params(d.params, d.name, scope)
            if d.type is not None:
                self.type(d.type, scope)
            self.expr(d.body, inner)
        elif isinstance(d, S.ActionDecl):
            inner = self.params(d.params, d.name, scope)
            if d.guard is not None:
                self.expr(d.guard, inner)
            self.stmts(d.body, inner)
        elif isinstance(d, S.PropertyDecl):
            self.expr(d.expr, scope)
            if d.goal is not None:
                self.expr(d.goal, scope)
        elif isinstance(d, S.ConfigDecl):
            for s in d.settings:
                self.use(s.span, s.name, scope)
                self.expr(s.value, scope)
        elif isinstance(d, S.ExpectDecl):
            target = self.idx.globals.get(d.prop)
            if target is not None:
                self.idx.refs.append((_name_span(self.src, d.span, d.prop, len("expect ") + len(d.verdict)), target))

    def stmts(self, body: Iterable[S.Stmt], scope: dict[str, Def]) -> None:
        for s in body:
            if isinstance(s, S.Assign):
                self.use(s.span, s.target, scope)
                for i in s.indices:
                    self.expr(i, scope)
                self.expr(s.value, scope)
            elif isinstance(s, S.LocalLet):
                self.expr(s.value, scope)
                scope = self.local(s.name, "local", s.span, s, "", scope)
            elif isinstance(s, S.If):
                self.expr(s.cond, scope)
                self.stmts(s.then, scope)
                self.stmts(s.other, scope)
            elif isinstance(s, S.For):
                self.type(s.type, scope)
                self.stmts(s.body, self.local(s.var, "param", s.span, s, "for", scope))

    def type(self, t: S.TypeExpr, scope: dict[str, Def]) -> None:
        if isinstance(t, S.NamedType):
            self.use(t.span, t.name, scope)
        elif isinstance(t, S.RangeType):
            self.expr(t.lo, scope)
            self.expr(t.hi, scope)
        elif isinstance(t, S.BitmapType):
            self.expr(t.width, scope)
        elif isinstance(t, S.ArrayType):
            self.type(t.index, scope)
            self.type(t.elem, scope)

    def expr(self, e: S.Expr, scope: dict[str, Def]) -> None:
        if isinstance(e, S.Name):
            self.use(e.span, e.id, scope)
        elif isinstance(e, S.Call):
            self.use(e.span, e.func, scope)
            for a in e.args:
                self.expr(a, scope)
        elif isinstance(e, S.Index):
            self.expr(e.base, scope)
            self.expr(e.index, scope)
        elif isinstance(e, S.Unop):
            self.expr(e.operand, scope)
        elif isinstance(e, S.Binop):
            self.expr(e.left, scope)
            self.expr(e.right, scope)
        elif isinstance(e, S.SetLit):
            for x in e.elems:
                self.expr(x, scope)
        elif isinstance(e, S.Ite):
            for x in (e.cond, e.then, e.other):
                self.expr(x, scope)
        elif isinstance(e, S.Quant):
            self.expr(e.body, self.params(e.binders, e.kind, scope))


# ---- hover
def _text(doc: Any) -> str:
    return render(doc, 10_000)


def hover(d: Def, models: dict[str, T.Model]) -> str:
    """Markdown: the declaration as written, then what the typed models say about it."""
    node = d.node
    model = models.get("default")
    lines: list[str] = []
    if d.kind == "const":
        lines.append(f"const {d.name} = {_text(expr(node.value))}")
        for cfg, m in models.items():
            if d.name in m.consts:
                lines.append(f"- `{cfg}`: {m.consts[d.name]}")
    elif d.kind == "var":
        lines.append(f"var {d.name} : {_text(type_(node.type))}")
        if model is not None:
            lines.append(f"type: `{model.var(d.name).ty}`")
    elif d.kind == "type":
        lines.append(f"type {d.name} = {_text(type_(node.type))}")
    elif d.kind == "enum":
        lines.append(f"enum {d.name} {{ {', '.join(node.members)} }}")
    elif d.kind == "member":
        lines.append(f"{d.name}: a member of enum `{d.owner}`")
    elif d.kind == "let":
        params = ", ".join(f"{p.name} : {_text(type_(p.type))}" for p in node.params)
        lines.append(f"let {d.name}" + (f"({params})" if params else ""))
        if model is not None and d.name in model.lets:
            lines.append(f"type: `{model.lets[d.name].ty}`")
    elif d.kind == "action":
        params = ", ".join(f"{p.name} : {_text(type_(p.type))}" for p in node.params)
        fair = {"weak": "fair ", "strong": "strong fair "}.get(node.fairness, "")
        lines.append(f"{fair}action {d.name}" + (f"({params})" if params else ""))
        lines.append("fairness: " + {"weak": "weak", "strong": "strong"}.get(node.fairness, "none"))
        for cfg, m in models.items():
            act = next((a for a in m.actions if a.name == d.name), None)
            if act is not None:
                n = 1
                for _, t in act.params:
                    n *= size(t)
                lines.append(f"- `{cfg}`: {n:,} instance{'s' if n != 1 else ''}")
    elif d.kind in ("invariant", "property", "reachable"):
        kind = d.kind if d.kind != "property" else f"property ({node.kind.replace('_', ' ')})"
        lines.append(f"{kind} {d.name}")
    elif d.kind in ("param", "local"):
        typ = f" : {_text(type_(node.type))}" if hasattr(node, "type") and not isinstance(node, S.For) else ""
        if isinstance(node, S.For):
            typ = f" : {_text(type_(node.type))}"
        where = f" of `{d.owner}`" if d.owner else ""
        lines.append(f"{'parameter' if d.kind == 'param' else 'local let'} {d.name}{typ}{where}")
    head, *rest = lines or [d.name]
    return "```plug\n" + head + "\n```" + ("\n\n" + "\n".join(rest) if rest else "")


# ---- completion and outline
def completions(idx: Index, file: str, line: int) -> Iterator[tuple[str, str]]:
    """(label, kind) for the names in scope on a line (the parameters, binders and local lets
    of the action or let around it, then every global name), the builtins and the keywords."""
    seen: set[str] = set()
    owner = _enclosing(idx, file, line)
    for d in idx.defs:
        if d.kind in ("param", "local"):
            if owner is None or d.span.file != file or not _inside(d.span, owner):
                continue
        if d.name not in seen:
            seen.add(d.name)
            yield d.name, d.kind
    for b in sorted(BUILTINS):
        yield b, "builtin"
    for k in keywords():
        yield k, "keyword"


def _inside(span: Span, outer: Span) -> bool:
    return outer.line <= span.line <= (outer.end_line or outer.line)


def _enclosing(idx: Index, file: str, line: int) -> Span | None:
    for d in idx.defs:
        if d.kind in ("action", "let") and d.node.span.file == file and _inside(Span(file, line, 1), d.node.span):
            return d.node.span
    return None


def outline(spec: Spec, text: str) -> Iterator[tuple[str, str, Span, Span, list[tuple[str, Span]]]]:
    """(name, kind, whole declaration, name, children) for the document's own declarations
    (those that fail to type-check too, when the document parses)."""
    sources = {**spec.sources, spec.path: text}
    for d in _own_decls(spec, text):
        if isinstance(d, S.ReplaceDecl):
            d = d.decl
        kind = _TITLE.get(type(d))
        if kind is None:
            continue
        name = d.name  # type: ignore[union-attr]
        children: list[tuple[str, Span]] = []
        if isinstance(d, (S.EnumDecl, S.ExtendEnumDecl)):
            children = [(m, _word(s, m)) for m, s in zip(d.members, d.member_spans, strict=False)]
        yield name, kind, d.span, _name_span(sources, d.span, name, len(kind)), children

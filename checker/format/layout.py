"""The canonical layout of a spec: AST (with comments placed) to a document for `doc.render`.

Fixed: spacing around every operator, two-space indentation, where long lines break (after
`=`, before `when`, before a binary operator, before `else`), parentheses exactly where the
grammar needs them (plus, for the reader, around an `and`/`or`/`implies` operand of a
different one of those and a `&` operand of `|` or the reverse), `else if` for an else
block holding one `if`, the `before`/`after` clauses of `extend action` one per line unless
written on one line, aligned `:` in runs of `var` and `=` in runs of `const`, and aligned
trailing comments. Kept from the source: comments, blank lines between items (at most one),
whether a block was written on one line, and which simple statements share a line
(`a := 1; b := 2`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from model import syntax as S
from model.parse import BALANCE_FROM

from .comments import Block, Comment, Placement
from .doc import HARD, LINE, SOFT, Doc, Fill, Group, IfBreak, Nest, Suffix

# binding levels, loosest first (model/grammar.lark)
_EXPR, _IMPLIES, _OR, _AND, _NOT, _CMP, _BOR, _BAND, _SHIFT, _ADD, _MUL, _UNARY, _POSTFIX, _ATOM = range(14)
_BINARY = {
    "implies": _IMPLIES,
    "or": _OR,
    "and": _AND,
    "in": _CMP,
    "subseteq": _CMP,
    "|": _BOR,
    "&": _BAND,
    "<<": _SHIFT,
    ">>": _SHIFT,
    "+": _ADD,
    "-": _ADD,
    "*": _MUL,
    "/": _MUL,
    "%": _MUL,
    **{op: _CMP for op in ("==", "!=", "<=", ">=", "<", ">")},
}
_LOGIC = {_IMPLIES, _OR, _AND}
_BITS = {_BOR, _BAND}
_BREAKS = _LOGIC | {_BOR, _BAND, _ADD}  # long lines break before these operators only
_FAIRNESS = {"": "", "weak": "fair ", "strong": "strong fair ", "unfair": "unfair "}
_SIMPLE = (S.Assign, S.LocalLet, S.Setting)


def _level(e: S.Expr) -> int:
    if isinstance(e, S.Binop):
        return _BINARY[e.op]
    if isinstance(e, S.Unop):
        return _NOT if e.op == "not" else _UNARY
    if isinstance(e, S.Ite) or (isinstance(e, S.Quant) and e.kind in ("forall", "exists")):
        return _EXPR
    if isinstance(e, S.Index):
        return _POSTFIX
    return _ATOM


def expr(e: S.Expr, need: int = _EXPR) -> Doc:
    """`e` as a document, in parentheses if its level binds looser than `need`."""
    d = _expr(e)
    if _level(e) < need:
        return _parens(d)
    return d


def _parens(d: Doc) -> Doc:
    return ["(", Nest(2, d), ")"]


def _operand(e: S.Expr, need: int, parent: int) -> Doc:
    lv = _level(e)
    for mixed in (_LOGIC, _BITS):  # `(a and b) implies c`, `m | (a & b)`: for the reader
        if parent in mixed and lv in mixed and lv != parent:
            return _parens(_expr(e))
    return expr(e, need)


def _expr(e: S.Expr) -> Doc:
    if isinstance(e, S.IntLit):
        return str(e.value)
    if isinstance(e, S.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, S.Name):
        return e.id
    if isinstance(e, S.Call):
        return _call(e.func, [expr(a) for a in e.args])
    if isinstance(e, S.Index):
        return [expr(e.base, _POSTFIX), "[", expr(e.index), "]"]
    if isinstance(e, S.Unop):
        if e.op == "not":  # `not (a == b)`, not `not a == b`: for the reader
            return ["not ", expr(e.operand, _NOT) if not isinstance(e.operand, S.Binop) else _parens(_expr(e.operand))]
        return [e.op, expr(e.operand, _UNARY)]
    if isinstance(e, S.Binop):
        return _chain(e)
    if isinstance(e, S.SetLit):
        if all(isinstance(x, (S.Name, S.IntLit)) for x in e.elems):  # members: as many per line as fit
            names = [x.id if isinstance(x, S.Name) else str(x.value) for x in e.elems]  # type: ignore[union-attr]
            return ["{", Nest(2, Fill(_commas(names))), "}"]
        return _list("{", [expr(x) for x in e.elems], "}")
    if isinstance(e, S.Ite):
        parts: list[Doc] = []
        cur: S.Expr = e
        while isinstance(cur, S.Ite):
            if parts:
                parts += [LINE, "else "]
            # an `if` inside the condition or the then-branch is parenthesised for the reader
            cond, then = (expr(x, _EXPR + 1 if isinstance(x, S.Ite) else _EXPR) for x in (cur.cond, cur.then))
            parts += ["if ", cond, " then ", then]
            cur = cur.other
        return Group(parts + [LINE, "else ", expr(cur)])
    if isinstance(e, S.Quant):
        head = [e.kind, "(" if e.kind in ("count", "sum") else " ", _binders(e.binders), "."]
        body = Group([*head, Nest(2, [LINE, expr(e.body)])])
        return [body, ")"] if e.kind in ("count", "sum") else body
    raise AssertionError(f"unknown expression {e!r}")


def _written(e: S.Binop) -> tuple[list[S.Expr], list[str]] | None:
    """The operands and operators of a long `and`, `or` or `+`/`-` chain as written: the parser
    rebuilds such chains as balanced trees (`a - b - c` as `a - (b + c)`, model.parse), which
    read back to the same tree from the flat text."""
    fam = {"and": "and", "or": "or", "+": "+", "-": "+"}
    want = fam.get(e.op)
    if want is None:
        return None
    terms: list[tuple[bool, S.Expr]] = []

    def walk(x: S.Expr, neg: bool) -> None:  # depth: log of the chain, or the nesting limit
        if isinstance(x, S.Binop) and fam.get(x.op) == want:
            walk(x.left, neg)
            walk(x.right, neg != (x.op == "-"))
        else:
            terms.append((neg, x))

    walk(e, False)
    if len(terms) < BALANCE_FROM or terms[0][0]:
        return None
    ops = [("-" if neg else "+") if want == "+" else want for neg, _ in terms[1:]]
    return [x for _, x in terms], ops


def _chain(e: S.Binop) -> Doc:
    """`a op b op c` with line breaks before each operator when it does not fit."""
    lv = _BINARY[e.op]
    right_assoc = lv == _IMPLIES
    operands: list[S.Expr] = [e]
    ops: list[str] = []
    flat = _written(e)
    if flat is not None:
        operands, ops = flat
    # flatten the spine of operators of the same level (left for left-associative ones)
    while flat is None:
        first = operands[-1 if right_assoc else 0]
        if not (isinstance(first, S.Binop) and _BINARY[first.op] == lv) or (lv == _CMP and len(operands) > 1):
            break
        if right_assoc:
            operands[-1:] = [first.left, first.right]
            ops.append(first.op)
        else:
            operands[0:1] = [first.left, first.right]
            ops.insert(0, first.op)
        if lv == _CMP:
            break
    parts: list[Doc] = []
    for i, x in enumerate(operands):
        if lv == _CMP:
            need = lv + 1
        elif right_assoc:
            need = lv if i == len(operands) - 1 else lv + 1
        else:
            need = lv if i == 0 else lv + 1
        d = _operand(x, need, lv)
        parts += [d] if i == 0 else [LINE if lv in _BREAKS else " ", ops[i - 1], " ", d]
    return Group(parts)


def _list(open_: str, items: Sequence[Doc], close: str) -> Doc:
    if not items:
        return open_ + close
    body: list[Doc] = []
    for i, d in enumerate(items):
        body += [d] if i == 0 else [",", LINE, d]
    return Group([open_, Nest(2, [SOFT, *body]), SOFT, close])


def _call(name: str, args: Sequence[Doc]) -> Doc:
    return _list(name + "(", args, ")")


def _binders(bs: Sequence[S.Binder | S.Param]) -> Doc:
    out: list[Doc] = []
    for i, b in enumerate(bs):
        out += ([] if i == 0 else [", "]) + [b.name, " : ", type_(b.type)]
    return out


def type_(t: S.TypeExpr) -> Doc:
    if isinstance(t, S.BoolType):
        return "bool"
    if isinstance(t, S.RangeType):
        return [expr(t.lo, _ADD), " .. ", expr(t.hi, _ADD)]
    if isinstance(t, S.NamedType):
        return t.name
    if isinstance(t, S.BitmapType):
        return _call("bitmap", [expr(t.width)])
    return ["[", type_(t.index), "] ", type_(t.elem)]


def _params(ps: Sequence[S.Param]) -> Doc:
    if not ps:
        return ""
    return _list("(", [[p.name, " : ", type_(p.type)] for p in ps], ")")


def _commas(words: Sequence[str]) -> list[str]:
    return [w + ("," if i < len(words) - 1 else "") for i, w in enumerate(words)]


def _members(head: str, members: Sequence[str]) -> Doc:
    """`enum E { A, B }`, or the members filling lines under the header."""
    return Group([head, Nest(2, [LINE, Fill(_commas(members))]), LINE, "}"])


def _guard(g: S.Expr | None) -> Doc:
    """` when G`, or on its own line (continuation lines further in) when the header is long."""
    return Nest(2, [LINE, "when ", Nest(2, expr(g))]) if g is not None else ""


def _hang(head: Doc, body: Doc) -> Doc:
    """`head body`, or `head` and `body` indented on the next line when it does not fit."""
    return Group([head, Nest(2, [LINE, body])])


class Layout:
    def __init__(self, source: str, placement: Placement) -> None:
        self.lines = source.splitlines()
        self.pl = placement

    # ---- items and the comments around them
    def _blank_between(self, end_line: int, start_line: int) -> bool:
        return any(not self.lines[i - 1].strip() for i in range(end_line + 1, start_line) if i - 1 < len(self.lines))

    def _entries(self, items: Sequence[Any], tail: list[Comment]) -> list[tuple[bool, Any]]:
        """Items and own-line comments in source order, each with `blank line before`."""
        seq: list[Any] = []
        for it in items:
            seq += self.pl.leading.get(id(it), [])
            seq.append(it)
        seq += tail
        out: list[tuple[bool, Any]] = []
        last = 0
        for x in seq:
            start, end = (x.line, x.line) if isinstance(x, Comment) else (x.span.line, x.span.end_line)
            out.append((bool(out) and self._blank_between(last, start), x))
            last = max(last, end) if isinstance(x, Comment) else end
        return out

    def _trailing(self, it: Any) -> Doc:
        return [Suffix(c.text) for c in self.pl.trailing.get(id(it), [])]

    def file(self, top: Block) -> Doc:
        entries = self._entries(top.items, self.pl.tail.get(top.key, []))
        pads = self._alignment(entries)
        out: list[Doc] = []
        for i, (blank, x) in enumerate(entries):
            if i:
                out.append(HARD)
            if blank:
                out.append(HARD)
            out.append(x.text if isinstance(x, Comment) else [self.decl(x, pads.get(id(x), 0)), self._trailing(x)])
        return out

    @staticmethod
    def _alignment(entries: list[tuple[bool, Any]]) -> dict[int, int]:
        """Runs of consecutive one-kind `var` or `const` declarations: the name width to pad to."""
        pads: dict[int, int] = {}
        run: list[Any] = []

        def close() -> None:
            width = max((len(d.name) for d in run), default=0)
            pads.update({id(d): width for d in run})
            run.clear()

        for blank, x in entries:
            if blank or not isinstance(x, (S.VarDecl, S.ConstDecl)) or (run and type(run[0]) is not type(x)):
                close()
            if isinstance(x, (S.VarDecl, S.ConstDecl)):
                run.append(x)
        close()
        return pads

    def block(self, key: tuple[int, str], stmt: Any = None) -> Doc:
        """`{ ... }`: on one line if it was written so and fits, else one line per source line."""
        b = self.pl.blocks[key]
        if not b.items and not self.pl.in_block(key):
            return "{ }"
        item = self.stmt if stmt is None else stmt
        if b.one_line and not self.pl.in_block(key):
            body: list[Doc] = []
            for i, it in enumerate(b.items):
                body += [item(it)] if i == 0 else [IfBreak("", ";"), LINE, item(it)]
            return Group(["{", Nest(2, [LINE, Group(body)]), LINE, "}"])
        out: list[Doc] = ["{", *(Suffix(c.text) for c in self.pl.head.get(key, []))]
        inner: list[Doc] = []
        group: list[Doc] = []
        prev: Any = None
        for blank, x in self._entries(b.items, self.pl.tail.get(key, [])):
            same_line = (
                not blank
                and isinstance(x, _SIMPLE)
                and isinstance(prev, _SIMPLE)
                and x.span.line == prev.span.end_line
                and id(prev) not in self.pl.trailing
            )
            if same_line:
                group += [IfBreak("", ";"), LINE, item(x), self._trailing(x)]
            else:
                if group:
                    inner.append(Group(group))
                group = []
                inner += [HARD, HARD] if blank else [HARD]
                if isinstance(x, Comment):
                    inner.append(x.text)
                else:
                    group = [item(x), self._trailing(x)]
            prev = x
        if group:
            inner.append(Group(group))
        return out + [Nest(2, inner), HARD, "}"]

    # ---- declarations
    def decl(self, d: S.Decl, pad: int = 0) -> Doc:
        if isinstance(d, S.ProtocolDecl):
            return f'protocol {d.name} "{d.title}"' if d.title else f"protocol {d.name}"
        if isinstance(d, S.ExtendsDecl):
            return f'extends "{d.path}"'
        if isinstance(d, S.ConstDecl):
            return _hang(f"const {d.name.ljust(pad)} =", expr(d.value))
        if isinstance(d, S.EnumDecl):
            return _members(f"enum {d.name} {{", d.members)
        if isinstance(d, S.TypeDecl):
            return _hang(f"type {d.name} =", type_(d.type))
        if isinstance(d, S.VarDecl):
            head: list[Doc] = [f"var {d.name.ljust(pad)} : ", type_(d.type)]
            if d.any_init:
                return head + [" = any"]
            return _hang([*head, " ="], expr(d.init)) if d.init is not None else head
        if isinstance(d, S.LetDecl):
            typ: Doc = [" : ", type_(d.type)] if d.type is not None else ""
            return _hang([f"let {d.name}", _params(d.params), typ, " ="], expr(d.body))
        if isinstance(d, S.ActionDecl):
            head = [_FAIRNESS[d.fairness], "action ", d.name, _params(d.params)]
            if d.new_params:
                head.append(" with new parameters")
            return [Group([*head, _guard(d.guard), LINE]), self.block((id(d), "body"))]
        if isinstance(d, S.ExtendActionDecl):
            head = ["extend action ", d.name, _guard(d.guard)]
            ext = self._extension(d)
            return Group(head) if ext is None else [Group([*head, LINE]), ext]
        if isinstance(d, S.ExtendEnumDecl):
            return _members(f"extend enum {d.name} {{", d.members)
        if isinstance(d, S.InvariantDecl):
            return _hang(f"invariant {d.name}:", expr(d.expr))
        if isinstance(d, S.ReachableDecl):
            return _hang(f"reachable {d.name}:", expr(d.expr))
        if isinstance(d, S.PropertyDecl):
            return _hang(f"property {d.name}:", self._temporal(d))
        if isinstance(d, S.ConfigDecl):
            mods = "".join(" " + m for m in d.modifiers)
            return [f"config {d.name}{mods} ", self.block((id(d), "body"), self.setting)]
        if isinstance(d, S.AllowDecl):
            return f"allow {d.what}"
        if isinstance(d, S.ExpectDecl):
            return f"expect {d.verdict} {d.prop}"
        if isinstance(d, S.ReplaceDecl):
            return ["replace ", self.decl(d.decl)]
        raise AssertionError(f"unknown declaration {d!r}")

    def _extension(self, d: S.ExtendActionDecl) -> Doc | None:
        """`{ before {...} after {...} }`, on one line if it was written so and fits."""
        keys = [(w, (id(d), w)) for w in ("before", "after")]
        keys = [(w, k) for w, k in keys if k in self.pl.blocks and (self.pl.blocks[k].items or self.pl.in_block(k))]
        if not keys:
            return None
        clauses: list[Doc] = [[w, " ", self.block(k)] for w, k in keys]
        outer = self.pl.blocks.get((id(d), "ext"))
        if outer is not None and outer.one_line and not any(self.pl.in_block(k) for _, k in keys):
            body: list[Doc] = []
            for c in clauses:
                body += [LINE, c]
            return Group(["{", Nest(2, body), LINE, "}"])
        inner: list[Doc] = []
        for c in clauses:
            inner += [HARD, c]
        return ["{", Nest(2, inner), HARD, "}"]

    @staticmethod
    def _temporal(d: S.PropertyDecl) -> Doc:
        if d.kind == "leadsto":
            assert d.goal is not None
            return Group([expr(d.expr), Nest(2, [LINE, "leadsto ", expr(d.goal)])])
        word = {"always_eventually": "always eventually", "eventually_always": "eventually always"}
        return [word.get(d.kind, d.kind), " ", expr(d.expr)]

    def setting(self, s: S.Setting) -> Doc:
        return _hang(f"{s.name} =", expr(s.value))

    # ---- statements
    def stmt(self, s: S.Stmt) -> Doc:
        if isinstance(s, S.Assign):
            target: list[Doc] = [s.target]
            for i in s.indices:
                target += ["[", expr(i), "]"]
            return _hang([*target, " :="], expr(s.value))
        if isinstance(s, S.LocalLet):
            return _hang(f"let {s.name} =", expr(s.value))
        if isinstance(s, S.For):
            return ["for ", s.var, " : ", type_(s.type), " ", self.block((id(s), "body"))]
        if isinstance(s, S.If):
            return self._if(s)
        raise AssertionError(f"unknown statement {s!r}")

    def _if(self, s: S.If) -> Doc:
        """An if / else if / else chain; `else` follows a `}` on its line, else it starts a line."""
        parts: list[Doc] = []
        cur: S.If | None = s
        while cur is not None:
            then = self.block((id(cur), "then"))
            after = self.pl.after.get((id(cur), "then"), [])
            parts += ["if ", expr(cur.cond), " ", then, *(Suffix(c.text) for c in after)]
            nxt = cur.other
            if not nxt:
                key = (id(cur), "else")
                if key in self.pl.blocks and self.pl.in_block(key):  # an empty `else` kept for its comments
                    parts += [HARD if after else " ", "else ", self.block(key)]
                break
            sep: Doc = [HARD, "else "] if after else " else " if self._broken(then) else [LINE, "else "]
            if len(nxt) == 1 and isinstance(nxt[0], S.If) and not self.pl.leading.get(id(nxt[0])):
                parts.append(sep)
                cur = nxt[0]
                continue
            parts += [sep, self.block((id(cur), "else"))]
            break
        return Group(parts)

    @staticmethod
    def _broken(block: Doc) -> bool:
        return isinstance(block, list)  # multi-line blocks are lists; one-line ones are groups

"""Spec text to AST: the lark LALR parser and a transformer that keeps source spans.

Syntax errors become SpecError in the user's terms ("expected an expression after `:=`").
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError
from lark.tree import Meta

from . import syntax as S
from .domains import INF
from .errors import Span, SpecError
from .grammar_cache import cache_file

GRAMMAR = Path(__file__).with_name("grammar.lark")

# Expressions and statements nest at most this deep (README, "Limits"). Every later step
# (type checking, grounding, the engines) walks specs recursively; the limit keeps them all
# far from Python's recursion limit and the generated code within Python's parser limits.
MAX_NESTING = 64
BALANCE_FROM = 8  # `a and b and ...` chains at least this long are parsed as balanced trees
MAX_DIGITS = 4000  # Python converts at most 4,300 digits to an int; no constant needs more than 19

_EXPR_START = {"INT", "NAME", "TRUE", "FALSE", "LPAR", "LBRACE", "MINUS", "TILDE", "NOT"}
_FRIENDLY = {
    "NAME": "a name",
    "INT": "a number",
    "STRING": "a string in double quotes",
    "$END": "the end of the file",
    "ASSIGN": "`:=`",
    "CMP": "a comparison",
}
_DECL_WORDS = {
    "PROTOCOL",
    "EXTENDS",
    "CONST",
    "ENUM",
    "TYPE",
    "VAR",
    "LET",
    "ACTION",
    "FAIR",
    "STRONG",
    "UNFAIR",
    "INVARIANT",
    "PROPERTY",
    "REACHABLE",
    "CONFIG",
    "ALLOW",
    "EXPECT",
    "REPLACE",
    "EXTEND",
}


@lru_cache(maxsize=1)
def parser() -> Lark:
    """The LALR parser, built once per process (a private cache keeps later processes fast)."""
    return Lark(
        GRAMMAR.read_text(),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=cache_file(),
    )


def keywords() -> list[str]:
    """The reserved words of the language, from the grammar (editors highlight and complete these)."""
    return sorted(
        str(t.pattern.value)
        for t in parser().terminals
        if t.pattern.type == "str" and str(t.pattern.value).isidentifier()
    )


def declaration_keywords() -> list[str]:
    """The words a top-level declaration starts with (editors recover from errors at them)."""
    return sorted(w.lower() for w in _DECL_WORDS)


@lru_cache(maxsize=64)
def parse_text(source: str, path: str = "<spec>") -> S.SpecFile:
    """Parse spec text; raise SpecError with the position of the first syntax error. The AST
    is immutable (frozen dataclasses, tuples): a text parsed before in this process (a file
    that many specs extend, a spec checked config after config) is not parsed again."""
    try:
        tree = parser().parse(source)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, source, path) from None
    tree = _balanced(tree)
    _check_nesting(tree, path, source)
    try:
        decls = _transform(_Builder(path), tree)
    except VisitError as exc:  # a SpecError raised while building the AST
        if isinstance(exc.orig_exc, SpecError):
            err = exc.orig_exc
            err.source = source
            raise err from None
        raise
    if not decls:
        # an empty file is almost always a mistake (a truncated save, the wrong path); say so
        raise SpecError(
            "the spec is empty: it has no declarations (start with `protocol NAME`, then `var` and `action`)",
            Span(path, 1, 1),
            source,
        )
    return S.SpecFile(path, source, tuple(decls))


def _describe(term: str) -> str:
    if term in _FRIENDLY:
        return _FRIENDLY[term]
    for t in parser().terminals:
        if t.name == term and t.pattern.type == "str":
            return f"`{t.pattern.value}`"
    return term.lower()


def _expected_words(expected: set[str]) -> str:
    exp = set(expected)
    words: list[str] = []
    if len(exp & _EXPR_START) >= 3:
        exp -= _EXPR_START | {"IF", "FORALL", "EXISTS", "COUNT", "SUM"}
        words.append("an expression")
    if len(exp & _DECL_WORDS) >= 5:
        exp -= _DECL_WORDS
        words.append("a declaration (const, var, action, invariant, ...)")
    words += sorted(_describe(t) for t in exp)
    if len(words) > 6:
        words = words[:6] + ["..."]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _syntax_error(exc: UnexpectedInput, source: str, path: str) -> SpecError:
    line, col = max(exc.line, 1), max(exc.column, 1)
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        ch = source[pos] if pos < len(source) else ""
        if ch == '"':
            return SpecError('unterminated string: close it with `"` on the same line', Span(path, line, col), source)
        if ch == "!":  # `!=` lexes as a comparison; a lone `!` is C's negation
            return SpecError("`!` is not an operator: write `not` (`!=` is not-equal)", Span(path, line, col), source)
        shown = repr(ch) if not ch.isprintable() else f"`{ch}`"
        return SpecError(f"unexpected character {shown}", Span(path, line, col), source)
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        if tok.type == "$END":
            lines = source.splitlines() or [""]
            line, col = len(lines), len(lines[-1]) + 1
            found = "the end of the file"
        else:
            found = f"`{tok.value}`"
        after = ""
        ip = getattr(exc, "interactive_parser", None)
        stack = getattr(getattr(ip, "parser_state", None), "value_stack", None) or []
        hint = _habit(tok, set(exc.expected), stack, path, source, found)
        if hint is not None:
            return hint
        if stack and isinstance(stack[-1], Token):
            after = f" after `{stack[-1].value}`"
        msg = f"expected {_expected_words(set(exc.expected))}{after}, found {found}"
        if after == " after `replace`":
            msg = _replace_takes(found)
        end = col + max(len(str(tok.value)), 1) if tok.type != "$END" else col + 1
        return SpecError(msg, Span(path, line, col, line, end), source)
    return SpecError(f"syntax error: {exc}", Span(path, line, col), source)


# ---- user-controlled depth: every walk of the parse tree here is iterative
_CHAINS = {"AND": "and", "OR": "or", "PLUS": "+", "MINUS": "+"}  # operator -> its associative family
_NOT_NESTING = {"block", "guard", "init", "params", "binders"}  # grouping rules, not a level


def _op(t: Any) -> str | None:
    """The associative family of a binop tree (`and`, `or`, `+` for + and -), else None."""
    if isinstance(t, Tree) and t.data == "binop" and isinstance(t.children[1], Token):
        return _CHAINS.get(t.children[1].type)
    return None


def _bounds(x: Any) -> tuple[int, int, int, int]:
    m = x if isinstance(x, Token) else x.meta
    return (m.line or 0, m.column or 0, m.end_line or 0, m.end_column or 0)


def _balanced(root: Tree) -> Tree:
    """Long left-nested chains of `and`, `or` and `+`/`-` rebuilt as balanced trees. The
    operands keep their order (left-to-right evaluation and errors are unchanged) and
    `a - b - c` becomes `a - (b + c)`, so 10,000 conjuncts nest 14 levels, not 10,000."""
    stack = [root]
    while stack:
        node = stack.pop()
        fam = _op(node)
        if fam is not None:
            ops: list[tuple[Token | None, Any]] = []
            cur: Any = node
            while _op(cur) == fam:
                ops.append((cur.children[1], cur.children[2]))
                cur = cur.children[0]
            if len(ops) + 1 >= BALANCE_FROM:
                terms: list[tuple[Token | None, Any]] = [(None, cur), *ops[::-1]]
                new = _balance(terms)
                node.children = new.children
                _set_bounds(node.meta, new.meta)
                stack += [t for _, t in terms if isinstance(t, Tree)]
                continue
        stack += [c for c in node.children if isinstance(c, Tree)]
    return root


def _balance(terms: list[tuple[Token | None, Any]]) -> Any:
    """terms[0] has no operator; each other term is (`op`, operand), as written left to right."""
    if len(terms) == 1:
        return terms[0][1]
    mid = len(terms) // 2
    op = terms[mid][0]
    assert op is not None
    right = terms[mid:]
    if op.type == "MINUS":  # a - (b ... ): the signs inside the parentheses flip
        flip = {"MINUS": ("PLUS", "+"), "PLUS": ("MINUS", "-")}
        right = [(Token.new_borrow_pos(*flip[o.type], o) if o is not None else None, t) for o, t in right]
    left_t, right_t = _balance(terms[:mid]), _balance([(None, right[0][1]), *right[1:]])
    meta = Meta()
    _set_bounds(meta, _bounds(left_t)[:2] + _bounds(right_t)[2:])
    return Tree("binop", [left_t, op, right_t], meta)


def _set_bounds(meta: Meta, b: tuple[int, ...] | Meta) -> None:
    if isinstance(b, Meta):
        b = (b.line, b.column, b.end_line, b.end_column)
    meta.line, meta.column, meta.end_line, meta.end_column = b
    meta.empty = False


def _check_nesting(root: Tree, path: str, source: str) -> None:
    stack: list[tuple[Tree, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if node.data not in _NOT_NESTING:
            depth += 1
        if depth > MAX_NESTING:
            line, col, _, _ = _bounds(node)
            raise SpecError(
                f"this is nested more than {MAX_NESTING} levels deep (expressions and statements inside each other);"
                " split it with `let`",
                Span(path, line, col),
                source,
            )
        stack += [(c, depth) for c in node.children if isinstance(c, Tree)]


def _transform(builder: _Builder, root: Tree) -> Any:
    """`builder.transform(root)` without recursion (lark's transformer recurses per level)."""
    done: dict[int, Any] = {}
    stack: list[tuple[Tree, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if not ready:
            stack.append((node, True))
            stack += [(c, False) for c in node.children if isinstance(c, Tree)]
            continue
        kids = [done.pop(id(c)) if isinstance(c, Tree) else c for c in node.children]
        done[id(node)] = builder._call_userfunc(node, kids)
    return done[id(root)]


_DOUBLED = {"BAND": ("&&", "and", "`&` is bitmap intersection"), "BOR": ("||", "or", "`|` is bitmap union")}


def _habit(tok: Token, expected: set[str], stack: list[Any], path: str, source: str, found: str) -> SpecError | None:
    """Errors that habits from other languages cause, said in their terms: `=` to compare,
    `&&` / `||`, and a `{` never closed (reported at the `{`, not where the parser gave up)."""
    prev = stack[-1] if stack and isinstance(stack[-1], Token) else None
    if tok.type == "EQUAL" and "CMP" in expected:
        return SpecError("`=` is not a comparison: write `==`", _tsp(path, tok), source)
    if (
        tok.type in _DOUBLED
        and prev is not None
        and prev.type == tok.type
        and (prev.end_line, prev.end_column) == (tok.line, tok.column)
    ):
        word, instead, what = _DOUBLED[tok.type]
        span = Span(path, prev.line or 0, prev.column or 0, tok.end_line or 0, tok.end_column or 0)
        return SpecError(f"`{word}` is not an operator: write `{instead}` ({what})", span, source)
    if "RBRACE" in expected and (tok.type == "$END" or tok.type in _DECL_WORDS):
        opened = [t for t in stack if isinstance(t, Token) and t.type == "LBRACE"]
        if opened:
            where = "the end of the file" if tok.type == "$END" else f"`{tok.value}`"
            err = SpecError(f"this `{{` is never closed: add a `}}` before {where}", _tsp(path, opened[-1]), source)
            if tok.type != "$END":
                err.with_note(f"the parser reached {found} here", _tsp(path, tok))
            return err
    return None


def _replace_takes(found: str) -> str:
    msg = f"`replace` takes an action, let, const, var, invariant, property or reachable, found {found}"
    if found == "`enum`":
        msg += ": to add members to an enum, write `extend enum NAME { MEMBER, ... }`"
    return msg


def _sp(path: str, meta: Any) -> Span:
    if getattr(meta, "empty", True):
        return Span(path, 0, 0)
    return Span(path, meta.line, meta.column, meta.end_line, meta.end_column)


def _tsp(path: str, tok: Token) -> Span:
    return Span(path, tok.line or 0, tok.column or 0, tok.end_line or 0, tok.end_column or 0)


@v_args(meta=True, inline=True)
class _Builder(Transformer[Any, Any]):
    """Parse tree to syntax.* nodes."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def _s(self, meta: Any) -> Span:
        return _sp(self.path, meta)

    # ---- top level
    def start(self, meta: Any, *decls: Any) -> list[Any]:
        return list(decls)

    def protocol_decl(self, meta: Any, name: Token, title: Token | None) -> S.ProtocolDecl:
        return S.ProtocolDecl(str(name), str(title)[1:-1] if title else "", self._s(meta))

    def extends_decl(self, meta: Any, path: Token) -> S.ExtendsDecl:
        return S.ExtendsDecl(str(path)[1:-1], self._s(meta))

    def const_decl(self, meta: Any, name: Token, value: S.Expr) -> S.ConstDecl:
        return S.ConstDecl(str(name), value, self._s(meta))

    def enum_decl(self, meta: Any, name: Token, *members: Token) -> S.EnumDecl:
        return S.EnumDecl(
            str(name),
            tuple(str(m) for m in members),
            tuple(_tsp(self.path, m) for m in members),
            self._s(meta),
        )

    def type_decl(self, meta: Any, name: Token, ty: S.TypeExpr) -> S.TypeDecl:
        return S.TypeDecl(str(name), ty, self._s(meta))

    def var_decl(self, meta: Any, name: Token, ty: S.TypeExpr, init: Any) -> S.VarDecl:
        if init is None:
            return S.VarDecl(str(name), ty, None, False, self._s(meta))
        if isinstance(init, Token):  # ANY
            return S.VarDecl(str(name), ty, None, True, self._s(meta))
        return S.VarDecl(str(name), ty, init, False, self._s(meta))

    def init(self, meta: Any, value: Any) -> Any:
        return value

    def let_decl(self, meta: Any, name: Token, params: Any, ty: Any, body: S.Expr) -> S.LetDecl:
        return S.LetDecl(str(name), tuple(params or ()), body, self._s(meta), ty)

    def params(self, meta: Any, *ps: S.Param) -> tuple[S.Param, ...]:
        return ps

    def param(self, meta: Any, name: Token, ty: S.TypeExpr) -> S.Param:
        return S.Param(str(name), ty, self._s(meta))

    def action_decl(
        self, meta: Any, fair: str, name: Token, params: Any, new_params: Any, guard: Any, body: Any
    ) -> S.ActionDecl:
        return S.ActionDecl(str(name), tuple(params or ()), guard, body, fair, self._s(meta), new_params is not None)

    def new_params(self, meta: Any) -> bool:
        return True

    def extend_action(self, meta: Any, name: Token, guard: Any, ext: Any) -> S.ExtendActionDecl:
        before, after = ext or ((), ())
        return S.ExtendActionDecl(str(name), guard, before, after, self._s(meta))

    def extension(self, meta: Any, bt: Any, before: Any, at: Any, after: Any) -> tuple[tuple[S.Stmt, ...], ...]:
        return (tuple(before or ()), tuple(after or ()))

    def extend_enum(self, meta: Any, name: Token, *members: Token) -> S.ExtendEnumDecl:
        return S.ExtendEnumDecl(
            str(name), tuple(str(m) for m in members), tuple(_tsp(self.path, m) for m in members), self._s(meta)
        )

    def fairness(self, meta: Any, *toks: Token | None) -> str:
        words = [str(t) for t in toks if t is not None]
        if not words:
            return ""
        return {"strong": "strong", "unfair": "unfair"}.get(words[0], "weak")

    def guard(self, meta: Any, e: S.Expr) -> S.Expr:
        return e

    def invariant_decl(self, meta: Any, name: Token, e: S.Expr) -> S.InvariantDecl:
        return S.InvariantDecl(str(name), e, self._s(meta))

    def property_decl(self, meta: Any, name: Token, t: tuple[str, Any, Any]) -> S.PropertyDecl:
        return S.PropertyDecl(str(name), t[0], t[1], t[2], self._s(meta))

    def always_eventually(self, meta: Any, _a: Token, _e: Token, e: S.Expr) -> tuple[str, Any, Any]:
        return ("always_eventually", e, None)

    def eventually_always(self, meta: Any, _e: Token, _a: Token, e: S.Expr) -> tuple[str, Any, Any]:
        return ("eventually_always", e, None)

    def eventually(self, meta: Any, _e: Token, e: S.Expr) -> tuple[str, Any, Any]:
        return ("eventually", e, None)

    def always(self, meta: Any, _a: Token, e: S.Expr) -> tuple[str, Any, Any]:
        return ("always", e, None)

    def leadsto(self, meta: Any, p: S.Expr, q: S.Expr) -> tuple[str, Any, Any]:
        return ("leadsto", p, q)

    def reachable_decl(self, meta: Any, name: Token, e: S.Expr) -> S.ReachableDecl:
        return S.ReachableDecl(str(name), e, self._s(meta))

    def config_decl(self, meta: Any, name: Token, *rest: Any) -> S.ConfigDecl:
        mods = [r for r in rest if isinstance(r, Token)]
        sets = [r for r in rest if isinstance(r, S.Setting)]
        return S.ConfigDecl(
            str(name),
            tuple(str(m) for m in mods),
            tuple(sets),
            tuple(_tsp(self.path, m) for m in mods),
            self._s(meta),
        )

    def setting(self, meta: Any, name: Token, value: S.Expr) -> S.Setting:
        return S.Setting(str(name), value, self._s(meta))

    def allow_decl(self, meta: Any, what: Token) -> S.AllowDecl:
        return S.AllowDecl(str(what), self._s(meta))

    def expect_decl(self, meta: Any, verdict: Token, prop: Token) -> S.ExpectDecl:
        return S.ExpectDecl(str(verdict), str(prop), self._s(meta))

    def replace_decl(self, meta: Any, decl: Any) -> S.ReplaceDecl:
        return S.ReplaceDecl(decl, self._s(meta))

    # ---- types
    def bool_type(self, meta: Any) -> S.BoolType:
        return S.BoolType(self._s(meta))

    def range_type(self, meta: Any, lo: S.Expr, hi: S.Expr) -> S.RangeType:
        return S.RangeType(lo, hi, self._s(meta))

    def named_type(self, meta: Any, name: Token) -> S.NamedType:
        return S.NamedType(str(name), self._s(meta))

    def bitmap_type(self, meta: Any, width: S.Expr) -> S.BitmapType:
        return S.BitmapType(width, self._s(meta))

    def array_type(self, meta: Any, index: S.TypeExpr, elem: S.TypeExpr) -> S.ArrayType:
        return S.ArrayType(index, elem, self._s(meta))

    # ---- statements
    def block(self, meta: Any, *stmts: S.Stmt) -> tuple[S.Stmt, ...]:
        return stmts

    def assign(self, meta: Any, lv: tuple[Token, tuple[S.Expr, ...]], _op: Token, e: S.Expr) -> S.Assign:
        return S.Assign(str(lv[0]), lv[1], e, self._s(meta))

    def lvalue(self, meta: Any, name: Token, *idx: S.Expr) -> tuple[Token, tuple[S.Expr, ...]]:
        return (name, idx)

    def local_let(self, meta: Any, name: Token, e: S.Expr) -> S.LocalLet:
        return S.LocalLet(str(name), e, self._s(meta))

    def if_stmt(self, meta: Any, cond: S.Expr, then: Any, other: Any) -> S.If:
        if other is None:
            other = ()
        elif isinstance(other, S.If):
            other = (other,)
        return S.If(cond, then, other, self._s(meta))

    def for_stmt(self, meta: Any, var: Token, ty: S.TypeExpr, body: Any) -> S.For:
        return S.For(str(var), ty, body, self._s(meta))

    # ---- expressions
    def quant(self, meta: Any, kind: Token, binders: Any, body: S.Expr) -> S.Quant:
        return S.Quant(str(kind), binders, body, self._s(meta))

    def aggregate(self, meta: Any, kind: Token, binders: Any, body: S.Expr) -> S.Quant:
        return S.Quant(str(kind), binders, body, self._s(meta))

    def binders(self, meta: Any, *bs: S.Binder) -> tuple[S.Binder, ...]:
        return bs

    def binder(self, meta: Any, name: Token, ty: S.TypeExpr) -> S.Binder:
        return S.Binder(str(name), ty, self._s(meta))

    def ite(self, meta: Any, c: S.Expr, a: S.Expr, b: S.Expr) -> S.Ite:
        return S.Ite(c, a, b, self._s(meta))

    def binop(self, meta: Any, left: S.Expr, op: Token, right: S.Expr) -> S.Binop:
        return S.Binop(str(op), left, right, self._s(meta))

    def unop(self, meta: Any, op: Token, e: S.Expr) -> S.Unop:
        return S.Unop(str(op), e, self._s(meta))

    def index(self, meta: Any, base: S.Expr, idx: S.Expr) -> S.Index:
        return S.Index(base, idx, self._s(meta))

    def int_lit(self, meta: Any, tok: Token) -> S.IntLit:
        if len(tok) > MAX_DIGITS:
            raise SpecError(
                f"the number {tok[:10]}...({len(tok)} digits) is too large (at most {INF - 1})", self._s(meta)
            )
        return S.IntLit(int(tok), self._s(meta))

    def true_lit(self, meta: Any, tok: Token) -> S.BoolLit:
        return S.BoolLit(True, self._s(meta))

    def false_lit(self, meta: Any, tok: Token) -> S.BoolLit:
        return S.BoolLit(False, self._s(meta))

    def name(self, meta: Any, tok: Token) -> S.Name:
        return S.Name(str(tok), self._s(meta))

    def call(self, meta: Any, func: Token, *args: Any) -> S.Call:
        return S.Call(str(func), tuple(a for a in args if a is not None), self._s(meta))

    def set_lit(self, meta: Any, *elems: Any) -> S.SetLit:
        return S.SetLit(tuple(e for e in elems if e is not None), self._s(meta))

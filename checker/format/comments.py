"""Where each comment of a spec goes when it is formatted.

The AST has no comments, so they are read from the token stream and attached to the
nearest list item around them: a top-level declaration, a statement in a block, or a
config setting. A comment on its own line leads the next item (or closes its block); a
comment after code trails the item that ends on its line; a comment on a block's `{` line
trails the `{`. A comment inside an item but not inside one of its blocks (for example in
the middle of a long expression) is moved to lead that item, except a comment after the `}`
of an `if` block, which stays there: the formatter never drops one.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from model import syntax as S
from model.parse import parser

Pos = tuple[int, int]
END: Pos = (1 << 30, 0)


@dataclass(frozen=True)
class Comment:
    line: int
    column: int
    text: str
    own_line: bool  # nothing but spaces before it on its line

    @property
    def pos(self) -> Pos:
        return (self.line, self.column)


@dataclass
class Block:
    """A brace-delimited list of items (or the whole file: no braces)."""

    key: tuple[int, str]
    open: Pos
    close: Pos
    items: Sequence[Any]

    @property
    def one_line(self) -> bool:
        return self.open[0] == self.close[0]


@dataclass
class Placement:
    leading: dict[int, list[Comment]] = field(default_factory=dict)  # id(item) -> comments before it
    trailing: dict[int, list[Comment]] = field(default_factory=dict)  # id(item) -> after it, same line
    head: dict[tuple[int, str], list[Comment]] = field(default_factory=dict)  # after a block's `{`
    tail: dict[tuple[int, str], list[Comment]] = field(default_factory=dict)  # before a block's `}`
    after: dict[tuple[int, str], list[Comment]] = field(default_factory=dict)  # after an if block's `}`
    blocks: dict[tuple[int, str], Block] = field(default_factory=dict)

    def in_block(self, key: tuple[int, str]) -> bool:
        """Whether any comment belongs inside the block (at any depth)."""
        return key in self.head or key in self.tail or self._items_have(self.blocks[key].items)

    def _items_have(self, items: Sequence[Any]) -> bool:
        for it in items:
            if id(it) in self.leading or id(it) in self.trailing:
                return True
            for b in self.children.get(id(it), ()):
                if self.in_block(b.key):
                    return True
        return False

    children: dict[int, list[Block]] = field(default_factory=dict)


class _Tokens:
    def __init__(self, source: str) -> None:
        self.pos: list[Pos] = []
        self.type: list[str] = []
        self.comments: list[Comment] = []
        depth: list[int] = []
        self.match: dict[Pos, Pos] = {}
        line_has_code: set[int] = set()
        for tok in parser().lex(source, dont_ignore=True):
            if tok.type == "WS":
                continue
            p = (tok.line or 0, tok.column or 0)
            if tok.type == "COMMENT":
                self.comments.append(Comment(p[0], p[1], str(tok).rstrip(), p[0] not in line_has_code))
                continue
            line_has_code.add(tok.end_line or p[0])
            self.pos.append(p)
            self.type.append(tok.type)
            if tok.type == "LBRACE":
                depth.append(len(self.pos) - 1)
            elif tok.type == "RBRACE" and depth:
                self.match[self.pos[depth.pop()]] = p

    def next_of(self, after: Pos, kind: str) -> Pos | None:
        i = bisect.bisect_left(self.pos, after)
        while i < len(self.pos):
            if self.type[i] == kind:
                return self.pos[i]
            i += 1
        return None

    def token_after(self, at: Pos) -> str | None:
        i = bisect.bisect_right(self.pos, at)
        return self.type[i] if i < len(self.pos) else None


def comment_texts(source: str) -> list[str]:
    """Every comment of a spec, in order."""
    return [c.text for c in _Tokens(source).comments]


def _start(node: Any) -> Pos:
    return (node.span.line, node.span.column)


def _end(node: Any) -> Pos:
    return (node.span.end_line, node.span.end_column)


def place(spec: S.SpecFile) -> Placement:
    toks = _Tokens(spec.source)
    pl = Placement()
    top = Block((0, "top"), (0, 0), END, spec.decls)
    pl.blocks[top.key] = top
    _index(top, toks, pl)
    for c in toks.comments:
        _put(c, top, pl)
    return pl


def _braced(key: tuple[int, str], after: Pos, items: Sequence[Any], toks: _Tokens) -> Block:
    open_ = toks.next_of(after, "LBRACE")
    if open_ is None or open_ not in toks.match:  # the parser accepted it, so this cannot happen
        raise AssertionError(f"no block after {after}")
    return Block(key, open_, toks.match[open_], items)


def _blocks_of(node: Any, toks: _Tokens) -> Iterator[Block]:
    if isinstance(node, S.ReplaceDecl):
        node = node.decl
    if isinstance(node, S.ActionDecl):
        after = _end(node.guard) if node.guard else _end(node.params[-1]) if node.params else _start(node)
        yield _braced((id(node), "body"), after, node.body, toks)
    elif isinstance(node, S.ExtendActionDecl):
        after = _end(node.guard) if node.guard else _start(node)
        open_ = toks.next_of(after, "LBRACE")
        if open_ is not None and open_ < _end(node):
            yield Block((id(node), "ext"), open_, toks.match[open_], ())
            for word, items in (("before", node.before), ("after", node.after)):
                at = toks.next_of(open_, word.upper())
                if at is not None and at < _end(node):
                    yield _braced((id(node), word), at, items, toks)
    elif isinstance(node, S.ConfigDecl):
        yield _braced((id(node), "body"), _start(node), node.settings, toks)
    elif isinstance(node, S.For):
        yield _braced((id(node), "body"), _end(node.type), node.body, toks)
    elif isinstance(node, S.If):
        then = _braced((id(node), "then"), _end(node.cond), node.then, toks)
        yield then
        if toks.token_after(then.close) == "ELSE":  # `else { }` too: it may hold comments
            else_ = toks.next_of(then.close, "ELSE")
            assert else_ is not None
            if toks.token_after(else_) == "LBRACE":
                yield _braced((id(node), "else"), else_, node.other, toks)
            else:  # `else if`: the nested statement without braces of its own
                yield Block((id(node), "else"), else_, _end(node), node.other)


def _index(block: Block, toks: _Tokens, pl: Placement) -> None:
    for it in block.items:
        kids = list(_blocks_of(it, toks))
        if kids:
            pl.children[id(it)] = kids
            for k in kids:
                pl.blocks[k.key] = k
                _index(k, toks, pl)


def _put(c: Comment, block: Block, pl: Placement) -> None:
    p = c.pos
    prev: Any = None
    for it in block.items:
        if _start(it) <= p < _end(it):
            kids = pl.children.get(id(it), [])
            for k in kids:
                if k.open < p < k.close and (k.items or k.key[1] != "ext"):  # not the clauses' braces
                    _put(c, k, pl)
                    return
            closed = [k for k in kids if k.close[0] == c.line and k.close < p]
            if closed and not c.own_line:  # `} # why` before an `else`
                pl.after.setdefault(closed[-1].key, []).append(c)
                return
            pl.leading.setdefault(id(it), []).append(c)  # inside the item: moved before it
            return
        if p < _start(it):
            if not c.own_line and prev is not None and _end(prev)[0] == c.line:
                pl.trailing.setdefault(id(prev), []).append(c)
            elif not c.own_line and prev is None and block.open[0] == c.line:
                pl.head.setdefault(block.key, []).append(c)
            else:
                pl.leading.setdefault(id(it), []).append(c)
            return
        prev = it
    if not c.own_line and prev is not None and _end(prev)[0] == c.line:
        pl.trailing.setdefault(id(prev), []).append(c)
    elif not c.own_line and prev is None and block.open[0] == c.line:
        pl.head.setdefault(block.key, []).append(c)
    else:
        pl.tail.setdefault(block.key, []).append(c)

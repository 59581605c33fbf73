"""A small Wadler/prettier-style document printer: text, line breaks that become spaces when
their group fits on the line, nesting, and trailing comments held until the line ends.

Groups are all-or-nothing: a group that does not fit breaks every one of its own lines, and
the printer then tries each inner group again. The result depends only on the document, so
formatting is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Union

Doc = Union[str, list["Doc"], "Line", "Group", "Nest", "IfBreak", "Fill", "Suffix"]  # noqa: UP007

# marks where a trailing comment starts in printed text; `align_comments` replaces it
COMMENT_MARK = "\x00"


@dataclass(frozen=True)
class Line:
    """A space (or nothing, when `flat` is empty) if its group fits, else a newline.
    A hard line is always a newline and breaks every enclosing group."""

    flat: str = " "
    hard: bool = False


SOFT = Line("")
LINE = Line(" ")
HARD = Line("", hard=True)


@dataclass
class Group:
    parts: Doc
    hard: bool = field(init=False)

    def __post_init__(self) -> None:
        self.hard = _has_hard(self.parts)


@dataclass(frozen=True)
class Nest:
    indent: int
    parts: Doc


@dataclass(frozen=True)
class IfBreak:
    broken: str
    flat: str


@dataclass(frozen=True)
class Fill:
    """Words separated by spaces, a newline only before a word that no longer fits."""

    words: Sequence[str]


@dataclass(frozen=True)
class Suffix:
    """A trailing comment: printed at the end of the current line."""

    text: str


def _has_hard(doc: Doc) -> bool:
    if isinstance(doc, list):
        return any(_has_hard(d) for d in doc)
    if isinstance(doc, Line):
        return doc.hard
    if isinstance(doc, Group):
        return doc.hard
    if isinstance(doc, Nest):
        return _has_hard(doc.parts)
    return False


_FLAT, _BREAK = 0, 1
_Cmd = tuple[int, int, Doc]


def render(doc: Doc, width: int) -> str:
    out: list[str] = []
    suffixes: list[str] = []
    col = 0
    stack: list[_Cmd] = [(0, _BREAK, doc)]

    def newline(indent: int) -> None:
        nonlocal col
        if suffixes:
            out.append(COMMENT_MARK + "  ".join(suffixes))
            suffixes.clear()
        out.append("\n" + " " * indent)
        col = indent

    while stack:
        indent, mode, d = stack.pop()
        if isinstance(d, str):
            out.append(d)
            col += len(d)
        elif isinstance(d, list):
            stack.extend((indent, mode, x) for x in reversed(d))
        elif isinstance(d, Nest):
            stack.append((indent + d.indent, mode, d.parts))
        elif isinstance(d, Group):
            flat = mode == _FLAT or (not d.hard and _fits(width - col, (indent, _FLAT, d.parts), stack))
            stack.append((indent, _FLAT if flat else _BREAK, d.parts))
        elif isinstance(d, Line):
            if mode == _FLAT and not d.hard:
                out.append(d.flat)
                col += len(d.flat)
            else:
                newline(indent)
        elif isinstance(d, IfBreak):
            s = d.flat if mode == _FLAT else d.broken
            out.append(s)
            col += len(s)
        elif isinstance(d, Fill):
            for i, w in enumerate(d.words):
                if i and mode == _BREAK and col + 1 + len(w) > width:
                    newline(indent)
                elif i:
                    out.append(" ")
                    col += 1
                out.append(w)
                col += len(w)
        elif isinstance(d, Suffix):
            suffixes.append(d.text)
    if suffixes:
        out.append(COMMENT_MARK + "  ".join(suffixes))
    # no trailing spaces (an empty line inside a nest would otherwise keep its indent)
    return "\n".join(line.rstrip() for line in "".join(out).split("\n"))


def _fits(room: int, first: _Cmd, rest: list[_Cmd]) -> bool:
    """Whether `first` printed flat, then what follows up to the next line break, fits."""
    todo: list[_Cmd] = [first]
    ri = len(rest)
    while room >= 0:
        if not todo:
            if ri == 0:
                return True
            ri -= 1
            todo.append(rest[ri])
            continue
        indent, mode, d = todo.pop()
        if isinstance(d, str):
            room -= len(d)
        elif isinstance(d, list):
            todo.extend((indent, mode, x) for x in reversed(d))
        elif isinstance(d, Nest):
            todo.append((indent, mode, d.parts))
        elif isinstance(d, Group):
            if mode == _FLAT and d.hard:
                return False
            todo.append((indent, mode if not d.hard else _BREAK, d.parts))
        elif isinstance(d, Line):
            if mode == _BREAK or d.hard:
                return True
            room -= len(d.flat)
        elif isinstance(d, IfBreak):
            room -= len(d.flat if mode == _FLAT else d.broken)
        elif isinstance(d, Fill):
            if mode == _BREAK:
                return room >= len(d.words[0]) if d.words else True
            room -= sum(len(w) for w in d.words) + max(len(d.words) - 1, 0)
    return False


def align_comments(text: str) -> str:
    """Trailing comments on consecutive lines start in one column, two spaces after the
    longest code among them."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if COMMENT_MARK not in lines[i]:
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < len(lines) and COMMENT_MARK in lines[j]:
            j += 1
        parts = [line.split(COMMENT_MARK, 1) for line in lines[i:j]]
        column = max(len(code.rstrip()) for code, _ in parts) + 2
        out += [code.rstrip().ljust(column) + comment for code, comment in parts]
        i = j
    return "\n".join(out)

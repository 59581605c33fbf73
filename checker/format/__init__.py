"""`plugcheck fmt`: one canonical layout for spec files (see `layout.py` for what is fixed and
what is kept from the source). Formatting parses first, so a file with a syntax error is
refused with the parser's own error; the result parses to the same AST (spans aside) and
formatting it again changes nothing. Every comment is kept (one inside an expression moves
before its declaration, see `comments.py`).
"""

from __future__ import annotations

from model.errors import Span, SpecError
from model.parse import parse_text

from .comments import comment_texts, place
from .doc import align_comments, render
from .layout import Layout

WIDTH = 110


def format_source(source: str, path: str = "<spec>") -> str:
    """The canonical text of a spec; SpecError if it does not parse."""
    spec = parse_text(source, path)
    placement = place(spec)
    text = align_comments(render(Layout(source, placement).file(placement.blocks[(0, "top")]), WIDTH))
    again = parse_text(text, path)
    if again.decls != spec.decls or sorted(comment_texts(text)) != sorted(comment_texts(source)):
        # a bug in the formatter, never in the spec: refuse rather than change the meaning
        raise SpecError("the formatter would change this spec (please report it); left unchanged", Span(path, 0, 0))
    return text.rstrip("\n") + "\n"

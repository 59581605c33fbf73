"""Spec errors: every problem with a spec carries its file, line and column."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A source position: 1-based line and column, as lark reports them."""

    file: str
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NOWHERE = Span("<builtin>", 0, 0)


@dataclass
class SpecError(Exception):
    """A parse, name, type or range error in a spec, printed as `file:line:col: message`."""

    message: str
    span: Span = NOWHERE
    source: str | None = None
    notes: list[tuple[str, Span | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.render()

    def with_note(self, text: str, span: Span | None = None) -> SpecError:
        self.notes.append((text, span))
        return self

    def render(self) -> str:
        out = (
            [f"{self.span}: error: {self.message}"] if self.span.line else [f"{self.span.file}: error: {self.message}"]
        )
        out += _excerpt(self.source, self.span)
        for text, span in self.notes:
            out.append(f"{span}: note: {text}" if span and span.line else f"note: {text}")
        return "\n".join(out)


def _excerpt(source: str | None, span: Span) -> list[str]:
    if source is None or span.line <= 0:
        return []
    lines = source.splitlines()
    if span.line > len(lines):
        return []
    text = lines[span.line - 1].expandtabs(1)
    width = 1
    if span.end_line == span.line and span.end_column > span.column:
        width = span.end_column - span.column
    gutter = f"{span.line:>4} | "
    return [gutter + text, " " * (len(gutter) + span.column - 1) + "^" * width]

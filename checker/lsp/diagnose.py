"""Every error of a spec the front end can report, not only the first.

The front end stops at its first error, so recovery works on the text: the declaration the
error is in (for a syntax error: from the last line that starts a declaration at column 1
up to the next one; for a name, type or `replace` error: the top-level declaration whose
span holds it) is blanked out, keeping line and column numbers, and the whole text is read
again. Errors that only follow from a blanked declaration (a name it defined is now
"not defined") are not reported. An error inside a file the spec extends is reported once,
on the `extends` line, and ends the search, as does an `extends` that cannot be followed.
Each message is the front end's own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from model import Spec, SpecError, build_model, config_names, spec_from_text
from model import syntax as S
from model import typed as T
from model.errors import Span
from model.ground import ground
from model.parse import declaration_keywords, parse_text

MAX_ERRORS = 25
_DECL_START = re.compile(rf"({'|'.join(declaration_keywords())})\b")
_UNDEFINED = re.compile(r"not defined|^unknown |no property|has no ")


@dataclass
class Problem:
    span: Span  # where to show it: always in the document's own file
    message: str
    notes: list[tuple[str, Span | None]] = field(default_factory=list)


@dataclass
class Analysis:
    path: str
    text: str
    problems: list[Problem]
    spec: Spec | None  # the merged spec (with the failing declarations left out), if any part parsed
    models: dict[str, T.Model]  # config name -> typed model, for every config that type-checks


def analyse(text: str, path: str) -> Analysis:
    problems: list[Problem] = []
    seen: set[tuple[int, int, str]] = set()
    dropped: set[str] = set()  # identifiers of blanked declarations
    current = text
    spec: Spec | None = None
    models: dict[str, T.Model] = {}

    def report(err: SpecError, at: Span | None = None, message: str | None = None) -> None:
        span = at or err.span
        key = (span.line, span.column, message or err.message)
        if key not in seen:
            seen.add(key)
            notes = list(err.notes)
            if at is not None:
                notes.insert(0, (err.message, err.span))
            problems.append(Problem(span, message or err.message, notes))

    for _ in range(MAX_ERRORS):
        try:
            spec = spec_from_text(current, path)
            model = build_model(spec)
            ground(model)
            models["default"] = model
            break
        except SpecError as err:
            spec = None
            if err.span.file not in (path, "") and err.span.line:
                _report_in_parent(err, current, path, report)
                break
            if dropped and _cascade(err, dropped):
                pass
            elif err.message.startswith("the spec is empty") and current != text:
                break  # everything was blanked
            else:
                report(err, Span(path, 1, 1) if not err.span.line else None)
            region = _region(err, current, path)
            if region is None or current.splitlines()[region[0] - 1].startswith("extends"):
                break  # without its parent the rest of a spec would only repeat "not defined"
            dropped |= set(re.findall(r"[A-Za-z_]\w*", "\n".join(current.splitlines()[region[0] - 1 : region[1]])))
            blanked = _blank(current, *region)
            if blanked == current:
                break
            current = blanked
    if spec is None:
        spec = _parsed_only(current, path)
    elif "default" in models:
        for cfg in config_names(spec)[1:]:
            try:
                models[cfg] = build_model(spec, cfg)
            except SpecError as err:
                if err.span.file == path and err.span.line:
                    report(err)
    problems.sort(key=lambda p: (p.span.line, p.span.column))
    return Analysis(path, text, problems, spec, models)


def _cascade(err: SpecError, dropped: set[str]) -> bool:
    """An error that names something a blanked declaration defined."""
    return bool(_UNDEFINED.search(err.message)) and any(n in dropped for n in re.findall(r"`(\w+)`", err.message))


def _report_in_parent(err: SpecError, current: str, path: str, report: Callable[[SpecError, Span, str], None]) -> None:
    try:
        f = parse_text(current, path)
    except SpecError:
        return
    ext = next((d for d in f.decls if isinstance(d, S.ExtendsDecl)), None)
    at = ext.span if ext is not None else Span(path, 1, 1)
    report(err, at, f"{err.span}: error: {err.message}")


def _region(err: SpecError, text: str, path: str) -> tuple[int, int] | None:
    """The lines (first, last; 1-based, inclusive) of the declaration the error is in."""
    lines = text.splitlines()
    if not lines or err.span.file != path:
        return None
    try:
        f = parse_text(text, path)
    except SpecError:
        f = None
    line = err.span.line or 1
    if f is not None:  # it parses: a name, type or replace error in one declaration
        for d in f.decls:
            if d.span.line <= line <= (d.span.end_line or d.span.line):
                return d.span.line, d.span.end_line or d.span.line
        return None
    # a syntax error: the parser stopped at `line` (or later, for a `{` never closed)
    stop = max([line] + [s.line for _, s in err.notes if s is not None and s.file == path])
    starts = [i + 1 for i, t in enumerate(lines) if _DECL_START.match(t)]
    before = [s for s in starts if s <= line]
    first = before[-1] if before else 1
    if first == line and err.span.column == 1 and len(before) > 1:
        first = before[-2]  # it stopped at the next declaration's keyword: the previous one is unfinished
        stop = line - 1
    after = [s for s in starts if s > stop]
    last = after[0] - 1 if after else len(lines)
    return first, max(first, last)


def _blank(text: str, first: int, last: int) -> str:
    lines = text.split("\n")
    for i in range(first - 1, min(last, len(lines))):
        lines[i] = " " * len(lines[i])
    return "\n".join(lines)


def _parsed_only(text: str, path: str) -> Spec | None:
    """The document's own declarations when the chain cannot be merged (for the outline)."""
    try:
        f = parse_text(text, path)
    except SpecError:
        return None
    return Spec(f.path, f.source, list(f.decls), {f.path: f.source})

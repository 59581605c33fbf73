"""Terminal rendering with rich: result tables, and counterexample traces that show
only what changed at each step, bitmaps as one cell per subblock."""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from model import typed as T
from model.domains import ArrayT, BitmapT, EnumT, Type, index_label

from .results import HOLDS, INCONCLUSIVE, PROVED, VIOLATED, PropertyResult, RunResult, Trace

SET, CLEAR = "█", "·"
_STATUS_STYLE = {HOLDS: "green", PROVED: "green", VIOLATED: "red", INCONCLUSIVE: "yellow"}


def status_text(p: PropertyResult) -> Text:
    word = p.status
    if p.expected == "violated" and p.status == VIOLATED:
        return Text("violated (expected)", style="green")
    if p.expected == "violated" and p.status in (HOLDS, PROVED):
        return Text(f"{word} (expected a violation)", style="red")
    if p.kind == "reachable" and p.status == HOLDS:
        return Text("reached", style="green")
    if p.bound is not None and p.status == INCONCLUSIVE:
        word = f"inconclusive (depth {p.bound})"
    return Text(word, style=_STATUS_STYLE.get(p.status, ""))


def result_table(r: RunResult) -> Table:
    t = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    t.add_column("property", overflow="fold")
    t.add_column("kind")
    t.add_column("verdict", overflow="fold")
    t.add_column("note", overflow="fold")
    for p in r.properties:
        note = p.message if p.status != HOLDS or p.kind == "reachable" else ""
        if p.trace is not None and p.status == VIOLATED:
            note = f"trace of {steps(len(p.trace))}"
            if p.trace.loop is not None:
                note += f", loop back to step {p.trace.loop}"
        t.add_row(p.name, p.kind, status_text(p), escape(note))
    return t


def stats_line(r: RunResult) -> str:
    if r.engine != "explicit":  # the symbolic engines enumerate no states
        s = f"depth {r.depth}, {r.seconds:.2f} s, peak {r.peak_mb:,.0f} MB"
    else:
        rate = f", {r.states_per_second:,.0f} states/s" if r.seconds > 0.05 else ""
        s = (
            f"{plural(r.states, 'state')}, {plural(r.transitions, 'transition')}, depth {r.depth}, "
            f"{r.seconds:.2f} s{rate}, peak {r.peak_mb:,.0f} MB"
        )
    if r.stopped:
        s += f" — stopped: {r.stopped}"
    return s


# ---- traces
LEGEND = "█ set, · clear, + set by this step, - cleared by this step; bit 0 on the left"


def _bits(width: int, before: Any, after: Any) -> Text:
    """A bitmap as cells; bits that changed are marked + (set) or - (cleared) and coloured.
    Wide bitmaps are grouped by 8 cells, so a table wraps them between groups."""
    t = Text()
    b = set(before) if before is not None else None
    a = set(after)
    for i in range(width):
        if i and i % 8 == 0 and width > 16:
            t.append(" ")
        if b is not None and (i in a) != (i in b):
            t.append("+" if i in a else "-", style="bold green" if i in a else "bold red")
        else:
            t.append(SET if i in a else CLEAR)
    return t


def ruler(width: int) -> str:
    """Which bits each group of 8 cells holds (`_bits` layout): `0-7, 8-15, ..., 56-63`."""
    groups = [f"{i}-{min(i + 7, width - 1)}" for i in range(0, width, 8)]
    return ", ".join(groups) if len(groups) <= 3 else f"{groups[0]}, {groups[1]}, ..., {groups[-1]}"


def _scalar(ty: Type, v: Any) -> Text:
    if isinstance(ty, BitmapT):
        return _bits(ty.width or 0, None, v)
    if isinstance(v, bool):
        return Text("true" if v else "false")
    return Text(str(v))


def _leaf_changes(name: str, ty: Type, before: Any, after: Any) -> list[tuple[str, Text, Text]]:
    """(leaf name, old, new) for every changed leaf; arrays unrolled."""
    if isinstance(ty, ArrayT):
        out = []
        for i, (x, y) in enumerate(zip(before if before is not None else [None] * len(after), after, strict=True)):
            out += _leaf_changes(f"{name}[{index_label(ty.index, i)}]", ty.elem, x, y)
        return out
    if before == after:
        return []
    if isinstance(ty, BitmapT):
        old = _bits(ty.width or 0, None, before) if before is not None else Text("")
        return [(name, old, _bits(ty.width or 0, before, after))]
    return [(name, _scalar(ty, before) if before is not None else Text(""), _scalar(ty, after))]


def _widest_bitmap(ty: Type) -> int:
    while isinstance(ty, ArrayT):
        ty = ty.elem
    return (ty.width or 0) if isinstance(ty, BitmapT) else 0


def _initial_rows(model: T.Model, trace: Trace, full: bool) -> list[tuple[str, Text, Text]]:
    """The initial state: every leaf with `full`, else only the variables whose initial value
    was chosen (`= any`) and one line for the rest (their declared values; every later change
    shows its old value anyway)."""
    first = trace.steps[0].state
    rows: list[tuple[str, Text, Text]] = []
    rest = 0
    for v in model.vars:
        if v.name not in first:
            continue
        if full or v.any_init:
            rows += _leaf_changes(v.name, v.ty, None, first[v.name])
        else:
            rest += 1
    if rest:
        # short, so the variable column stays narrow; -v prints every initial value
        what = f"(all {rest} as declared)" if not rows else f"({rest} more as declared)"
        rows.append((what, Text(""), Text("")))
    return rows


def trace_table(model: T.Model, trace: Trace, title: str = "", full_initial: bool = False) -> Table:
    t = Table(title=title or None, title_justify="left", show_lines=False, header_style="bold")
    t.add_column("#", justify="right", no_wrap=True)
    t.add_column("action", overflow="fold")
    t.add_column("variable", overflow="fold")
    t.add_column("before", overflow="fold")
    t.add_column("after", overflow="fold")
    types = {v.name: v.ty for v in model.vars}
    prev: dict[str, Any] | None = None
    for n, st in enumerate(trace.steps):
        label = st.label
        if trace.loop is not None and n == trace.loop:
            label = "⟲ loop starts here: " + label
        rows: list[tuple[str, Text, Text]] = []
        if prev is None:
            rows = _initial_rows(model, trace, full_initial)
        else:
            for var, val in st.state.items():
                ty = types.get(var)
                if ty is not None:
                    rows += _leaf_changes(var, ty, prev[var], val)
        if not rows:
            rows = [("", Text("(no change)", style="dim"), Text(""))]
        for k, (leaf, old, new) in enumerate(rows):
            mark = Text("→ ") + new if prev is not None and old.plain != "" else new
            t.add_row(str(n) if k == 0 else "", escape(label) if k == 0 else "", leaf, old, mark)
        prev = st.state
    if trace.loop is not None:
        last = len(trace.steps) - 1
        # a lasso's last state is the state of step `loop` again; a loop on the last step is a deadlock
        end = (
            f"⟲ no action is enabled: step {last} repeats forever"
            if trace.loop == last
            else f"⟲ back to step {trace.loop}: steps {trace.loop + 1}..{last} repeat forever"
        )
        t.add_row("", Text(end, style="bold yellow"), "", Text(""), Text(""))
    return t


def legend(model: T.Model) -> Text | None:
    """What the bitmap cells mean, with a bit-number ruler when some bitmap is over 16 bits."""
    widest = max((_widest_bitmap(v.ty) for v in model.vars), default=0)
    if not widest:
        return None
    text = Text(LEGEND, style="dim")
    if widest > 16:
        text.append(f"; groups of 8 bits ({ruler(widest)})", style="dim")
    return text


def property_source(model: T.Model, p: PropertyResult) -> Syntax | None:
    if p.span is None or not p.span.line:
        return None
    src = model.sources.get(p.span.file, model.source)
    lines = src.splitlines()
    end = p.span.end_line if p.span.end_line >= p.span.line else p.span.line
    code = "\n".join(lines[p.span.line - 1 : min(end, p.span.line + 5)])
    return Syntax(
        code,
        "python",
        line_numbers=True,
        start_line=p.span.line,
        word_wrap=True,
        theme="ansi_dark",
        background_color="default",
    )


def violation(model: T.Model, p: PropertyResult, full_initial: bool = False) -> Group:
    """A counterexample (or witness): the trace table, the bitmap legend, the property with
    its source, and for an invariant why it is false in the last state."""
    parts: list[Any] = []
    assert p.trace is not None
    head = "Counterexample" if p.kind != "reachable" else "Witness"
    parts.append(trace_table(model, p.trace, f"{head}: {p.name} ({p.kind}), {steps(len(p.trace))}", full_initial))
    key = legend(model)
    if key is not None:
        parts.append(key)
    where = f" at {p.span}" if p.span is not None and p.span.line else ""
    parts.append(Text(f"{p.message or p.name}{where}", style="bold red" if p.status == VIOLATED else "bold"))
    src = property_source(model, p)
    if src is not None:
        parts.append(src)
    why = why_text(model, p)
    if why:
        parts.append(Text(why, style="bold"))
    return Group(*parts)


def why_text(model: T.Model, p: PropertyResult) -> str:
    """Why a violated invariant is false in the trace's last state ('' for other kinds)."""
    if p.status != VIOLATED or p.kind != "invariant" or p.trace is None:
        return ""
    from .explain import explain_last

    why = explain_last(model, p.name, p.trace.steps)
    return why.text() if why is not None else ""


def plural(n: int, word: str, many: str = "") -> str:
    """`1 step`, `2 steps`, `1,200 states`."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def steps(n: int) -> str:
    return plural(n, "step")


def enum_name(ty: EnumT, i: int) -> str:
    return ty.members[i]


def make_console(stderr: bool = False, force_plain: bool = False, width: int | None = None) -> Console:
    """`width` (`--width N`) wins; else a terminal's width, COLUMNS, or 120 columns for logs and
    pipes (rather than rich's 80). Tables wrap their cells to fit, they never cut them."""
    stream = sys.stderr if stderr else sys.stdout
    if width is None and not stream.isatty() and not os.environ.get("COLUMNS"):
        width = 120
    return Console(
        stderr=stderr,
        highlight=False,
        no_color=force_plain or None,
        soft_wrap=False,
        width=width,
    )


# ---- streams that cannot encode the glyphs (PYTHONIOENCODING=ascii, a latin-1 terminal)
# one character each, so tables rich measured in glyphs stay aligned
ASCII_GLYPHS = {SET: "#", CLEAR: ".", "→": ">", "⟲": "@", "—": "-", "…": "~", "×": "x", "≤": "<", "≥": ">"}


def _ascii_replace(err: UnicodeError) -> tuple[str, int]:
    """A codec error handler: glyphs as ASCII look-alikes, box drawing as - | +, else ?."""
    import unicodedata

    assert isinstance(err, UnicodeEncodeError)
    out = []
    for ch in err.object[err.start : err.end]:
        name = unicodedata.name(ch, "")
        if ch in ASCII_GLYPHS:
            out.append(ASCII_GLYPHS[ch])
        elif "BOX DRAWINGS" in name:
            out.append("-" if "HORIZONTAL" in name else "|" if "VERTICAL" in name else "+")
        else:
            out.append("?")
    return "".join(out), err.end


def ascii_fallback(stream: Any) -> None:
    """Let `stream` print every glyph: those its encoding lacks become ASCII look-alikes."""
    import codecs

    try:
        "█─→⟲".encode(stream.encoding or "utf-8")
        return
    except (UnicodeEncodeError, LookupError, AttributeError):
        pass
    codecs.register_error("plugcheck-ascii", _ascii_replace)
    try:
        stream.reconfigure(errors="plugcheck-ascii")
    except (AttributeError, ValueError):
        pass

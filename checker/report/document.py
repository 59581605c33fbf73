"""report.md (and what report.html shares with it, `html.py`): what a person opens after a
CI run. Per spec and config: the verdict table, state counts, time, engine, action
coverage, and each counterexample as a table (one row per step, one column per state leaf
that changes) with the changed values highlighted, and marked `→` so they stand out
without colour too."""

from __future__ import annotations

from typing import Any

from model import typed as T
from model.domains import ArrayT, BitmapT, Type, index_label

from .. import __version__
from ..explain import cells
from ..render import plural, status_text, steps, why_text
from ..results import VIOLATED, PropertyResult, RunResult, Trace
from . import Checked, ReportData

EXIT_WORDS = {0: "every property holds", 1: "a property is violated", 2: "errors in the specs", 3: "inconclusive"}
STATS = ("engine", "states", "transitions", "depth", "time", "peak memory", "stopped")
COVERAGE = ("action", "instances", "fired", "enabled in states", "transitions")
PROPS = ("property", "kind", "verdict", "note")
LEGEND = (
    "Changed values are bold and marked →; bitmaps show one cell per bit (█ set, · clear), bit 0 on the left,"
    " in groups of 8 when wider than 16."
)


def _stats(r: RunResult) -> list[str]:
    counted = r.engine == "explicit"  # the symbolic engines enumerate no states
    return [
        r.engine,
        f"{r.states:,}" if counted else "—",
        f"{r.transitions:,}" if counted else "—",
        str(r.depth),
        f"{r.seconds:.2f} s",
        f"{r.peak_mb:.0f} MB",
        str(r.stopped) if r.stopped is not None else "—",
    ]


def _prop_rows(r: RunResult, traces: dict[tuple[int, str], str], c: Checked) -> list[list[str]]:
    rows = []
    for p in r.properties:
        note = p.message if p.status != "holds" or p.kind == "reachable" else ""
        if (id(c), p.name) in traces:
            note = f"trace of {steps(len(p.trace or []))}: {traces[(id(c), p.name)]}"
        rows.append([p.name, p.kind, status_text(p).plain, note])
    return rows


def _coverage_rows(r: RunResult) -> list[list[str]]:
    return [
        [c.action, str(c.instances), str(c.fired), f"{c.enabled_states:,}", f"{c.transitions:,}"] for c in r.coverage
    ]


def _leaves(name: str, ty: Type, v: Any) -> list[tuple[str, str]]:
    if isinstance(ty, ArrayT):
        out = []
        for i, x in enumerate(v):
            out += _leaves(f"{name}[{index_label(ty.index, i)}]", ty.elem, x)
        return out
    if isinstance(ty, BitmapT):
        return [(name, cells(ty.width or 0, sum(1 << i for i in v)))]
    if isinstance(v, bool):
        return [(name, "true" if v else "false")]
    return [(name, str(v))]


def trace_grid(model: T.Model, trace: Trace) -> tuple[list[str], list[tuple[int, str, list[tuple[str, bool]]]]]:
    """Columns (the leaves that change somewhere in the trace) and rows (step, action,
    [(value, changed)])."""
    types = {v.name: v.ty for v in model.vars}
    flat = []
    for st in trace.steps:
        leaves: list[tuple[str, str]] = []
        for var, val in st.state.items():
            if var in types:
                leaves += _leaves(var, types[var], val)
        flat.append(dict(leaves))
    names = list(flat[0])
    cols = [n for n in names if any(f[n] != flat[0][n] for f in flat)] or names
    rows = []
    for i, (st, f) in enumerate(zip(trace.steps, flat, strict=True)):
        label = st.label
        if trace.loop is not None and i == trace.loop:
            label += " ⟲ loop starts"
        cells = [(f[n], i > 0 and f[n] != flat[i - 1][n]) for n in cols]
        rows.append((i, label, cells))
    return cols, rows


def _heading(p: PropertyResult) -> str:
    head = "Counterexample" if p.status == VIOLATED else "Witness"
    return f"{head}: {p.name} ({p.kind}), {steps(len(p.trace or []))}"


def _where(p: PropertyResult) -> str:
    return f" at {p.span}" if p.span is not None and p.span.line else ""


def _totals(data: ReportData) -> str:
    n = {v: sum(1 for c in data.checked if c.result.verdict == v) for v in ("pass", "fail", "inconclusive")}
    return (
        f"plugcheck {__version__} · exit code {data.exit_code} ({EXIT_WORDS.get(data.exit_code, '?')}) · "
        f"{plural(len(data.checked), 'configuration')}: "
        f"{n['pass']} pass, {n['fail']} fail, {n['inconclusive']} inconclusive"
    )


# ---- Markdown
def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _md_table(head: tuple[str, ...] | list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(_md_cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return out + [""]


Pictures = dict[int, list[tuple[str, str]]]  # per checked result: (SVG file, caption)


def markdown(data: ReportData, traces: dict[tuple[int, str], str], pictures: Pictures | None = None) -> str:
    out = ["# plugcheck report", "", _totals(data), ""]
    overview = [
        [
            c.result.spec,
            c.result.config,
            c.result.verdict.upper(),
            c.result.engine,
            _stats(c.result)[1],
            f"{c.result.seconds:.2f} s",
        ]
        for c in data.checked
    ]
    out += _md_table(("spec", "config", "verdict", "engine", "states", "time"), overview)
    for c in data.checked:
        r = c.result
        consts = " ".join(f"{k}={v}" for k, v in r.constants.items())
        out += [f"## {r.spec} [{r.config}]: {r.verdict.upper()}", "", f"Constants: {consts}", ""]
        out += _md_table(STATS, [_stats(r)])
        out += _md_table(PROPS, _prop_rows(r, traces, c))
        out += [f"- warning: {w}" for w in r.warnings] + ([""] if r.warnings else [])
        out += ["**Action coverage**", ""] + _md_table(COVERAGE, _coverage_rows(r))
        for src, caption in (pictures or {}).get(id(c), []):
            out += [f"![{caption}]({src})", ""]
        for p in r.properties:
            if (id(c), p.name) not in traces or p.trace is None:
                continue
            out += [
                f"### {_heading(p)}",
                "",
                f"{p.message or p.name}{_where(p)}. ITF trace: `{traces[(id(c), p.name)]}`",
                "",
            ]
            why = why_text(c.model, p)
            if why:
                out += ["```", why, "```", ""]
            cols, rows = trace_grid(c.model, p.trace)
            md_rows = [[str(i), lab] + [f"**→ {v}**" if ch else v for v, ch in cells] for i, lab, cells in rows]
            out += _md_table(["#", "action", *cols], md_rows)
            out += [LEGEND, ""]
    if data.skipped:
        out += ["## Skipped", ""] + _md_table(
            ("spec", "config", "reason"), [[s.spec, s.config, s.reason] for s in data.skipped]
        )
    if data.errors:
        out += ["## Errors", ""]
        for err in data.errors:
            out += ["```", err.render(), "```", ""]
    return "\n".join(out).rstrip() + "\n"

"""report.md and report.html: what a person opens after a CI run. Per spec and config: the
verdict table, state counts, time, engine, action coverage, and each counterexample as a
table (one row per step, one column per state leaf that changes) with the changed values
highlighted, and marked `→` so they stand out without colour too."""

from __future__ import annotations

import html as H
from typing import Any

from model import typed as T
from model.domains import ArrayT, BitmapT, Type, index_label

from .. import __version__
from ..render import CLEAR, SET, status_text
from ..results import VIOLATED, PropertyResult, RunResult, Trace
from . import Checked, ReportData

EXIT_WORDS = {0: "every property holds", 1: "a property is violated", 2: "errors in the specs", 3: "inconclusive"}
STATS = ("engine", "states", "transitions", "depth", "time", "peak memory", "stopped")
COVERAGE = ("action", "instances", "fired", "enabled in states", "transitions")
PROPS = ("property", "kind", "verdict", "note")


def _stats(r: RunResult) -> list[str]:
    return [
        r.engine,
        f"{r.states:,}",
        f"{r.transitions:,}",
        str(r.depth),
        f"{r.seconds:.2f} s",
        f"{r.peak_mb:.0f} MB",
        r.stopped or "—",
    ]


def _prop_rows(r: RunResult, traces: dict[tuple[int, str], str], c: Checked) -> list[list[str]]:
    rows = []
    for p in r.properties:
        note = p.message if p.status != "holds" or p.kind == "reachable" else ""
        if (id(c), p.name) in traces:
            note = f"trace of {len(p.trace or [])} steps: {traces[(id(c), p.name)]}"
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
        bits = set(v)
        return [(name, "".join(SET if i in bits else CLEAR for i in range(ty.width or 0)))]
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
    return f"{head}: {p.name} ({p.kind}), {len(p.trace or [])} steps"


def _where(p: PropertyResult) -> str:
    return f" at {p.span}" if p.span is not None and p.span.line else ""


def _totals(data: ReportData) -> str:
    n = {v: sum(1 for c in data.checked if c.result.verdict == v) for v in ("pass", "fail", "inconclusive")}
    return (
        f"plugcheck {__version__} · exit code {data.exit_code} ({EXIT_WORDS.get(data.exit_code, '?')}) · "
        f"{len(data.checked)} configurations: {n['pass']} pass, {n['fail']} fail, {n['inconclusive']} inconclusive"
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
            f"{c.result.states:,}",
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
            cols, rows = trace_grid(c.model, p.trace)
            md_rows = [[str(i), lab] + [f"**→ {v}**" if ch else v for v, ch in cells] for i, lab, cells in rows]
            out += _md_table(["#", "action", *cols], md_rows)
            out += ["Changed values are bold and marked →; bitmaps show one cell per bit (█ set, · clear).", ""]
    if data.skipped:
        out += ["## Skipped", ""] + _md_table(
            ("spec", "config", "reason"), [[s.spec, s.config, s.reason] for s in data.skipped]
        )
    if data.errors:
        out += ["## Errors", ""]
        for e in data.errors:
            out += ["```", e, "```", ""]
    return "\n".join(out).rstrip() + "\n"


# ---- HTML
CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #ccc;padding:.2em .6em;text-align:left}
th{background:#f3f3f3}td.num{text-align:right}.pass{color:#176f2c}.fail{color:#b00020}.inconclusive{color:#8a6d00}
td.changed{background:#fff3b0;font-weight:bold}code,td.v{font-family:ui-monospace,monospace}
pre{background:#f6f6f6;padding:.6em}"""


def _h_table(head: tuple[str, ...] | list[str], rows: list[list[str]], raw: bool = False) -> str:
    th = "".join(f"<th>{H.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(c if raw else f"<td>{H.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def html(data: ReportData, traces: dict[tuple[int, str], str], pictures: Pictures | None = None) -> str:
    e = H.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>plugcheck report</title>',
        f"<style>{CSS}</style></head><body>",
        "<h1>plugcheck report</h1>",
        f"<p>{e(_totals(data))}</p>",
    ]
    overview = [
        [
            f"<td>{e(c.result.spec)}</td>",
            f"<td>{e(c.result.config)}</td>",
            f'<td class="{c.result.verdict}">{c.result.verdict.upper()}</td>',
            f"<td>{e(c.result.engine)}</td>",
            f'<td class="num">{c.result.states:,}</td>',
            f'<td class="num">{c.result.seconds:.2f} s</td>',
        ]
        for c in data.checked
    ]
    parts.append(_h_table(("spec", "config", "verdict", "engine", "states", "time"), overview, raw=True))
    for c in data.checked:
        r = c.result
        consts = " ".join(f"{k}={v}" for k, v in r.constants.items())
        parts.append(f'<h2>{e(r.spec)} [{e(r.config)}]: <span class="{r.verdict}">{r.verdict.upper()}</span></h2>')
        parts.append(f"<p>Constants: <code>{e(consts)}</code></p>")
        parts.append(_h_table(STATS, [_stats(r)]))
        parts.append(_h_table(PROPS, _prop_rows(r, traces, c)))
        parts += [f"<p>warning: {e(w)}</p>" for w in r.warnings]
        parts.append("<h3>Action coverage</h3>" + _h_table(COVERAGE, _coverage_rows(r)))
        for src, caption in (pictures or {}).get(id(c), []):
            s, cap = H.escape(src), H.escape(caption)
            parts.append(
                f'<h3>Picture: {cap}</h3><p><a href="{s}"><img src="{s}" alt="{cap}" style="max-width:100%"></a></p>'
            )
        for p in r.properties:
            if (id(c), p.name) not in traces or p.trace is None:
                continue
            parts.append(f"<h3>{e(_heading(p))}</h3>")
            parts.append(
                f"<p>{e(p.message or p.name)}{e(_where(p))}. ITF trace: <code>{e(traces[(id(c), p.name)])}</code></p>"
            )
            cols, rows = trace_grid(c.model, p.trace)
            h_rows = [
                [f'<td class="num">{i}</td>', f"<td>{e(lab)}</td>"]
                + [f'<td class="v changed">→ {e(v)}</td>' if ch else f'<td class="v">{e(v)}</td>' for v, ch in cells]
                for i, lab, cells in rows
            ]
            parts.append(_h_table(["#", "action", *cols], h_rows, raw=True))
    if data.skipped:
        parts.append(
            "<h2>Skipped</h2>"
            + _h_table(("spec", "config", "reason"), [[s.spec, s.config, s.reason] for s in data.skipped])
        )
    if data.errors:
        parts.append("<h2>Errors</h2>" + "".join(f"<pre>{e(x)}</pre>" for x in data.errors))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"

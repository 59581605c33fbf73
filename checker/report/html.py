"""report.html: the same content as report.md for a browser. A table of contents grouped
by spec, with a link to every configuration and every counterexample (the failures listed
first); trace tables scroll sideways inside their own box with the step number and the
action pinned on the left and the header on top, so a wide trace stays readable. No
scripts, no external files except the optional state-graph SVGs."""

from __future__ import annotations

import html as H
import re

from ..results import PropertyResult
from . import Checked, ReportData
from .document import (
    COVERAGE,
    LEGEND,
    PROPS,
    STATS,
    Pictures,
    _coverage_rows,
    _heading,
    _prop_rows,
    _stats,
    _totals,
    _where,
    trace_grid,
)

CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:100%}
table{border-collapse:separate;border-spacing:0;margin:.5em 0 1em}
th,td{border:1px solid #ccc;padding:.2em .6em;text-align:left}
th{background:#f3f3f3}td.num{text-align:right}.pass{color:#176f2c}.fail{color:#b00020}.inconclusive{color:#8a6d00}
td.changed{background:#fff3b0;font-weight:bold}code,td.v{font-family:ui-monospace,monospace}td.v{white-space:nowrap}
pre{background:#f6f6f6;padding:.6em;white-space:pre-wrap}
nav#contents{background:#f8f8f8;border:1px solid #ddd;padding:.4em 1em;margin:1em 0}
nav#contents ul{margin:.2em 0;padding-left:1.4em}
div.trace{overflow:auto;max-width:100%;max-height:80vh;border:1px solid #ddd;margin:.5em 0 1em}
div.trace table{margin:0}
div.trace thead th{position:sticky;top:0;z-index:2}
div.trace .step{position:sticky;left:0;z-index:1;background:#fff;min-width:2.5em;max-width:2.5em;width:2.5em}
div.trace .act{position:sticky;left:4.1em;z-index:1;background:#fff;min-width:10em;white-space:nowrap}
div.trace thead .step,div.trace thead .act{z-index:3;background:#f3f3f3}"""


def anchor(*parts: str) -> str:
    """An id from spec, config and property names: letters, digits, - and _ only."""
    return "-".join(re.sub(r"[^A-Za-z0-9_]+", "_", p).strip("_") or "x" for p in parts)


def _config_id(c: Checked) -> str:
    return anchor("c", c.result.spec, c.result.config)


def _trace_id(c: Checked, p: PropertyResult) -> str:
    return anchor("t", c.result.spec, c.result.config, p.name)


def _table(head: tuple[str, ...] | list[str], rows: list[list[str]], raw: bool = False) -> str:
    th = "".join(f"<th>{H.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(c if raw else f"<td>{H.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _contents(data: ReportData, traces: dict[tuple[int, str], str]) -> str:
    """Failures first (each a link to its trace or its config), then every spec with its configs
    and their counterexamples."""
    e = H.escape
    failures = []
    for c in data.checked:
        for p in c.result.properties:
            if p.passed is False:
                target = _trace_id(c, p) if (id(c), p.name) in traces else _config_id(c)
                failures.append(
                    f'<li class="fail"><a href="#{target}">{e(c.result.spec)} [{e(c.result.config)}]: '
                    f"{e(p.name)} ({e(p.kind)}) {e(p.status)}</a></li>"
                )
    out = ['<nav id="contents"><strong>Contents</strong>']
    if failures:
        out.append(f'<p class="fail">Not as expected ({len(failures)}):</p><ul>{"".join(failures)}</ul>')
    specs: dict[str, list[Checked]] = {}
    for c in data.checked:
        specs.setdefault(c.result.spec, []).append(c)
    out.append("<ul>")
    for spec, checked in specs.items():
        out.append(f'<li><a href="#{anchor("s", spec)}">{e(spec)}</a><ul>')
        for c in checked:
            r = c.result
            links = [
                f'<a href="#{_trace_id(c, p)}">{e(p.name)}</a>'
                for p in r.properties
                if (id(c), p.name) in traces and p.trace is not None
            ]
            more = f" — traces: {', '.join(links)}" if links else ""
            out.append(
                f'<li><a href="#{_config_id(c)}">[{e(r.config)}]</a> '
                f'<span class="{r.verdict}">{r.verdict.upper()}</span>{more}</li>'
            )
        out.append("</ul></li>")
    if data.skipped:
        out.append('<li><a href="#skipped">Skipped</a></li>')
    if data.errors:
        out.append('<li><a href="#errors" class="fail">Errors</a></li>')
    out.append("</ul></nav>")
    return "".join(out)


def _trace_table(c: Checked, p: PropertyResult) -> str:
    e = H.escape
    assert p.trace is not None
    cols, rows = trace_grid(c.model, p.trace)
    head = '<th class="step">#</th><th class="act">action</th>' + "".join(f"<th>{e(n)}</th>" for n in cols)
    body = []
    for i, lab, cells in rows:
        tds = [f'<td class="num step">{i}</td>', f'<td class="act">{e(lab)}</td>']
        tds += [f'<td class="v changed">→ {e(v)}</td>' if ch else f'<td class="v">{e(v)}</td>' for v, ch in cells]
        body.append("<tr>" + "".join(tds) + "</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="trace">{table}</div><p class="legend">{e(LEGEND)}</p>'


def html(data: ReportData, traces: dict[tuple[int, str], str], pictures: Pictures | None = None) -> str:
    from ..render import why_text

    e = H.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>plugcheck report</title>',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<style>{CSS}</style></head><body>",
        "<h1>plugcheck report</h1>",
        f'<p id="totals">{e(_totals(data))}</p>',
        _contents(data, traces),
    ]
    overview = [
        [
            f'<td><a href="#{_config_id(c)}">{e(c.result.spec)}</a></td>',
            f"<td>{e(c.result.config)}</td>",
            f'<td class="{c.result.verdict}">{c.result.verdict.upper()}</td>',
            f"<td>{e(c.result.engine)}</td>",
            f'<td class="num">{_stats(c.result)[1]}</td>',
            f'<td class="num">{c.result.seconds:.2f} s</td>',
        ]
        for c in data.checked
    ]
    parts.append(_table(("spec", "config", "verdict", "engine", "states", "time"), overview, raw=True))
    spec_seen: set[str] = set()
    for c in data.checked:
        r = c.result
        if r.spec not in spec_seen:
            spec_seen.add(r.spec)
            parts.append(f'<h2 id="{anchor("s", r.spec)}">{e(r.spec)}</h2>')
        consts = " ".join(f"{k}={v}" for k, v in r.constants.items())
        parts.append(
            f'<h3 id="{_config_id(c)}">{e(r.spec)} [{e(r.config)}]: '
            f'<span class="{r.verdict}">{r.verdict.upper()}</span></h3>'
        )
        parts.append(f"<p>Constants: <code>{e(consts)}</code></p>")
        parts.append(_table(STATS, [_stats(r)]))
        parts.append(_table(PROPS, _prop_rows(r, traces, c)))
        parts += [f"<p>warning: {e(w)}</p>" for w in r.warnings]
        parts.append("<h4>Action coverage</h4>" + _table(COVERAGE, _coverage_rows(r)))
        for src, caption in (pictures or {}).get(id(c), []):
            s, cap = e(src), e(caption)
            parts.append(
                f'<h4>Picture: {cap}</h4><p><a href="{s}"><img src="{s}" alt="{cap}" style="max-width:100%"></a></p>'
            )
        for p in r.properties:
            if (id(c), p.name) not in traces or p.trace is None:
                continue
            parts.append(f'<h4 id="{_trace_id(c, p)}">{e(_heading(p))}</h4>')
            parts.append(
                f"<p>{e(p.message or p.name)}{e(_where(p))}. ITF trace: <code>{e(traces[(id(c), p.name)])}</code></p>"
            )
            why = why_text(c.model, p)
            if why:
                parts.append(f'<pre class="why">{e(why)}</pre>')
            parts.append(_trace_table(c, p))
    if data.skipped:
        parts.append(
            '<h2 id="skipped">Skipped</h2>'
            + _table(("spec", "config", "reason"), [[s.spec, s.config, s.reason] for s in data.skipped])
        )
    if data.errors:
        parts.append('<h2 id="errors">Errors</h2>' + "".join(f"<pre>{e(x.render())}</pre>" for x in data.errors))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"

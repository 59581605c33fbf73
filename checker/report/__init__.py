"""`plugcheck check --report DIR`: the files CI and people read after a run. See
reports/README.md for each file and its schema. Everything is built in a staged folder
and swapped in at the end (`atomic.staged_folder`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from model import typed as T
from model.errors import SpecError

from ..results import VIOLATED, PropertyResult, RunResult
from ..run import Options, Skipped

FILES = ("summary.json", "junit.xml", "results.sarif", "report.md", "report.html")
# files a report folder may hold besides the report: its README and the JSON Schema of
# summary.json (both shipped in the repository's reports/); they are kept across runs
KEEP = ("README.md", "*.schema.json")


@dataclass
class Checked:
    """One (spec, config) result with the typed model it was checked on."""

    result: RunResult
    model: T.Model


@dataclass
class ReportData:
    checked: list[Checked]
    skipped: list[Skipped] = field(default_factory=list)
    errors: list[SpecError] = field(default_factory=list)
    options: Options = field(default_factory=Options)
    exit_code: int = 0
    specs: list[str] = field(default_factory=list)  # the spec files the run was asked to check
    pictures: bool = True  # SVG pictures: projections onto block states, counterexamples (no graphviz needed)


def counterexamples(data: ReportData) -> list[tuple[Checked, PropertyResult, str]]:
    """Every violated property with a trace, with its file name under traces/ (unique, stable)."""
    out = []
    used: set[str] = set()
    for c in data.checked:
        for p in c.result.properties:
            if p.status != VIOLATED or p.trace is None:
                continue
            base = "_".join(_slug(x) for x in (Path(c.result.spec).stem, c.result.config, p.name))
            name, n = base, 1
            while name in used:
                n += 1
                name = f"{base}-{n}"
            used.add(name)
            out.append((c, p, f"traces/{name}.itf.json"))
    return out


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", s).strip("-") or "x"


def render_all(data: ReportData) -> dict[str, str]:
    """Every report file: relative path -> text."""
    import json

    from . import document, html, junit, sarif, summary
    from .itf import to_itf

    cexs = counterexamples(data)
    files: dict[str, str] = {}
    for c, p, path in cexs:
        meta = {
            "description": f"counterexample to `{p.name}` ({p.kind}) in {c.result.spec} [{c.result.config}]",
            "spec": c.result.spec,
            "config": c.result.config,
            "constants": c.result.constants,
            "property": p.name,
            "kind": p.kind,
            "engine": c.result.engine,
        }
        files[path] = json.dumps(to_itf(c.model, p.trace, meta), indent=1) + "\n"  # type: ignore[arg-type]
    traces = {(id(c), p.name): path for c, p, path in cexs}
    pictures: dict[int, list[tuple[str, str]]] = {}  # per result: (file, caption)
    if data.pictures:
        for c in data.checked:
            for name, caption, svg in c.result.pictures:
                parts = (Path(c.result.spec).stem, c.result.config, name)
                rel = "graphs/" + "_".join(_slug(x) for x in parts) + ".svg"
                files[rel] = svg
                pictures.setdefault(id(c), []).append((rel, caption))
    files["summary.json"] = json.dumps(summary.build(data, traces), indent=2) + "\n"
    files["junit.xml"] = junit.build(data)
    files["results.sarif"] = json.dumps(sarif.build(data, traces), indent=2) + "\n"
    files["report.md"] = document.markdown(data, traces, pictures)
    files["report.html"] = html.html(data, traces, pictures)
    return files


def write_report(dest: Path, data: ReportData) -> list[str]:
    """Render every file, then write them into a staged folder that replaces `dest`.
    Returns the relative paths written."""
    from .atomic import staged_folder, write_text

    files = render_all(data)  # rendering first: an error here leaves `dest` untouched
    with staged_folder(dest, marker="summary.json", keep=KEEP) as stage:
        for rel, text in files.items():
            target = stage / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            write_text(target, text)
    return sorted(files)

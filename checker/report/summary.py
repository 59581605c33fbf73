"""summary.json: the `--json` document plus what pins a result to exactly what was
checked: plugcheck and Python versions, a sha256 of every spec file read (extends chains
included), the engine options and budgets, and where each counterexample's ITF trace is."""

from __future__ import annotations

import hashlib
import platform
from pathlib import Path
from typing import Any

from .. import __version__
from ..results import json_document
from . import ReportData

SCHEMA = 1


def sha256(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def spec_files(data: ReportData) -> list[dict[str, Any]]:
    """Each spec file the run was asked for, with the files it extends, hashed as on disk."""
    seen: dict[str, list[str]] = {s: [] for s in data.specs}
    for c in data.checked:
        includes = seen.setdefault(c.result.spec, [])
        for f in c.model.sources:
            if f != c.result.spec and f not in includes:
                includes.append(f)
    return [
        {"file": f, "sha256": sha256(f), "extends": [{"file": g, "sha256": sha256(g)} for g in inc]}
        for f, inc in seen.items()
    ]


def build(data: ReportData, traces: dict[tuple[int, str], str]) -> dict[str, Any]:
    o = data.options
    doc = json_document(__version__, [c.result for c in data.checked], data.skipped, data.errors, data.exit_code)
    for c, r in zip(data.checked, doc["results"], strict=True):
        for p in r["properties"]:
            path = traces.get((id(c), p["name"]))
            if path:
                p["itf"] = path
    return {
        **doc,
        "summary_schema": SCHEMA,
        "python": platform.python_version(),
        "specs": spec_files(data),
        "options": {
            "configs": list(o.configs),
            "defines": dict(o.defines),
            "engine": o.engine,
            "deadlock": o.deadlock,
            "properties": list(o.selection.patterns),  # --property: what the run was asked to decide
            "kinds": None if o.selection.kinds is None else sorted(o.selection.kinds),
            "budget": {"max_states": o.budget.max_states, "max_depth": o.budget.max_depth, "timeout": o.budget.timeout},
        },
    }

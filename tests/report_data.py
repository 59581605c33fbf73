"""Shared by the report, replay and pytest-plugin tests: run small specs in-process and
collect what `plugcheck check --report` would write."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from checker.report import Checked, ReportData
from checker.results import RunResult
from checker.run import Options, Skipped, check_spec
from model import build_model, load_spec

ROOT = Path(__file__).resolve().parent.parent
TANK = "tests/golden/specs/tank.plug"  # relative to ROOT: report paths are as the user typed them


def sarif_schema_path() -> Path | None:
    """CI has the shared schemas beside the checkout (../shared/schemas/); a work tree one
    level deeper (../../shared/schemas/) finds them too."""
    for base in (ROOT.parent, ROOT.parent.parent):
        p = base / "shared" / "schemas" / "sarif-schema-2.1.0.json"
        if p.exists():
            return p
    return None


def check(paths: list[str], opts: Options | None = None, pictures: bool = False) -> ReportData:
    """Check spec files (relative to the working folder) as the CLI does, keeping the models."""
    opts = replace(opts or Options(), pictures=pictures)
    # pictures depend on graphviz being installed: tests of them ask for them explicitly
    data = ReportData([], options=opts, specs=list(paths), pictures=pictures)
    for path in paths:
        spec = load_spec(path)
        for item in check_spec(spec, opts):
            if isinstance(item, Skipped):
                data.skipped.append(item)
            elif isinstance(item, RunResult):
                data.checked.append(Checked(item, build_model(spec, item.config, opts.defines)))
    verdicts = {c.result.verdict for c in data.checked}
    data.exit_code = 1 if "fail" in verdicts else 3 if "inconclusive" in verdicts else 0
    return data

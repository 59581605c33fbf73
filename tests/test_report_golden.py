"""Golden files of every report format for a small spec (tests/golden/specs/tank.plug):
timings, memory, versions and the absolute checkout path are masked. Regenerate after an
intended change with PLUGCHECK_UPDATE_GOLDEN=1 and review the diff."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest

from checker.report import render_all

from .report_data import ROOT, TANK, check

GOLDEN = ROOT / "tests" / "golden" / "report"
MASKED_KEYS = {"seconds", "peak_mb", "python"}


def _mask_json(v: Any, key: str = "") -> Any:
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k in MASKED_KEYS or (k in ("plugcheck", "version") and isinstance(x, str) and x != "2.1.0"):
                out[k] = "<masked>"
            elif k == "originalUriBaseIds":
                out[k] = {"SRCROOT": {"uri": "<checkout>/"}}
            else:
                out[k] = _mask_json(x, k)
        return out
    if isinstance(v, list):
        return [_mask_json(x, key) for x in v]
    return v


def mask(name: str, text: str) -> str:
    if name.endswith((".json", ".sarif")):
        return json.dumps(_mask_json(json.loads(text)), indent=1, ensure_ascii=False) + "\n"
    text = re.sub(r'time="[0-9.]+"', 'time="<t>"', text)
    text = re.sub(r"\d+\.\d\d s\b", "<t> s", text)
    text = re.sub(r"\d+ MB\b", "<m> MB", text)
    return re.sub(r"plugcheck \d+\.\d+\.\d+", "plugcheck <version>", text)


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return render_all(check([TANK]))
    finally:
        os.chdir(cwd)


EXPECTED = [
    "summary.json",
    "junit.xml",
    "results.sarif",
    "report.md",
    "report.html",
    "traces/tank_default_never_both.itf.json",
]


def test_the_report_has_every_file(files: dict[str, str]) -> None:
    assert sorted(files) == sorted(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_golden(files: dict[str, str], name: str) -> None:
    got = mask(name, files[name])
    path = GOLDEN / name.replace("/", "__")
    if os.environ.get("PLUGCHECK_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with PLUGCHECK_UPDATE_GOLDEN=1"
    assert got == path.read_text(encoding="utf-8"), f"{name} differs from {path}"

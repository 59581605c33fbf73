"""A report folder is replaced whole or not at all: an error while rendering or writing, a
budget, or a signal to a running `plugcheck check --report` leaves either the previous
report or a complete new one, and no staging folders behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from checker.cli import main
from checker.report import FILES, write_report
from checker.report import html as report_html
from checker.report.atomic import staged_folder, write_text

from .report_data import ROOT, TANK, check

OLD = "previous report\n"


def _previous(dest: Path) -> None:
    dest.mkdir(parents=True)
    (dest / "summary.json").write_text(OLD, encoding="utf-8")


def _state(dest: Path) -> str:
    """`old`, or `new` after checking that every file of a new report is complete."""
    assert dest.is_dir()
    leftovers = [p.name for p in dest.parent.iterdir() if p.name.startswith(f".{dest.name}.")]
    assert leftovers == [], f"staging folders left behind: {leftovers}"
    text = (dest / "summary.json").read_text(encoding="utf-8")
    if text == OLD:
        assert sorted(p.name for p in dest.iterdir()) == ["summary.json"]
        return "old"
    doc = json.loads(text)
    for name in FILES:
        assert (dest / name).is_file(), name
    json.loads((dest / "results.sarif").read_text(encoding="utf-8"))
    ET.parse(dest / "junit.xml")
    assert (dest / "report.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
    for r in doc["results"]:
        for p in r["properties"]:
            if "itf" in p:
                json.loads((dest / p["itf"]).read_text(encoding="utf-8"))
    return "new"


def test_write_text_replaces_whole_files(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    write_text(f, "one")
    write_text(f, "two")
    assert f.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_an_error_inside_the_stage_keeps_the_previous_folder(tmp_path: Path) -> None:
    dest = tmp_path / "reports"
    _previous(dest)
    with pytest.raises(KeyboardInterrupt):
        with staged_folder(dest) as stage:
            write_text(stage / "summary.json", "{}")
            raise KeyboardInterrupt
    assert _state(dest) == "old"


def test_a_failing_renderer_keeps_the_previous_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    dest = tmp_path / "reports"
    _previous(dest)
    data = check([TANK])

    def boom(*args: object) -> str:
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(report_html, "html", boom)
    with pytest.raises(RuntimeError):
        write_report(dest, data)
    assert _state(dest) == "old"
    monkeypatch.undo()
    monkeypatch.chdir(ROOT)
    assert write_report(dest, data) == sorted([*FILES, "traces/tank_default_never_both.itf.json"])
    assert _state(dest) == "new"


def test_a_budget_gives_a_complete_inconclusive_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    dest = tmp_path / "reports"
    _previous(dest)
    assert (
        main(["check", "specs/ref_sbm.plug", "--config", "b2s4", "--max-states", "500", "-q", f"--report={dest}"]) == 3
    )
    assert _state(dest) == "new"
    doc = json.loads((dest / "summary.json").read_text(encoding="utf-8"))
    (r,) = doc["results"]
    assert r["verdict"] == "inconclusive" and r["stopped"] == "state budget 500 reached"
    assert doc["options"]["budget"]["max_states"] == 500


def test_report_default_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "tank.plug"
    spec.write_text((ROOT / TANK).read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "tank.plug", "-q", "--report"]) == 1
    assert _state(tmp_path / "reports") == "new"


@pytest.mark.parametrize(
    "sig,delay,must_be_new",
    [(signal.SIGTERM, 0.3, False), (signal.SIGINT, 1.2, False), (signal.SIGTERM, 4.0, True)],
)
def test_a_signal_mid_run_leaves_the_old_or_a_complete_new_report(
    tmp_path: Path, sig: int, delay: float, must_be_new: bool
) -> None:
    dest = tmp_path / "reports"
    _previous(dest)
    cmd = [sys.executable, "-m", "checker.cli", "check", "specs/ref_sbm.plug", "--config", "b3s4", "-q"]
    proc = subprocess.Popen(
        [*cmd, f"--report={dest}"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    time.sleep(delay)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    # 3: the run ended as interrupted; a signal before plugcheck installed its handler kills it
    assert proc.returncode in (3, -sig, 128 + sig), err.decode()
    state = _state(dest)
    # b3s4 takes far longer than 4 s, and its search has started by then
    assert state == "new" or not must_be_new
    if state == "new":  # the search was running: its partial result is reported whole
        doc = json.loads((dest / "summary.json").read_text(encoding="utf-8"))
        assert doc["results"][0]["stopped"] == "interrupted"
        assert doc["exit_code"] == 3


def test_a_folder_that_is_not_a_report_is_never_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`plugcheck check --report=specs/` (a spec folder named as the report's) must not swap specs/ away."""
    monkeypatch.chdir(ROOT)
    other = tmp_path / "specs"
    other.mkdir()
    (other / "keep.plug").write_text("precious", encoding="utf-8")
    assert main(["check", TANK, "-q", f"--report={other}"]) == 2
    assert [p.name for p in other.iterdir()] == ["keep.plug"]
    assert [p.name for p in tmp_path.iterdir()] == ["specs"]


def test_report_given_a_spec_file_is_refused_before_checking(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["check", f"--report={TANK}"]) == 2
    assert f"--report takes a folder, not {TANK}" in capsys.readouterr().err
    assert (ROOT / TANK).is_file()

"""`plugcheck check --jobs N` over several files: the same document and output as one process,
in the same order; Ctrl-C and a killed worker end the run as inconclusive (exit 3), naming the
files not checked."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checker.cli import main

ROOT = Path(__file__).resolve().parent.parent

COUNTER = """
const N = {n}
var x : 0 .. N = 0
action inc when x < N {{ x := x + 1 }}
action reset when x == N {{ x := 0 }}
invariant small: x <= N - {bad}
property back: x == N leadsto x == 0
config two {{ N = 2 }}
"""

# about 10^10 states: the search runs until it is stopped
ENDLESS = """
var x : 0 .. 100000
var y : 0 .. 100000
action ix when x < 100000 { x := x + 1 }
action iy when y < 100000 { y := y + 1 }
"""


def folder(tmp_path: Path) -> Path:
    d = tmp_path / "specs"
    d.mkdir()
    for k in range(5):
        (d / f"c{k}.plug").write_text(COUNTER.format(n=3 + k, bad=1 if k == 2 else 0))
    (d / "broken.plug").write_text("var x : 0 .. 3 = 0\naction a { x := y }\n")
    return d


def without_times(doc: dict) -> dict:
    for r in doc["results"]:
        r.pop("seconds")
        r.pop("peak_mb")
    return doc


def test_jobs_give_the_same_document_and_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(folder(tmp_path))
    docs, outs = [], []
    for jobs in ("1", "2", "3"):
        code = main(["check", "--json", "--jobs", jobs, d])
        docs.append((code, without_times(json.loads(capsys.readouterr().out))))
        code = main(["check", "-q", "--jobs", jobs, d])
        got = capsys.readouterr()
        outs.append((code, got.out, got.err))
    assert docs[0] == docs[1] == docs[2]
    code, doc = docs[0]
    assert code == 2  # the broken file, reported with its position
    assert [(Path(r["spec"]).name, r["config"]["name"], r["verdict"]) for r in doc["results"]] == [
        (f"c{k}.plug", cfg, "fail" if k == 2 else "pass") for k in range(5) for cfg in ("default", "two")
    ]
    assert [(Path(e["file"]).name, e["line"], e["column"]) for e in doc["errors"]] == [("broken.plug", 2, 17)]
    assert outs[0] == outs[1] == outs[2]
    assert "c2.plug [default]: small (violated)" in outs[0][1]


def test_a_trace_prints_the_same_with_jobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = folder(tmp_path)
    (d / "broken.plug").unlink()
    texts = []
    for jobs in ("1", "2"):
        assert main(["check", "--jobs", jobs, "--width", "100", str(d)]) == 1
        texts.append(capsys.readouterr().out)
    assert texts[0].replace(" ", "").count("inc") == texts[1].replace(" ", "").count("inc") > 0
    timings = re.compile(r"[\d,.]+ (s|states/s|MB)\b")  # what differs from run to run
    assert timings.sub("", texts[0]) == timings.sub("", texts[1])


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(x) for x in text]
    return out


def start(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    d = tmp_path / "specs"
    d.mkdir()
    for k in range(3):
        (d / f"e{k}.plug").write_text(ENDLESS)
    env = dict(os.environ, NO_COLOR="1")
    cmd = [sys.executable, "-m", "checker.cli", "check", "-q", "--jobs", "2", str(d)]
    p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(children(p.pid)) < 2:
        assert p.poll() is None and time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.1)
    time.sleep(1.0)  # the workers are searching
    return p, d


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc to find the worker processes")
def test_a_killed_worker_ends_the_run_inconclusive(tmp_path: Path) -> None:
    p, d = start(tmp_path)
    os.kill(children(p.pid)[0], signal.SIGKILL)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 3, (out, err)
    assert "ended unexpectedly (exit code -9)" in err and str(d / "e0.plug") in err
    assert "Traceback" not in err


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc to find the worker processes")
def test_ctrl_c_ends_every_worker_and_exits_3(tmp_path: Path) -> None:
    p, d = start(tmp_path)
    workers = children(p.pid)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 3, (out, err)
    assert "interrupted: not checked: " in err and str(d / "e0.plug") in err
    assert "Traceback" not in err
    time.sleep(0.5)
    assert not any(
        Path(f"/proc/{w}").exists() and "Z" not in Path(f"/proc/{w}/stat").read_text().split()[2] for w in workers
    )


# A forked worker ended before it drops the parent's signal forwarding: were it sent SIGTERM,
# its inherited handler would write to the parent's wakeup pipe and the parent would stop as
# if Ctrl-C had been pressed (a loaded machine showed it as "plugcheck: interrupted").
EARLY_END = """
import multiprocessing as mp
import time

from checker.stopping import forward_to_interrupt
from checker.workers import end_all

assert forward_to_interrupt()
w = mp.get_context("fork").Process(target=time.sleep, args=(30,), daemon=True)
w.start()
time.sleep(0.3)
end_all([w], [])
try:
    time.sleep(1.0)
except KeyboardInterrupt:
    raise SystemExit("interrupted") from None
print("ok")
"""


def test_ending_a_worker_does_not_interrupt_the_parent() -> None:
    done = subprocess.run([sys.executable, "-c", EARLY_END], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert (done.returncode, done.stdout.strip(), done.stderr.strip()) == (0, "ok", "")

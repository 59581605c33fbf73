"""Checkpoints: a search stopped by a budget, by Ctrl-C or by SIGKILL and resumed gives the
uninterrupted result (verdicts, counts, shortest traces, liveness); checkpoints of another
spec, config, property selection or version are refused; damaged ones are named, never a
traceback."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main
from checker.results import json_document
from checker.search import Budget
from checker.search import checkpoint as ckpt
from checker.search.checkpoint import CheckpointError, Checkpointing
from checker.search.engine import explore
from model import SpecError, build_model, load_spec, spec_from_text
from tests.specgen import generate

ROOT = Path(__file__).resolve().parent.parent
L2 = str(ROOT / "specs/bugs/L2.plug")  # an invariant and a liveness property violated, 1,689 states
SBM = str(ROOT / "specs/virtio_mem_sbm.plug")

TWO = """
const N = 3
var x : 0 .. N = 0
action inc when x < N { x := x + 1 }
action reset when x == N { x := 0 }
invariant small: x <= N
config two { N = 2 }
"""


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["check", "--json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def run_err(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check", "-q", *args])
    return code, capsys.readouterr().err


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without what differs between two runs of the same search (time, memory)."""
    for r in doc["results"]:
        r.pop("seconds")
        r.pop("peak_mb")
    return doc


def lengths(doc: dict[str, Any]) -> dict[str, tuple[str, int | None]]:
    r = doc["results"][0]
    return {p["name"]: (p["status"], len(p["trace"]["steps"]) if p.get("trace") else None) for p in r["properties"]}


def uninterrupted(path: str, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, doc = run_json([path, *args], capsys)
    assert code in (0, 1)
    return comparable(doc)


@pytest.mark.parametrize("budget", [1, 700, 1688])
def test_state_budget_then_resume_is_the_uninterrupted_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], budget: int
) -> None:
    whole = uninterrupted(L2, capsys)
    r = whole["results"][0]
    assert (r["states"], r["depth"]) == (1689, 40)
    assert lengths(whole)["settled_no_unplugged_block"] == ("violated", 32)
    assert lengths(whole)["unplugged_block_removed"] == ("violated", 33)  # liveness: a lasso on the edges

    code = main(["check", "--json", L2, "--checkpoint", str(tmp_path), "--max-states", str(budget)])
    captured = capsys.readouterr()
    cut = json.loads(captured.out)
    assert code == 3 and cut["results"][0]["stopped"] == f"state budget {budget} reached"
    assert f"note: the search is kept in {tmp_path / 'default'}: --resume {tmp_path} goes on" in captured.err
    header = json.loads((tmp_path / "default" / ckpt.HEADER).read_text())
    assert header["complete"] is False and header["record"] is True
    assert header["states"] == cut["results"][0]["states"] >= budget

    folder = tmp_path / "default"
    (folder / "seg-000009-0123456789abcdef.npys").write_bytes(b"left by a killed run")
    (folder / ".checkpoint.json.99.tmp").write_bytes(b"{")
    code, again = run_json([L2, "--resume", str(tmp_path)], capsys)
    assert code == 0
    assert comparable(again) == whole
    named = {s["file"] for s in json.loads((folder / ckpt.HEADER).read_text())["segments"]}
    assert {f.name for f in folder.iterdir()} == named | {ckpt.HEADER, ckpt.LOCK}
    assert json.loads((tmp_path / "default" / ckpt.HEADER).read_text())["complete"] is True


def test_resumed_twice_on_other_kernels_and_compacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any backend goes on from any checkpoint (numbering is backend-independent); after
    MAX_SEGMENTS segments one write holds them all again."""
    whole = uninterrupted(L2, capsys)
    monkeypatch.setattr(ckpt, "MAX_SEGMENTS", 2)
    folder = tmp_path / "default"
    code, _ = run_json([L2, "--checkpoint", str(tmp_path), "--max-states", "300", "--kernel", "single"], capsys)
    assert code == 3 and len(list(folder.glob("seg-*"))) == 1
    code, _ = run_json([L2, "--resume", str(tmp_path), "--max-states", "900", "--kernel", "reference"], capsys)
    assert code == 3 and len(list(folder.glob("seg-*"))) == 2
    code, again = run_json([L2, "--resume", str(tmp_path), "--kernel", "frontier"], capsys)
    assert code == 0 and comparable(again) == whole
    segs = list(folder.glob("seg-*"))
    assert len(segs) == 1 and json.loads((folder / ckpt.HEADER).read_text())["segments"][0]["states"] == 1689
    # the compacted checkpoint of a complete search resumes to the same result at once
    code, third = run_json([L2, "--resume", str(tmp_path)], capsys)
    assert code == 0 and comparable(third) == whole


def test_ctrl_c_writes_the_last_boundary(tmp_path: Path) -> None:
    model = build_model(load_spec(L2), "default", {})
    whole, _ = explore(model)
    calls = [0]

    def interrupt_on_third(_: object) -> None:
        calls[0] += 1
        if calls[0] == 3:
            raise KeyboardInterrupt

    cut, _ = explore(model, progress=interrupt_on_third, progress_every=0, checkpoint=Checkpointing(tmp_path))
    assert cut.stopped is not None and cut.stopped.interrupted and 0 < cut.states < whole.states
    assert json.loads((tmp_path / ckpt.HEADER).read_text())["stopped"] == "interrupted"
    res, _ = explore(model, checkpoint=Checkpointing(tmp_path, resume=True))
    assert (res.states, res.transitions, res.depth) == (whole.states, whole.transitions, whole.depth)
    assert [(p.name, p.status, p.trace and len(p.trace.steps)) for p in res.properties] == [
        (p.name, p.status, p.trace and len(p.trace.steps)) for p in whole.properties
    ]


@pytest.fixture(scope="module")
def sbm_whole() -> dict[str, Any]:
    """The uninterrupted run the killed ones are compared with (computed once)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["check", "--json", SBM, "-D", "R=3"]) == 0
    return comparable(json.loads(out.getvalue()))


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_mid_run_then_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sig: int, sbm_whole: dict[str, Any]
) -> None:
    """A real SIGKILL (the last periodic checkpoint stays) or SIGTERM (the run ends like
    Ctrl-C, exit 3, and writes a last one) of a run with time-driven checkpoints (387,057
    states, liveness), then --resume."""
    args = [SBM, "-D", "R=3"]
    env = dict(os.environ, PYTHONHASHSEED="0")
    cmd = [sys.executable, "-m", "checker.cli", "check", "-q", *args, "--checkpoint", str(tmp_path)]
    proc = subprocess.Popen([*cmd, "--checkpoint-every", "0.2"], cwd=ROOT, env=env, stderr=subprocess.PIPE)
    header = tmp_path / "default" / ckpt.HEADER
    seen: dict[str, Any] = {}
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if header.exists():
                seen = json.loads(header.read_text())
                if seen["states"] > 0:  # a checkpoint is on disk: kill the run now
                    break
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == (-signal.SIGKILL if sig == signal.SIGKILL else 3)
    assert seen and not seen["complete"]
    killed = json.loads(header.read_text())
    assert not killed["complete"] and 0 < killed["states"] < 387057
    assert killed["stopped"] == (None if sig == signal.SIGKILL else "interrupted")
    code, doc = run_json([*args, "--resume", str(tmp_path)], capsys)
    assert code == 0
    r = doc["results"][0]
    assert (r["states"], r["transitions"], r["depth"]) == (387057, 2216001, 73)
    assert comparable(doc) == sbm_whole


def test_a_checkpoint_per_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "two.plug"
    spec.write_text(TWO)
    whole = uninterrupted(str(spec), capsys)
    assert [r["states"] for r in whole["results"]] == [4, 3]
    code, _ = run_json([str(spec), "--checkpoint", str(tmp_path / "ck")], capsys)
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["default", "run.json", "two"]
    (tmp_path / "ck" / "two" / ckpt.HEADER).unlink()  # as if the run had been killed before `two`
    code = main(["check", "--json", str(spec), "--resume", str(tmp_path / "ck")])
    captured = capsys.readouterr()
    assert code == 0 and comparable(json.loads(captured.out)) == whole
    assert "note: [default] resumes from" in captured.err
    assert "[two] has no checkpoint in" in captured.err


def _cut_l2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, _ = run_json([L2, "--checkpoint", str(tmp_path), "--max-states", "700"], capsys)
    assert code == 3
    return tmp_path / "default"


def _edit_header(folder: Path, **changes: Any) -> None:
    h = json.loads((folder / ckpt.HEADER).read_text())
    for k, v in changes.items():
        h[k] = v
    (folder / ckpt.HEADER).write_text(json.dumps(h))


def test_refuses_another_spec_chain_but_not_a_moved_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The spec chain's text decides, not its paths: a copied checkout resumes; an edit of
    the file L2 extends makes it another spec."""
    whole = uninterrupted(L2, capsys)
    _cut_l2(tmp_path, capsys)
    (tmp_path / "copy" / "bugs").mkdir(parents=True)
    moved = tmp_path / "copy" / "bugs" / "L2.plug"
    moved.write_text(Path(L2).read_text())
    parent = tmp_path / "copy" / "virtio_mem_sbm.plug"
    parent.write_text(Path(SBM).read_text() + "\n# one more comment\n")
    code, err = run_err([str(moved), "--resume", str(tmp_path)], capsys)
    assert code == 2 and "Traceback" not in err
    assert "the checkpoint was written for another spec: " in err and f"this run checks {moved}" in err
    parent.write_text(Path(SBM).read_text())
    code, doc = run_json([str(moved), "--resume", str(tmp_path)], capsys)
    assert code == 0 and lengths(doc) == lengths(whole) and doc["results"][0]["states"] == 1689


def test_refuses_other_constants_and_properties(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _cut_l2(tmp_path, capsys)
    code, err = run_err([L2, "-D", "R=3", "--resume", str(tmp_path)], capsys)
    assert code == 2 and "written for config default with B=1 EXT=4 L" in err and "R=3" in err
    code, err = run_err([L2, "--property", "aux_*", "--resume", str(tmp_path)], capsys)
    assert code == 2 and "searched for other properties" in err and "--property" in err


def test_refuses_another_version_or_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _cut_l2(tmp_path, capsys)
    _edit_header(folder, plugcheck="0.0.1")
    code, err = run_err([L2, "--resume", str(tmp_path)], capsys)
    assert code == 2 and "written by plugcheck 0.0.1; this is plugcheck" in err
    _edit_header(folder, format_version=99)
    code, err = run_err([L2, "--resume", str(tmp_path)], capsys)
    assert code == 2 and "format version 99" in err


def _truncate(folder: Path) -> None:
    seg = next(folder.glob("seg-*"))
    seg.write_bytes(seg.read_bytes()[:-100])


def _flip(folder: Path) -> None:
    seg = next(folder.glob("seg-*"))
    data = bytearray(seg.read_bytes())
    data[-50] ^= 0x01
    seg.write_bytes(bytes(data))


def _garbage_header(folder: Path) -> None:
    (folder / ckpt.HEADER).write_bytes(b'{"format": "plugcheck-checkpoint", "segm')


def _missing_segment(folder: Path) -> None:
    next(folder.glob("seg-*")).unlink()


def _lying_count(folder: Path) -> None:
    _edit_header(folder, states=5)


def _no_count(folder: Path) -> None:
    _edit_header(folder, states="many", tally=[])


def _bad_parent(folder: Path) -> None:
    """A consistent file (CRC and all) whose parents point forward: caught by the bounds check."""
    import numpy as np

    h = json.loads((folder / ckpt.HEADER).read_text())
    seg = h["segments"][0]
    path = folder / seg["file"]
    data = bytearray(path.read_bytes())
    n = len(ckpt.SEGMENT_MAGIC)
    hlen = int.from_bytes(data[n : n + 8], "little")
    meta = json.loads(data[n + 8 : n + 8 + hlen])
    with open(path, "rb") as f:
        f.seek(n + 8 + hlen)
        arrays = [np.load(f, allow_pickle=False) for _ in meta["arrays"]]
    arrays[1][5] = 10**6
    import zlib

    meta["arrays"][1]["crc32"] = zlib.crc32(arrays[1].data)
    head = json.dumps(meta).encode()
    import io

    out = io.BytesIO()
    out.write(ckpt.SEGMENT_MAGIC + len(head).to_bytes(8, "little") + head)
    for a in arrays:
        np.save(out, a, allow_pickle=False)
    path.write_bytes(out.getvalue())


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (_truncate, "is truncated"),
        (_flip, "fails its CRC-32 check"),
        (_garbage_header, "is not JSON"),
        (_missing_segment, "is missing"),
        (_lying_count, "the header says 5"),
        (_no_count, "ValueError: 'many' is out of range"),
        (_bad_parent, "a parent or an action is out of range"),
    ],
)
def test_damaged_checkpoint_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Any, says: str
) -> None:
    folder = _cut_l2(tmp_path, capsys)
    damage(folder)
    code, err = run_err([L2, "--resume", str(tmp_path)], capsys)
    assert code == 2 and "Traceback" not in err and "internal error" not in err
    assert f"{folder}: the checkpoint is damaged (" in err and says in err


def test_checkpoint_options_that_do_not_go_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _cut_l2(tmp_path, capsys)
    code, err = run_err([L2, "--checkpoint", str(tmp_path)], capsys)
    assert code == 2 and "already holds a checkpoint (701 states" in err and f"--resume {tmp_path}" in err
    code, err = run_err([L2, "--resume", str(tmp_path / "none")], capsys)
    assert code == 2 and "holds no checkpoint of" in err
    code, err = run_err([L2, SBM, "--checkpoint", str(tmp_path / "x")], capsys)
    assert code == 2 and "one spec file" in err
    code, err = run_err([L2, "--checkpoint-every", "5"], capsys)
    assert code == 2 and "--checkpoint-every needs --checkpoint DIR" in err
    code, err = run_err([L2, "--engine", "bmc", "--checkpoint", str(tmp_path / "y")], capsys)
    assert code == 2 and "keep the explicit engine's search" in err
    (tmp_path / "file").write_text("")
    code, err = run_err([L2, "--checkpoint", str(tmp_path / "file" / "ck")], capsys)
    assert code == 2 and f"cannot write checkpoints to {tmp_path / 'file' / 'ck'}: Not a directory" in err


def test_a_running_checkpoint_is_locked(tmp_path: Path) -> None:
    lock = ckpt.Lock(tmp_path)
    try:
        with pytest.raises(CheckpointError, match="in use by another plugcheck run"):
            ckpt.Lock(tmp_path)
    finally:
        lock.release()
    ckpt.Lock(tmp_path).release()


def _result(res: Any) -> dict[str, Any]:
    doc = json_document("x", [res], [], [], 0)["results"][0]
    for k in ("seconds", "peak_mb"):
        doc.pop(k)
    return doc  # type: ignore[no-any-return]


def test_random_specs_resume_exactly(tmp_path: Path) -> None:
    """The shared random specs (1 to 6 words a state, range errors, deadlocks, witnesses):
    cut half way on one backend, resumed on another, every result field is the whole run's."""
    compared = 0
    for seed in range(100):
        try:
            model = build_model(spec_from_text(generate(seed), f"random{seed}.plug"))
        except SpecError:
            continue
        whole, ex = explore(model, kernel="single", record_edges=True)
        initial = sum(1 for p in ex.parent if p < 0)
        budget = max(initial + 1, whole.states // 2)
        if budget >= whole.states:
            continue
        folder = tmp_path / str(seed)
        cut, _ = explore(
            model, Budget(max_states=budget), kernel="single", record_edges=True, checkpoint=Checkpointing(folder)
        )
        assert str(cut.stopped) == f"state budget {budget} reached", seed
        res, _ = explore(model, kernel="auto", record_edges=True, checkpoint=Checkpointing(folder, resume=True))
        assert _result(res) == _result(whole), f"seed {seed}"
        compared += 1
    assert compared >= 30


@pytest.mark.parametrize(("spec", "cut"), [(L2, 900), (str(ROOT / "specs/bugs/V1.plug"), 1000)])
def test_resumed_report_is_the_uninterrupted_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str, cut: int
) -> None:
    """`--report` after `--resume`: the same traces, pictures and SARIF, and summary.json but
    for times. L2's liveness kept the transitions in the checkpoint; V1 has no liveness, so
    the pictures' transitions are rebuilt from the resumed states."""
    assert main(["check", "-q", spec, f"--report={tmp_path / 'a'}"]) == 0
    assert main(["check", "-q", spec, "--checkpoint", str(tmp_path / "ck"), "--max-states", str(cut)]) == 3
    assert json.loads((tmp_path / "ck" / "default" / ckpt.HEADER).read_text())["record"] is (spec == L2)
    assert main(["check", "-q", spec, "--resume", str(tmp_path / "ck"), f"--report={tmp_path / 'b'}"]) == 0
    capsys.readouterr()
    a, b = tmp_path / "a", tmp_path / "b"
    files = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    assert any(f.startswith("traces/") for f in files) and any(f.startswith("graphs/") for f in files)
    for f in files:
        if f.startswith(("traces/", "graphs/")) or f == "results.sarif":
            assert (a / f).read_bytes() == (b / f).read_bytes(), f
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in (a, b))
    assert comparable(sa) == comparable(sb)


def test_resume_alone_checks_what_the_run_did(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--resume DIR` with no --config, -D, --engine, --property or --kind takes those of the
    run that wrote the checkpoints; given on the command line, they must match it."""
    opts = ["-D", "R=3", "--property", "aux_*", "--engine", "explicit"]
    whole = uninterrupted(L2, capsys, *opts)
    assert whole["results"][0]["config"]["constants"]["R"] == 3
    code, _ = run_json([L2, *opts, "--checkpoint", str(tmp_path), "--max-states", "500"], capsys)
    assert code == 3
    assert json.loads((tmp_path / "default" / ckpt.HEADER).read_text())["record"] is False  # no liveness asked
    code = main(["check", "--json", L2, "--resume", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 0 and comparable(json.loads(captured.out)) == whole
    taken = "-D R=3 --engine explicit --property aux_*"
    assert f"note: --resume {tmp_path} checks as the run that wrote it: {taken}" in captured.err
    (tmp_path / "run.json").write_text('{"configs": "default"')
    code, err = run_err([L2, "--resume", str(tmp_path)], capsys)
    assert code == 2 and f"{tmp_path / 'run.json'} is damaged" in err and "Traceback" not in err


def _paths(o: Any, pre: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(o, dict):
        for k, v in o.items():
            yield (*pre, k)
            yield from _paths(v, (*pre, k))
    elif isinstance(o, list):
        for i, v in enumerate(o[:3]):
            yield (*pre, i)
            yield from _paths(v, (*pre, i))


def test_mangled_checkpoints_never_end_in_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Seeded mutations of the header (a value of another type or range, a key gone) and of
    the segment (flipped bits, cut short): each is refused or named as damaged (exit 2), or,
    where the change does not matter, resumed (exit 0); never an internal error."""
    folder = _cut_l2(tmp_path / "orig", capsys)
    orig = json.loads((folder / ckpt.HEADER).read_text())
    keys = list(_paths(orig))
    values: list[Any] = [None, -1, 0, 10**6, 2**70, "x", [], {}, True, 1.5, [1, 2], {"0": 5}]
    rng = random.Random(7)
    seen: set[int] = set()
    for trial in range(40):
        d = tmp_path / f"t{trial}"
        shutil.copytree(tmp_path / "orig", d)
        if trial < 28:
            h = json.loads(json.dumps(orig))
            *up, last = rng.choice(keys)
            node = h
            for k in up:
                node = node[k]
            if isinstance(node, dict) and rng.random() < 0.2:
                del node[last]
            else:
                node[last] = rng.choice(values)
            (d / "default" / ckpt.HEADER).write_text(json.dumps(h))
        else:
            seg = next((d / "default").glob("seg-*"))
            data = bytearray(seg.read_bytes())
            if trial % 2:
                data = data[: rng.randrange(len(data))]
            else:
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            seg.write_bytes(bytes(data))
        code, err = run_err([L2, "--resume", str(d)], capsys)
        assert code in (0, 2) and "internal error" not in err and "Traceback" not in err, (trial, err)
        seen.add(code)
    assert seen == {0, 2}

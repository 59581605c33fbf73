"""The search partitioned on Ray (`check --workers N`) against the one-process search: the same
state counts, depth, transitions, coverage, verdicts and counterexample lengths with 1, 2 and
3 workers on small shipped specs and shared random specs (tests/specgen.py); with one worker
the very same traces. A killed worker ends the run as inconclusive; an address that does not
answer and a missing Ray fail at once with a message. One local Ray runtime serves the whole
module (starting one takes seconds). `pytest -m slow` compares every shipped spec."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main
from checker.cli_check import exit_code
from checker.results import INCONCLUSIVE, RunResult
from checker.search import Budget, explore
from model import SpecError, build_model, load_spec, spec_from_text
from model.typed import Model
from tests.specgen import generate

ray = pytest.importorskip("ray")

from checker.distributed import Runtime, explore_distributed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPECS = ["specs/ref_sbm.plug", "specs/bugs/L5.plug", "specs/bugs/C1.plug", "specs/bugs/K1.plug"]
SEEDS = [26, 48, 53, 58, 69, 71]  # random specs with invariant, range, deadlock and reachable findings, 1-6 words
WORKERS = (1, 2, 3)


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    rt = Runtime(max(WORKERS))
    rt.start()
    yield rt
    rt.close()


def summary(res: RunResult) -> dict[str, Any]:
    return {
        "states": res.states,
        "depth": res.depth,
        "transitions": res.transitions,
        "stopped": res.stopped,
        "coverage": [c.__dict__ for c in res.coverage],
        "warnings": res.warnings,
        "properties": [
            (p.name, p.status, len(p.trace) if p.trace else None, p.trace.loop if p.trace else None)
            for p in res.properties
        ],
    }


def distributed(model: Model, rt: Runtime, n: int, **kw: Any) -> RunResult:
    rt.workers = n
    return explore_distributed(model, rt, **kw).result


def compare(model: Model, rt: Runtime, where: str, kernel: str = "auto") -> None:
    single, _ = explore(model)
    want = summary(single)
    for n in WORKERS:
        got = distributed(model, rt, n, kernel=kernel)
        assert summary(got) == want, f"{where}, {n} workers"
        rt.remember_sent = True  # as on a cluster: what a partition sent before does not travel again
        try:
            got = distributed(model, rt, n, kernel=kernel)
        finally:
            rt.remember_sent = False
        assert summary(got) == want, f"{where}, {n} workers remembering what they sent"
        if n == 1:  # one partition numbers the states as the one-process search does
            traces = [(p.name, p.trace.to_json() if p.trace else None) for p in got.properties]
            assert traces == [(p.name, p.trace.to_json() if p.trace else None) for p in single.properties], where


@pytest.mark.parametrize("spec", SPECS)
def test_shipped_specs_agree(runtime: Runtime, spec: str) -> None:
    model = build_model(load_spec(ROOT / spec), "default", {})
    compare(model, runtime, spec)


@pytest.mark.skipif(
    shutil.which("gcc") is None and shutil.which("cc") is None, reason="no C compiler: .ci/run installs gcc"
)
@pytest.mark.parametrize("spec", ["specs/ref_sbm.plug", "specs/bugs/C1.plug"])
def test_c_kernels_agree(runtime: Runtime, spec: str) -> None:
    # the partitions take what they were sent through the C kernels' one-pass visit (in key
    # order), or, remembering what they sent (keys no longer in order), the numpy way
    model = build_model(load_spec(ROOT / spec), "default", {})
    compare(model, runtime, spec, kernel="native")


def test_random_specs_agree(runtime: Runtime) -> None:
    kinds: set[str] = set()
    for seed in SEEDS:
        text = generate(seed)
        model = build_model(spec_from_text(text, f"random{seed}.plug"))
        compare(model, runtime, f"seed {seed}:\n{text}")
        single, _ = explore(model)
        kinds |= {p.kind for p in single.properties if p.status == "violated"}
    assert kinds >= {"invariant", "range", "deadlock", "reachable"}  # the seeds cover every kind of finding


def test_budgets_end_the_run_inconclusive(runtime: Runtime) -> None:
    model = build_model(load_spec(ROOT / "specs/ref_sbm.plug"), "default", {})
    res = distributed(model, runtime, 2, budget=Budget(max_depth=3))
    single, _ = explore(model, Budget(max_depth=3))
    assert (res.states, res.depth, str(res.stopped)) == (single.states, single.depth, "depth budget 3 reached")
    assert exit_code([res], False) == 3
    res = distributed(model, runtime, 2, budget=Budget(max_states=100))
    assert str(res.stopped) == "state budget 100 reached" and 100 <= res.states < 675
    assert all(p.status == INCONCLUSIVE or (p.kind, p.status) == ("reachable", "holds") for p in res.properties)
    assert exit_code([res], False) == 3
    # the time budget is watched while the workers compute: the run stops mid-level, its workers are replaced
    res = distributed(model, runtime, 2, budget=Budget(timeout=0.001))
    assert str(res.stopped) == "time budget 0.001 s reached" and exit_code([res], False) == 3
    assert res.states < 675 and all(p.status == INCONCLUSIVE for p in res.properties if p.kind != "reachable")
    assert summary(distributed(model, runtime, 2)) == summary(explore(model)[0])


def test_liveness_too_big_to_gather_is_inconclusive_with_the_reason(runtime: Runtime) -> None:
    model = build_model(load_spec(ROOT / "specs/bugs/L5.plug"), "default", {})
    res = distributed(model, runtime, 2, budget=Budget(max_graph_bytes=1000))
    live = [p for p in res.properties if p.kind == "liveness"]
    assert live and all(p.status == INCONCLUSIVE for p in live)
    assert all(p.message.startswith("liveness needs the whole state graph on one machine: ") for p in live)
    assert "above the limit" in live[0].message and "--max-graph-memory" in live[0].message
    single, _ = explore(model)  # the safety verdicts stand
    want = summary(single)["properties"]
    assert summary(res)["properties"][: len(want) - len(live)] == want[: len(want) - len(live)]


def test_a_killed_worker_ends_the_run_inconclusive(runtime: Runtime) -> None:
    model = build_model(load_spec(ROOT / "specs/bugs/L5.plug"), "default", {})
    killed: list[int] = []

    def kill_at_level_3(level: int, pids: list[int]) -> None:
        if level == 3 and not killed:
            os.kill(pids[1], signal.SIGKILL)
            killed.append(pids[1])

    t0 = time.perf_counter()
    res = distributed(model, runtime, 2, on_level=kill_at_level_3)
    assert killed and time.perf_counter() - t0 < 60
    assert res.stopped is not None and res.stopped.kind.value == "worker"
    assert "a worker was lost" in str(res.stopped) and "nothing is concluded" in str(res.stopped)
    assert all(p.status == INCONCLUSIVE for p in res.properties), [(p.name, p.status) for p in res.properties]
    assert all(p.trace is None for p in res.properties)
    assert exit_code([res], False) == 3
    # the runtime recovers: the next search gets fresh workers and the right answer
    single, _ = explore(model)
    assert summary(distributed(model, runtime, 2)) == summary(single)


def _cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["check", *args, "--json"])
    doc = json.loads(capsys.readouterr().out)
    for r in doc["results"]:
        r.pop("seconds"), r.pop("peak_mb")
    return code, doc


def _verdict(p: dict[str, Any]) -> tuple[str, str, int | None]:
    return p["name"], p["status"], len(p["trace"]["steps"]) if "trace" in p else None


def test_cli_workers_json_matches_one_process(runtime: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    runtime.discard()  # the command starts its own workers on the module's runtime: free the CPUs
    spec = str(ROOT / "specs/bugs/L5.plug")
    code, doc = _cli_json(capsys, spec, "--workers", "2")
    want_code, want = _cli_json(capsys, spec)
    assert code == want_code == 0
    got_props, want_props = ([_verdict(p) for p in d["results"][0]["properties"]] for d in (doc, want))
    assert got_props == want_props
    assert doc["results"][0]["states"] == want["results"][0]["states"] == 805


@pytest.fixture
def cluster() -> Iterator[str]:
    """A Ray cluster of two nodes of one CPU each on this machine, started as a user starts
    one (`ray start --head`, then `ray start --address`), in a folder of its own: its
    address. Each `ray start` runs in a process group of its own, which keeps every process it
    starts (Ray's agents outlive their raylet); the groups are ended at the close (`ray stop`
    would end the module's runtime too)."""
    import tempfile

    tmp = tempfile.mkdtemp(prefix="pcray", dir="/tmp")  # Ray's socket paths must stay short
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    ray_cli = [sys.executable, "-c", "from ray.scripts.scripts import main; main()", "start", "--num-cpus", "1"]
    quiet: dict[str, Any] = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    head = subprocess.Popen(
        [*ray_cli, "--head", "--port", str(port), "--include-dashboard", "false", "--block", "--temp-dir", tmp],
        start_new_session=True,
        **quiet,
    )
    groups = [head.pid]
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert head.poll() is None and time.monotonic() < deadline, "ray start --head did not come up"
                time.sleep(0.5)
        second = subprocess.Popen([*ray_cli, "--address", f"127.0.0.1:{port}"], start_new_session=True, **quiet)
        groups.append(second.pid)
        assert second.wait(timeout=90) == 0, "ray start --address failed"
        yield f"127.0.0.1:{port}"
    finally:
        for g in groups:
            try:
                os.killpg(g, signal.SIGKILL)
            except ProcessLookupError:  # nothing of it left
                pass
        head.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def test_cluster_run_matches_one_process(cluster: str) -> None:
    # the --cluster path end to end, in another process as a user runs it: joining by address,
    # workers spread over the two nodes (successors cross between their object stores), and
    # the memory of sent states that only a cluster uses
    for spec in ("specs/bugs/L5.plug", "specs/bugs/C1.plug", "specs/ref_sbm.plug"):
        docs = []
        for extra in (["--cluster", cluster, "--workers", "2"], []):
            cmd = [sys.executable, "-m", "checker.cli", "check", str(ROOT / spec), "--json", *extra]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            assert p.returncode in (0, 1) and "Traceback" not in p.stderr, p.stderr
            docs.append((p.returncode, json.loads(p.stdout)["results"][0]))
        (code, got), (want_code, want) = docs
        assert code == want_code, spec
        assert (got["states"], got["depth"]) == (want["states"], want["depth"]), spec
        assert [_verdict(q) for q in got["properties"]] == [_verdict(q) for q in want["properties"]], spec


def test_cluster_that_does_not_answer_fails_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    code = main(["check", str(ROOT / "specs/ref_sbm.plug"), "--cluster", f"127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 2 and time.perf_counter() - t0 < 10
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port}" in err and "Traceback" not in err


def test_without_ray_workers_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    code = main(["check", str(ROOT / "specs/ref_sbm.plug"), "--workers", "2"])
    err = capsys.readouterr().err
    assert code == 2
    assert "need Ray, which is not installed" in err and "pip install 'ray>=2.9'" in err and "Traceback" not in err


@pytest.mark.slow
def test_every_shipped_spec_agrees(runtime: Runtime) -> None:
    for path in sorted((ROOT / "specs").rglob("*.plug")):
        try:
            model = build_model(load_spec(path), "default", {})
        except SpecError:
            continue
        compare(model, runtime, str(path))


def test_ray_error_messages_go_to_stderr(runtime: Runtime, capfd: pytest.CaptureFixture[str]) -> None:
    """Ray prints a dead worker's story on the driver's stdout; `--json` needs stdout clean."""
    from ray._private import worker

    worker.print_to_stdstream({"lines": ["a worker died"], "pid": "raylet", "is_err": False}, ignore_prefix=False)
    out, err = capfd.readouterr()
    assert "a worker died" in err and "a worker died" not in out

"""`plugcheck check` over a folder of specs, CPU seconds, against an older revision.

    python tests/bench/check_specs.py [--baseline REV] [--runs N] [--jobs N]

Runs `python -m checker.cli check SPECS -q` in a subprocess and reports its CPU time (user +
system, which a loaded machine inflates less than wall time) and wall time, the best of N
runs. With --baseline, the same is measured for the code at REV (a temporary `git worktree`)
on REV's own `specs/` folder, and the current code on that same folder too, so the ratio
compares the two codes on the same input. The current code runs with `--jobs 1` (one
process: the CPU comparison) and with `--jobs N` (default 2: the files in N worker
processes; wall time is what it changes, and only on an otherwise idle machine)."""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cpu_of(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, p.returncode


def best(code: Path, specs: Path, runs: int, jobs: int | None = None) -> tuple[float, float, int]:
    env = dict(os.environ, PYTHONPATH=str(code), NO_COLOR="1")
    cmd = [sys.executable, "-m", "checker.cli", "check", str(specs), "-q"]
    cmd += ["--jobs", str(jobs)] if jobs is not None else []
    got = [cpu_of(cmd, code, env) for _ in range(runs)]
    return min(g[0] for g in got), min(g[1] for g in got), got[0][2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", help="a git revision to compare with")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes of the parallel run")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    for jobs in (1, args.jobs):
        cpu, wall, rc = best(ROOT, ROOT / "specs", args.runs, jobs)
        print(f"current code, current specs/, --jobs {jobs}: {cpu:.2f} s CPU, {wall:.2f} s wall, exit {rc}")
    if not args.baseline:
        return
    tmp = Path(tempfile.mkdtemp(prefix="plugcheck-base-"))
    try:
        add = ["git", "worktree", "add", "-q", "--detach", str(tmp / "wt"), args.baseline]
        subprocess.run(add, cwd=ROOT, check=True)
        old_specs = tmp / "wt" / "specs"
        b_cpu, b_wall, b_rc = best(tmp / "wt", old_specs, args.runs)
        print(f"{args.baseline} code, its specs/: {b_cpu:.2f} s CPU, {b_wall:.2f} s wall, exit {b_rc}")
        for jobs in (1, args.jobs):
            n_cpu, n_wall, n_rc = best(ROOT, old_specs, args.runs, jobs)
            print(f"current code, the same specs/, --jobs {jobs}: {n_cpu:.2f} s CPU, {n_wall:.2f} s wall, exit {n_rc}")
            print(f"  speed-up: {b_cpu / n_cpu:.2f}x CPU, {b_wall / n_wall:.2f}x wall")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tmp / "wt")], cwd=ROOT, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

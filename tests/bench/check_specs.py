"""`plugcheck check` over a folder of specs, CPU seconds, against an older revision.

    python tests/bench/check_specs.py [--baseline REV] [--runs N] [--jobs N]

Runs `python -m checker.cli check SPECS -q` in a subprocess and reports its CPU time (user +
system, which a loaded machine inflates less than wall time) and wall time, the best of N
runs. With --baseline, the same is measured for the code at REV (a temporary `git worktree`)
on REV's own `specs/` folder, and the current code on that same folder too, so the ratio
compares the two codes on the same input. The current code runs with `--jobs 1` (one
process: the CPU comparison) and with `--jobs N` (default 2: the files in N worker
processes; wall time is what it changes, and only on an otherwise idle machine), warm (the
compiled-code and parsed-spec caches in ~/.cache/plugcheck filled by the runs before) and
cold (a temporary home whose cache holds only the parser tables, as the baseline's does). The runs
of the compared codes alternate, round after round: this machine's speed drifts by a third
within minutes, and runs far apart in time would compare the drift."""

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


def once(code: Path, specs: Path, jobs: int | None, extra: dict[str, str]) -> tuple[float, float, int]:
    env = dict(os.environ, PYTHONPATH=str(code), NO_COLOR="1", **extra)
    cmd = [sys.executable, "-m", "checker.cli", "check", str(specs), "-q"]
    cmd += ["--jobs", str(jobs)] if jobs is not None else []
    return cpu_of(cmd, code, env)


def cold_env(home: Path) -> dict[str, str]:
    """A home whose plugcheck cache holds the parser tables, no compiled code and no parsed specs."""
    shutil.rmtree(home, ignore_errors=True)
    cache = home / ".cache" / "plugcheck"
    cache.mkdir(parents=True, mode=0o700)
    (home / ".cache").chmod(0o700)
    for f in (Path.home() / ".cache" / "plugcheck").glob("parser-*"):
        shutil.copy(f, cache / f.name)
    return {"HOME": str(home)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", help="a git revision to compare with")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes of the parallel run")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    tmp = Path(tempfile.mkdtemp(prefix="plugcheck-base-"))
    try:
        runs: dict[str, tuple[Path, Path, int | None, bool]] = {
            f"current code, current specs/, --jobs {j}": (ROOT, ROOT / "specs", j, False) for j in (1, args.jobs)
        }
        base = ""
        if args.baseline:
            add = ["git", "worktree", "add", "-q", "--detach", str(tmp / "wt"), args.baseline]
            subprocess.run(add, cwd=ROOT, check=True)
            old_specs = tmp / "wt" / "specs"
            base = f"{args.baseline} code, its specs/"
            runs[base] = (tmp / "wt", old_specs, None, False)
            for j in (1, args.jobs):
                runs[f"current code, the same specs/, --jobs {j}"] = (ROOT, old_specs, j, False)
                runs[f"current code, the same specs/, --jobs {j}, cold cache"] = (ROOT, old_specs, j, True)
        got: dict[str, list[tuple[float, float, int]]] = {k: [] for k in runs}
        for _ in range(args.runs):
            for name, (code, specs, jobs, cold) in runs.items():
                extra = cold_env(tmp / "home") if cold else {}
                got[name].append(once(code, specs, jobs, extra))
        for name, rs in got.items():
            cpu, wall = min(r[0] for r in rs), min(r[1] for r in rs)
            print(f"{name}: {cpu:.2f} s CPU, {wall:.2f} s wall, exit {rs[0][2]}")
            if base and name != base and "same specs" in name:
                b_cpu, b_wall = min(r[0] for r in got[base]), min(r[1] for r in got[base])
                print(f"  speed-up: {b_cpu / cpu:.2f}x CPU, {b_wall / wall:.2f}x wall")
    finally:
        if args.baseline:
            subprocess.run(["git", "worktree", "remove", "--force", str(tmp / "wt")], cwd=ROOT, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

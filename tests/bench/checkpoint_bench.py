"""What checkpoints cost: the search with and without `--checkpoint`, the size on disk, and a
run stopped half way (`--max-states`) then resumed, against the uninterrupted run.

    python tests/bench/checkpoint_bench.py [SPEC] [--config NAME] [-D NAME=VALUE]... [--every S]

Default: specs/ref_sbm.plug --config b3s4 (no liveness: states only) and, with
`--liveness`, specs/virtio_mem_sbm.plug -D R=4 (liveness: the transitions are kept too).
Each run is `python -m checker.cli check ... --json` in a subprocess; the times are its CPU
seconds (user + system, which a machine shared with other jobs inflates less than wall
time: startup, grounding, search, verdicts, liveness) and its wall time."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str]) -> tuple[dict[str, Any], float, float]:
    """The run's result, its CPU seconds and its wall seconds."""
    env = dict(os.environ, NO_COLOR="1", PYTHONHASHSEED="0")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    cmd = [sys.executable, "-m", "checker.cli", "check", "--json", *args]
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode not in (0, 1, 3):
        sys.exit(f"exit {p.returncode}: {p.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(p.stdout)["results"][0], cpu, wall


def size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spec", nargs="?", default=None)
    ap.add_argument("--config", default=None)
    ap.add_argument("-D", dest="defines", action="append", default=[])
    ap.add_argument("--every", type=float, default=1.0, help="--checkpoint-every (default 1 s)")
    ap.add_argument("--liveness", action="store_true", help="the default spec with liveness (virtio_mem_sbm -D R=4)")
    a = ap.parse_args()
    if a.spec is None:
        a.spec = "specs/virtio_mem_sbm.plug" if a.liveness else "specs/ref_sbm.plug"
        if a.liveness:
            a.defines = a.defines or ["R=4"]
        elif not a.defines:
            a.config = a.config or "b3s4"
    base = [a.spec, *(["--config", a.config] if a.config else []), *[x for d in a.defines for x in ("-D", d)]]
    whole, cpu0, wall0 = run(base)
    n = whole["states"]
    print(f"{' '.join(base)}: {n:,} states, {whole['transitions']:,} transitions (CPU s, wall s)")
    print(f"  uninterrupted:                {cpu0:7.2f}  {wall0:7.2f}")
    tmp = Path(tempfile.mkdtemp(prefix="plugcheck-ckpt-"))
    try:
        with_ck, cpu1, wall1 = run([*base, "--checkpoint", str(tmp / "a"), "--checkpoint-every", str(a.every)])
        assert with_ck["states"] == n
        segs = len(json.loads(next((tmp / "a").rglob("checkpoint.json")).read_text())["segments"])
        mb = size(tmp / "a")
        print(
            f"  --checkpoint-every {a.every:<5g}:    {cpu1:7.2f}  {wall1:7.2f}  ({cpu1 / cpu0 - 1:+.1%} CPU;"
            f" {segs} segments, {mb / 1e6:,.1f} MB = {mb / n:.1f} B/state)"
        )
        half, cpu2, wall2 = run([*base, "--checkpoint", str(tmp / "b"), "--max-states", str(n // 2)])
        t = json.loads(next((tmp / "b").rglob("checkpoint.json")).read_text())["tally"]
        resumed, cpu3, wall3 = run([*base, "--resume", str(tmp / "b")])
        keys = ("states", "transitions", "depth", "properties", "coverage")
        same = {k: resumed[k] for k in keys} == {k: whole[k] for k in keys}
        print(f"  stopped at {n // 2:,} states:  {cpu2:7.2f}  {wall2:7.2f}  ({t['pos']:,} of them expanded)")
        print(
            f"  resumed to the end:           {cpu3:7.2f}  {wall3:7.2f}  (stopped + resumed ="
            f" {(cpu2 + cpu3) / cpu0:.2f}x the uninterrupted CPU; same result: {same})"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

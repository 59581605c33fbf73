#!/usr/bin/env python3
"""`plugcheck simulate`: time to the first violation on every seeded-bug spec, and steps/s
per worker on a configuration too big to explore.

Usage: python tests/bench/simulate_bench.py [--seeds 1,2,3] [--big SPEC] [-D NAME=VALUE ...]
                                            [--big-runs N] [--workers 1,2] [--skip-bugs]
Part 1, per spec in specs/bugs/ and specs/findings/ that expects an invariant, range or
deadlock violation: with the default options (runs, depth, weighted walks) and each seed,
the seconds to the first violation (grounding and compiling included), the steps taken to
it, the walking rate, and the property found. Part 2: the big configuration (default
virtio_mem_sbm.plug B=4 S=4) walked without a violation to find, in one process (walking
time and CPU time apart from compiling) and with each number of workers (wall time from
the start, spawning and each worker's compiling included; per worker: the rate divided by
the workers). Never run from the test suite.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from checker.simulate import LANES, SimOptions, prepare, simulate_here  # noqa: E402
from checker.swarm import simulate  # noqa: E402
from model import build_model, load_spec  # noqa: E402

SAFETY = {"invariant", "always", "range", "deadlock"}
LIMIT = 60.0  # seconds per bug spec and seed


def bug_specs() -> list[Path]:
    out = []
    for f in sorted((ROOT / "specs" / "bugs").glob("*.plug")) + sorted((ROOT / "specs" / "findings").glob("*.plug")):
        model = build_model(load_spec(f), "default", {})
        kinds = {p.name: p.kind for p in model.properties} | {"range": "range", "deadlock": "deadlock"}
        if any(kinds.get(name) in SAFETY for name, e in model.expects.items() if e == "violated"):
            out.append(f)
    return out


def bugs(seeds: list[int]) -> None:
    print(f"time to the first violation, default options (seeds {', '.join(map(str, seeds))}; limit {LIMIT:g} s)")
    worst, missed = 0.0, 0
    for f in bug_specs():
        model = build_model(load_spec(f), "default", {})
        for seed in seeds:
            res = simulate(model, SimOptions(seed=seed, timeout=LIMIT))
            p = res.violation
            found = f"{p.name} ({p.kind}), trace of {len(p.trace or [])} steps" if p else f"NOT FOUND ({res.stopped})"
            worst, missed = (max(worst, res.seconds), missed) if p else (worst, missed + 1)
            print(
                f"  {f.relative_to(ROOT)} seed {seed}: {res.seconds:.2f} s, {res.steps:,} steps, "
                f"{res.steps_per_second:,.0f} steps/s: {found}"
            )
    print(f"slowest violation found: {worst:.2f} s; (spec, seed) pairs without one: {missed}")


def big(spec: str, defines: dict[str, int], runs: int, workers: list[int]) -> None:
    model = build_model(load_spec(spec), "default", defines)
    print(f"{spec} {defines}: {runs:,} runs of depth 100")
    for n in workers:
        opts = SimOptions(runs=runs, seed=1, workers=n)
        if n == 1:
            t0 = time.perf_counter()
            walker = prepare(model, opts)
            t1, c1 = time.perf_counter(), time.process_time()
            tally, stopped, steps = simulate_here(walker, t1)
            secs, cpu = time.perf_counter() - t1, time.process_time() - c1
            verdict = "violation" if tally.winner() else (stopped or "no violation")
            print(
                f"  1 worker: compile {t1 - t0:.2f} s, {steps:,} steps in {secs:.2f} s = {steps / secs:,.0f} steps/s"
                f" (CPU {cpu:.2f} s = {steps / cpu:,.0f} steps/CPU-s); kernels {walker.kern is not None}; {verdict}"
            )
        else:
            res = simulate(model, opts)
            verdict = "violation" if res.violation else (res.stopped or "no violation")
            print(
                f"  {n} workers: {res.simulated:,} steps in {res.seconds:.2f} s (spawn and compile included) = "
                f"{res.steps_per_second:,.0f} steps/s, {res.steps_per_second / n:,.0f} per worker; {verdict}"
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--big", default=str(ROOT / "specs" / "virtio_mem_sbm.plug"))
    ap.add_argument("-D", action="append", default=None)
    ap.add_argument("--big-runs", type=int, default=6 * LANES)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--skip-bugs", action="store_true")
    args = ap.parse_args()
    if not args.skip_bugs:
        bugs([int(s) for s in args.seeds.split(",")])
    defines = {k: int(v) for k, v in (d.split("=", 1) for d in (args.D or ["B=4", "S=4"]))}
    big(args.big, defines, args.big_runs, [int(w) for w in args.workers.split(",")])


if __name__ == "__main__":
    main()

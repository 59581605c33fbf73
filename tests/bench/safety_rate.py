#!/usr/bin/env python3
"""Explicit safety search rate (states/s) on one spec and config, per kernel.

Usage: python tests/bench/safety_rate.py SPEC [-D NAME=VALUE ...] [--config NAME]
                                         [--kernel single,frontier] [--repeat N]
Temporal properties are dropped (liveness is measured by liveness_bench.py), so the number is
the breadth-first search alone: grounding, compiling, successors, de-duplication, invariants.
Prints one line per kernel: states, transitions, depth, wall seconds and states/s, CPU
seconds and states per CPU second (steadier on a shared machine), peak MB of the process. Never run from the test suite.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from checker.search import explore  # noqa: E402
from model import build_model, load_spec  # noqa: E402

SAFETY = ("invariant", "always", "reachable")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("-D", action="append", default=[])
    ap.add_argument("--config")
    ap.add_argument("--kernel", default="single,frontier")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    overrides = {k: int(v) for k, v in (d.split("=", 1) for d in args.D)}
    model = build_model(load_spec(args.spec), args.config, overrides)
    model = dataclasses.replace(model, properties=[p for p in model.properties if p.kind in SAFETY])
    for kernel in args.kernel.split(","):
        best = cpu = None
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            res, _ = explore(model, kernel=kernel)
            secs, csecs = time.perf_counter() - t0, time.process_time() - c0
            best = secs if best is None else min(best, secs)
            cpu = csecs if cpu is None else min(cpu, csecs)
        assert best is not None and cpu is not None
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{Path(args.spec).name} {overrides or ''} kernel={kernel}: {res.states:,} states, "
            f"{res.transitions:,} transitions, depth {res.depth}, {best:.2f} s, "
            f"{res.states / best:,.0f} states/s; CPU {cpu:.2f} s, {res.states / cpu:,.0f} states/CPU-s; "
            f"peak {peak:.0f} MB"
        )


if __name__ == "__main__":
    main()

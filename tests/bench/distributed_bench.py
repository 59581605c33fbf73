#!/usr/bin/env python3
"""The search partitioned on Ray against the one-process search, on one configuration
(default: ref_sbm.plug with B=3 S=4 L=2, the `b3s4` config: 11.5 M states).

Usage: python tests/bench/distributed_bench.py [SPEC] [--config NAME] [-D NAME=VALUE ...]
                                               [--workers 1,2] [--skip-single]
Prints, per run: states, wall seconds and states/s (ray.init and the workers' start apart),
CPU seconds of this process and of every worker (a shared machine gives a run less than its
cores: states per CPU second shows the work, wall time what a user waits), each worker's
peak resident memory and what it grew by during the search (bytes per state owned), bytes
sent through the object store per level (largest, mean, total, per state), and the load
average. Then whether 2 workers reach 1.5x the one-process states/s, and a paper estimate of
what 1 billion states need. Never run from the test suite.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from checker.distributed import Runtime, explore_distributed  # noqa: E402
from checker.search import explore  # noqa: E402
from model import build_model, load_spec  # noqa: E402

TARGET = 1.5  # 2 workers against one process, states/s


def cpu_self() -> float:
    t = os.times()
    return t.user + t.system


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spec", nargs="?", default=str(ROOT / "specs" / "ref_sbm.plug"))
    ap.add_argument("--config", default="b3s4")
    ap.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--skip-single", action="store_true")
    args = ap.parse_args()
    defines = {k: int(v) for k, v in (d.split("=", 1) for d in args.defines)}
    model = build_model(load_spec(args.spec), args.config, defines)
    print(f"{Path(args.spec).name} [{args.config}] {defines or ''}; cores {os.cpu_count()}; load {loadavg()}")
    rates: dict[str, float] = {}
    if not args.skip_single:
        c0, t0 = cpu_self(), time.perf_counter()
        res, _ = explore(model)
        wall, cpu = time.perf_counter() - t0, cpu_self() - c0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        rates["single"] = res.states / wall
        print(
            f"one process: {res.states:,} states, {res.transitions:,} transitions, depth {res.depth}; "
            f"{wall:.1f} s wall, {res.states / wall:,.0f} states/s; CPU {cpu:.1f} s "
            f"({res.states / cpu:,.0f} states per CPU s); peak {peak / 2**20:,.0f} MiB "
            f"({peak / res.states:.0f} B/state with the process); load {loadavg()}"
        )
        del res
    for n in [int(x) for x in args.workers.split(",")]:
        rt = Runtime(n)
        t0 = time.perf_counter()
        ray = rt.start()
        actors = rt.actors(n)
        before = ray.get([a.usage.remote() for a in actors])
        start = time.perf_counter() - t0
        c0, t0 = cpu_self(), time.perf_counter()
        d = explore_distributed(model, rt)
        wall, cpu = time.perf_counter() - t0, cpu_self() - c0
        after = ray.get([a.usage.remote() for a in rt.actors(n)])
        res, st = d.result, d.stats
        wcpu = [a[0] - b[0] for a, b in zip(after, before, strict=True)]
        grown = [a[2] - b[1] for a, b in zip(after, before, strict=True)]
        rates[f"{n}"] = res.states / wall
        sent = st.sent
        print(
            f"{n} worker(s): {res.states:,} states, depth {res.depth}, verdict {res.verdict}; ray.init and "
            f"workers {start:.1f} s; search {wall:.1f} s wall, {res.states / wall:,.0f} states/s; CPU driver "
            f"{cpu:.1f} s, workers {' + '.join(f'{c:.1f}' for c in wcpu)} s "
            f"({res.states / (cpu + sum(wcpu)):,.0f} states per CPU s); load {loadavg()}"
        )
        print(
            f"  per worker peak RSS {', '.join(f'{a[2] / 2**20:,.0f}' for a in after)} MiB; grown during the "
            f"search {', '.join(f'{g / 2**20:,.0f}' for g in grown)} MiB = {sum(grown) / res.states:.0f} B/state"
        )
        print(
            f"  object store per level: largest {max(sent) / 2**20:,.1f} MiB, mean {sum(sent) / len(sent) / 2**20:,.1f}"
            f" MiB over {len(sent)} levels, total {sum(sent) / 2**30:.2f} GiB = {sum(sent) / res.states:.0f} B/state;"
            f" to another partition: {sum(st.sent_away) / max(sum(sent), 1):.0%}"
        )
        rt.close()
    if "single" in rates and "2" in rates:
        r = rates["2"] / rates["single"]
        met = "met" if r >= TARGET else "not met"
        print(f"2 workers / one process, states/s (wall): {r:.2f}x; target {TARGET}x: {met}")


if __name__ == "__main__":
    main()

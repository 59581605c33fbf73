"""Liveness check time and peak memory on ref_sbm (not collected by pytest).

    python tests/bench/liveness_bench.py                 # b3s3: 389,610 states
    python tests/bench/liveness_bench.py --config b2s4l2 --fair
    python tests/bench/liveness_bench.py --config default -D B=5 -D S=2 -D L=2 --max-graph-states 3000000

Runs the search once without the graph (the search cost), then builds the networkx graph
and checks `offline_gets_onlined` (tests/specs/liveness/ref_sbm_live*.plug), reporting
each phase's seconds and the process's peak resident memory after it."""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from checker.explicit import Budget, explore  # noqa: E402
from checker.graph import DEFAULT_MAX_GRAPH_STATES, build_graph  # noqa: E402
from checker.liveness import Liveness  # noqa: E402
from model import build_model, load_spec  # noqa: E402

SPECS = ROOT / "tests" / "specs" / "liveness"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Clock:
    """Wall and CPU seconds of a phase (CPU time is what counts on a shared machine)."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __str__(self) -> str:
        return f"{time.perf_counter() - self.wall:7.1f} s wall {time.process_time() - self.cpu:7.1f} s cpu"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="b3s3")
    ap.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE", help="e.g. -D B=5")
    ap.add_argument("--fair", action="store_true", help="fair driver actions (the property holds)")
    ap.add_argument("--max-graph-states", type=int, default=DEFAULT_MAX_GRAPH_STATES)
    a = ap.parse_args()
    spec = SPECS / ("ref_sbm_live_fair.plug" if a.fair else "ref_sbm_live.plug")
    defines = {k: int(v) for k, _, v in (d.partition("=") for d in a.defines)}
    model = build_model(load_spec(spec), a.config, defines)
    t = Clock()
    res, ex = explore(model, Budget(max_graph_states=1))  # the search alone: liveness refuses at once
    print(f"{spec.name} [{a.config}] {res.constants}: {res.states:,} states, {res.transitions:,} transitions")
    print(f"search    {t}   peak {peak_mb():7,.0f} MB")
    t = Clock()
    g = build_graph(ex, a.max_graph_states, res.transitions)
    print(f"graph     {t}   peak {peak_mb():7,.0f} MB   {g.number_of_edges():,} edges")
    t = Clock()
    live = Liveness(ex, g)
    k, p = next((k, p) for k, p in enumerate(model.properties) if p.kind == "leadsto")
    v = live.check(k, p)
    loop = f", lasso of {len(v.trace)} steps, loop at {v.trace.loop}" if v.trace else ""
    print(f"liveness  {t}   peak {peak_mb():7,.0f} MB   {p.name}: {v.status}{loop}")


if __name__ == "__main__":
    main()

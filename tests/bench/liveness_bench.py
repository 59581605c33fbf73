"""Liveness check time and peak memory (not collected by pytest).

    python tests/bench/liveness_bench.py                          # ref_sbm_live b3s3: 389,610 states
    python tests/bench/liveness_bench.py --config b3s4 --fair     # 11.5 M states, 256 M transitions
    python tests/bench/liveness_bench.py --spec specs/virtio_mem_sbm.plug --config default -D S=3

Runs the search once with liveness refused (the search cost), then records the transitions
as arrays and checks every liveness property, reporting each phase's seconds and the
process's peak resident memory after it, and the end-to-end time of `explore` with
liveness included."""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from checker.liveness import KINDS, Liveness, graph_bytes  # noqa: E402
from checker.search import Budget, explore  # noqa: E402
from model import build_model, load_spec  # noqa: E402

SPECS = ROOT / "tests" / "specs" / "liveness"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Clock:
    """Wall and CPU seconds of a phase (CPU time is what counts on a shared machine)."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __str__(self) -> str:
        return f"{time.perf_counter() - self.wall:7.2f} s wall {time.process_time() - self.cpu:7.2f} s cpu"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", default=None, help="default: tests/specs/liveness/ref_sbm_live[_fair].plug")
    ap.add_argument("--config", default="b3s3")
    ap.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE", help="e.g. -D B=5")
    ap.add_argument("--fair", action="store_true", help="ref_sbm with fair driver actions (the property holds)")
    ap.add_argument("--end-to-end", action="store_true", help="also time explore() with liveness, in one call")
    a = ap.parse_args()
    spec = Path(a.spec) if a.spec else SPECS / ("ref_sbm_live_fair.plug" if a.fair else "ref_sbm_live.plug")
    defines = {k: int(v) for k, _, v in (d.partition("=") for d in a.defines)}
    model = build_model(load_spec(spec), a.config, defines)
    if a.end_to_end:
        t = Clock()
        res, _ = explore(model)
        live = [p for p in res.properties if p.kind == "liveness"]
        print(
            f"end to end {t}   peak {peak_mb():7,.0f} MB   {res.states:,} states, verdict {res.verdict}, "
            + ", ".join(f"{p.name}: {p.status}" for p in live)
        )
        return
    t = Clock()
    res, ex = explore(model, Budget(max_graph_states=0))  # the search alone: liveness refuses at once
    print(f"{spec.name} [{a.config}] {res.constants}: {res.states:,} states, {res.transitions:,} transitions")
    print(f"estimate  {graph_bytes(res.states, res.transitions) / 2**20:,.0f} MB for liveness")
    print(f"search    {t}   peak {peak_mb():7,.0f} MB")
    t = Clock()
    live = Liveness(ex, res.transitions)
    print(f"edges     {t}   peak {peak_mb():7,.0f} MB   {live.edges.transitions:,} transitions recorded")
    total = Clock()
    for k, p in enumerate(model.properties):
        if p.kind not in KINDS:
            continue
        t = Clock()
        v = live.check(k, p)
        loop = f", lasso of {len(v.trace)} steps, loop at {v.trace.loop}" if v.trace else ""
        print(f"property  {t}   peak {peak_mb():7,.0f} MB   {p.name}: {v.status}{loop}")
    print(f"liveness  {total}   (after the edges)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""plugcheck against SPIN on ref-sbm (../shared/bench/REFERENCE.md), in one run.

Usage: python tests/bench/ref_vs_spin.py [B,S,L ...] [--no-spin] [--profile] [--kernel K]
Without sizes: every size of ../shared/bench/RESULTS.md. Each checker runs in its own process:
plugcheck's peak memory is that process's ru_maxrss; SPIN's time, count and memory are the
ones pan reports (the C compile is not counted). Needs `spin` and `gcc` for the SPIN column
(`apt-get install spin`); never run from the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPIN_SH = Path(os.environ.get("PLUGCHECK_SPIN_REF", ROOT.parent / "shared" / "bench" / "spin_ref.sh"))
SIZES = [(1, 2, 1), (2, 2, 1), (2, 3, 1), (2, 4, 1), (2, 4, 2), (3, 3, 2), (3, 4, 2), (4, 3, 2)]
EXPECTED = {
    (1, 2, 1): 36,
    (2, 2, 1): 675,
    (2, 3, 1): 7749,
    (2, 4, 1): 80919,
    (2, 4, 2): 82944,
    (3, 3, 2): 389610,
    (3, 4, 2): 11457693,
    (4, 3, 2): 16859583,
}


def worker(b: int, s: int, lim: int, kernel: str, profile: bool) -> None:
    """Explore ref-sbm B S L in this process and print one JSON line."""
    sys.path.insert(0, str(ROOT))
    from checker.search import explore
    from model import build_model, load_spec

    model = build_model(load_spec(ROOT / "specs" / "ref_sbm.plug"), "default", {"B": b, "S": s, "L": lim})

    def cpu_now() -> float:  # this process and its children: gcc building the C kernels counts
        r, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime

    cpu0 = cpu_now()
    if profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        res, _ = prof.runcall(explore, model, None, True, None, 1.0, kernel)
        st = pstats.Stats(prof)
        cum = {f"{Path(k[0]).name}:{k[2]}": v[3] for k, v in st.stats.items()}  # type: ignore[attr-defined]

        def pick(name: str) -> float:
            # the search's own modules (store, driver, tally) and the generated kernels
            mods = ("store.py", "driver.py", "tally.py", "plugcheck-kernels")
            return sum(v for k, v in cum.items() if k.endswith(":" + name) and any(m in k for m in mods))

        kernels, probe, insert = pick("successors"), pick("contains"), pick("insert")
        parts = {
            "successor kernels (guards, bodies)": kernels,
            "dedup: hash probe of successors": probe,
            "dedup: hash insert (+ growth)": insert,
            "dedup: gather, drop self-loops, order, unique": pick("expand") - kernels - probe,
            "invariant/reachable kernels": pick("_first_hits"),
            "total (profiled)": res.seconds,
        }
    else:
        res, _ = explore(model, kernel=kernel)
        parts = {}
    cpu = cpu_now() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    holds = all(p.status == "holds" for p in res.properties)
    out = {"states": res.states, "seconds": res.seconds, "cpu": cpu, "peak_mb": peak, "holds": holds, "parts": parts}
    print(json.dumps(out))


def run_plugcheck(size: tuple[int, int, int], kernel: str, profile: bool) -> dict[str, object]:
    args = [sys.executable, __file__, "--worker", ",".join(map(str, size)), "--kernel", kernel]
    if profile:
        args.append("--profile")
    p = subprocess.run(args, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise SystemExit(f"plugcheck worker failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_spin(size: tuple[int, int, int]) -> dict[str, object] | None:
    t0 = time.perf_counter()
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(["bash", str(SPIN_SH), *map(str, size)], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        print(f"spin_ref.sh {size}: exit {p.returncode}: {p.stderr.strip()[:200]}", file=sys.stderr)
        return None
    text = p.stdout
    states = int(re.search(r"(\d+) states, stored", text).group(1))  # type: ignore[union-attr]
    m = re.search(r"pan: elapsed time ([\d.e+]+) seconds", text)
    mem = re.search(r"([\d.]+)\s+total actual memory usage", text)
    return {
        "states": states,
        "seconds": float(m.group(1)) if m else wall,
        "cpu": (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime),  # includes spin -a and gcc
        "peak_mb": float(mem.group(1)) if mem else float("nan"),
        "errors": "errors: 0" in text,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", help="B,S,L (default: every size of RESULTS.md)")
    ap.add_argument("--no-spin", action="store_true", help="only plugcheck")
    ap.add_argument("--profile", action="store_true", help="where plugcheck's time goes (cProfile; slower)")
    ap.add_argument("--kernel", default="auto", choices=("auto", "native", "single", "frontier"))
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        b, s, lim = map(int, args.worker.split(","))
        return worker(b, s, lim, args.kernel, args.profile)
    sizes = [tuple(map(int, x.split(","))) for x in args.sizes] or SIZES
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores); kernel={args.kernel}")
    hdr = (
        f"{'B S L':7} {'states':>11} | {'plugcheck s':>11} {'st/s':>9} {'cpu s':>7} {'peak MB':>8}"
        f" | {'SPIN s':>8} {'st/s':>9} {'peak MB':>8} | {'speed x':>7} {'mem x':>6} same"
    )
    print(hdr)
    print("-" * len(hdr))
    for size in sizes:
        pc = run_plugcheck(size, args.kernel, args.profile)  # type: ignore[arg-type]
        sp = None if args.no_spin else run_spin(size)  # type: ignore[arg-type]
        n, secs = int(pc["states"]), float(pc["seconds"])  # type: ignore[arg-type]
        line = f"{' '.join(map(str, size)):7} {n:>11,} | {secs:>11.2f} {n / secs:>9,.0f} {pc['cpu']:>7.1f}"
        line += f" {pc['peak_mb']:>8.0f}"
        if sp is not None:
            ss = max(float(sp["seconds"]), 1e-3)  # type: ignore[arg-type]
            same = "yes" if int(sp["states"]) == n == EXPECTED.get(size, n) else "NO"  # type: ignore[call-overload]
            line += (
                f" | {ss:>8.2f} {int(sp['states']) / ss:>9,.0f} {sp['peak_mb']:>8.0f}"  # type: ignore[call-overload]
                f" | {ss / secs:>7.2f} {float(sp['peak_mb']) / float(pc['peak_mb']):>6.2f} {same}"  # type: ignore[arg-type]
            )
        else:
            line += f" | {'-':>8} {'-':>9} {'-':>8} | {'-':>7} {'-':>6} " + (
                "yes" if n == EXPECTED.get(size, n) else "NO"  # type: ignore[call-overload]
            )
        print(line, flush=True)
        if pc["parts"]:
            for k, v in pc["parts"].items():  # type: ignore[attr-defined]
                print(f"    {k:40} {v:8.2f} s")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

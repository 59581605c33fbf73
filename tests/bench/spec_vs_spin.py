#!/usr/bin/env python3
"""plugcheck against SPIN on the shipped specs: each spec exported with `plugcheck export --to
promela`, then `spin -a -o2`, `gcc -O2 -DBFS -DSAFETY`, pan; one table of states, seconds and
peak memory.

Usage: python tests/bench/spec_vs_spin.py [SPEC[:CONFIG][:NAME=V,NAME=V] ...] [--benchmark]
                                          [--no-spin] [--timeout S]
Without arguments: every shipped spec (specs/, bugs and findings included) and every config
meant for the explicit engine (`--benchmark` adds the benchmark configs). An argument names
one spec (a path, or the stem of a shipped spec), optionally a config, and -D overrides:
`virtio_mem_sbm::B=3,S=4` is the default config with B=3 and S=4.

Both sides check the same safety properties (invariants, range errors, deadlocks); temporal
properties are left out of plugcheck's run, as SPIN does not get them. plugcheck runs in its
own process (its peak memory is that process's ru_maxrss; the time is the search's own). For
SPIN, the time is pan's wall clock and the memory pan's ru_maxrss; `spin -a` and gcc are not
counted. pan's hash table is sized from the state count (-w), as one would tune it. SPIN's
states are its nominal count minus the documented extra start state (specs with `= any`).
Never run from the test suite; needs `spin` and `gcc` for the SPIN columns.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from checker.export import safety_part, to_promela  # noqa: E402
from checker.export.spin import SpinError, hash_arg, run_spin, spin_missing  # noqa: E402
from model import build_model, config_names, load_spec  # noqa: E402


def worker(path: str, config: str, defines: dict[str, int]) -> None:
    """Explore one configuration in this process and print one JSON line."""
    from checker.search import explore

    model = safety_part(build_model(load_spec(path), config, defines))
    res, _ = explore(model)
    bad = [p.name for p in res.properties if p.kind in ("invariant", "range", "deadlock") and p.status == "violated"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"states": res.states, "seconds": res.seconds, "peak_mb": peak, "violated": bad}))


def run_plugcheck(path: str, config: str, defines: dict[str, int], timeout: float) -> dict[str, object] | None:
    args = [sys.executable, __file__, "--worker", json.dumps([path, config, defines])]
    try:
        p = subprocess.run(args, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if p.returncode != 0:
        raise SystemExit(f"plugcheck worker failed on {path} [{config}]:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def targets(args: list[str], benchmark: bool) -> list[tuple[str, str, dict[str, int]]]:
    shipped = {p.stem: p for p in sorted((ROOT / "specs").rglob("*.plug"))}
    out: list[tuple[str, str, dict[str, int]]] = []
    if not args:
        for p in shipped.values():
            spec = load_spec(str(p))
            for cfg in config_names(spec):
                c = build_model(spec, cfg, {}).config
                if "explicit" in c.engines and (benchmark or not c.benchmark):
                    out.append((str(p), cfg, {}))
        return out
    for a in args:
        name, _, rest = a.partition(":")
        cfg, _, defs = rest.partition(":")
        path = str(shipped[name]) if name in shipped else name
        d = {k: int(v) for k, v in (x.split("=") for x in defs.split(",") if x)}
        out.append((path, cfg or "default", d))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("targets", nargs="*", help="SPEC[:CONFIG][:NAME=V,...] (default: every shipped spec and config)")
    ap.add_argument("--benchmark", action="store_true", help="also the configs marked benchmark")
    ap.add_argument("--no-spin", action="store_true", help="only plugcheck")
    ap.add_argument("--timeout", type=float, default=600.0, help="per checker and configuration (default 600 s)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        path, config, defines = json.loads(args.worker)
        return worker(path, config, defines)
    missing = "--no-spin" if args.no_spin else spin_missing()
    if missing:
        print(f"SPIN columns left out: {missing}", file=sys.stderr)
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    hdr = (
        f"{'spec [config] constants':58} {'states':>11} {'SPIN states':>11} | {'ours s':>7} {'ours MB':>8}"
        f" | {'SPIN s':>7} {'SPIN MB':>8} | {'time x':>6} {'mem x':>6} | verdicts"
    )
    print(hdr)
    print("-" * len(hdr))
    for path, config, defines in targets(args.targets, args.benchmark):
        model = build_model(load_spec(path), config, defines)
        consts = " ".join(f"{k}={v}" for k, v in model.consts.items())
        label = f"{Path(path).stem} [{config}] {consts}"
        pc = run_plugcheck(path, config, defines, args.timeout)
        if pc is None:
            print(f"{label[:58]:58} plugcheck did not finish in {args.timeout:g} s", flush=True)
            continue
        n, secs, mb = int(pc["states"]), float(pc["seconds"]), float(pc["peak_mb"])  # type: ignore[call-overload, arg-type]
        line = f"{label[:58]:58} {n:>11,}"
        if missing:
            print(line + f" {'-':>11} | {secs:>7.2f} {mb:>8.0f} |", flush=True)
            continue
        ex = to_promela(model)
        with tempfile.TemporaryDirectory() as d:
            try:
                sp = run_spin(ex.text, Path(d), ("-O2",), ex.vectorsz, ("-c0", hash_arg(n)), args.timeout)
            except SpinError as e:
                print(f"{line} SPIN failed: {str(e).splitlines()[0]}", flush=True)
                continue
        spin_n = sp.nominal - ex.extra_states
        same_verdict = bool(pc["violated"]) == (sp.errors > 0)
        verdict = ("violated" if pc["violated"] else "hold") + (" (same)" if same_verdict else " (SPIN DIFFERS)")
        ss = max(sp.seconds, 1e-3)
        line += (
            f" {spin_n:>11,} | {secs:>7.2f} {mb:>8.0f} | {ss:>7.2f} {sp.peak_mb:>8.0f}"
            f" | {ss / max(secs, 1e-3):>6.2f} {sp.peak_mb / mb:>6.2f} | {verdict}"
        )
        if spin_n != n and not any(p == "range" for p in pc["violated"]):  # type: ignore[attr-defined]
            line += "  STATE COUNTS DIFFER"
        print(line, flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print("time x, mem x: SPIN's over plugcheck's (above 1: plugcheck is faster / smaller)")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()

#!/usr/bin/env python3
"""Where an explicit safety search spends its CPU time: grounding and compiling, the
successor backend, the property kernels, the visited set's look-ups and inserts, and the rest
of the driver (self-loop filter, sorting a chunk's new states into discovery order).

Usage: python tests/bench/search_profile.py SPEC[:CONFIG][:NAME=V,NAME=V] ...
(the target syntax of spec_vs_spin.py; temporal properties are left out, as there).
Each part is timed by wrapping the function that does it (CPU seconds, user + system), so the
search that runs is the real one; "driver, rest" is the search's time minus the parts.
Also printed: transitions (successor candidates) and those not yet in the visited set, per
state. Never run from the test suite.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import checker.search.engine as engine  # noqa: E402
from checker.export import safety_part  # noqa: E402
from checker.search.store import Visited  # noqa: E402
from model import build_model, load_spec  # noqa: E402

CPU: dict[str, float] = defaultdict(float)
COUNT: dict[str, int] = defaultdict(int)


def timed(part: str, fn: Callable[..., Any], count_rows: bool = False) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kw: Any) -> Any:
        t = time.process_time()
        try:
            return fn(*args, **kw)
        finally:
            CPU[part] += time.process_time() - t
            if count_rows:
                COUNT[part] += int(args[1].shape[0])

    return wrapper


def profile(path: str, config: str, defines: dict[str, int], kernel: str) -> None:
    CPU.clear()
    COUNT.clear()
    chosen = engine.choose

    def spy(*args: Any) -> Any:
        CPU["prep (ground, compile)"] = time.process_time() - t0
        b = chosen(*args)
        for attr, part in (
            ("expand", "successor backend"),
            ("violated", "invariant kernels"),
            ("reached", "reachable kernels"),
        ):
            setattr(b, attr, timed(part, getattr(b, attr)))
        CPU["backend"] = 0.0
        COUNT[b.name] = 1
        return b

    engine.choose = spy  # type: ignore[assignment]
    model = safety_part(build_model(load_spec(path), config, defines))
    t0 = time.process_time()
    res, _ = engine.explore(model, kernel=kernel)
    total = time.process_time() - t0
    engine.choose = chosen  # type: ignore[assignment]
    order = ["prep (ground, compile)", "successor backend", "invariant kernels", "reachable kernels"]
    order += ["visited.probe", "visited.probe_values", "visited.insert"]
    parts = [p for p in order if p in CPU]
    rest = total - sum(CPU[p] for p in parts)
    consts = " ".join(f"{k}={v}" for k, v in model.consts.items())
    backend = next(k for k in ("native", "frontier", "single", "reference") if k in COUNT)
    print(f"{Path(path).stem} [{config}] {consts}: {res.states:,} states, {backend}, {total:.2f} CPU s")
    for p in [*parts, "driver, rest"]:
        v = rest if p == "driver, rest" else CPU[p]
        print(f"  {p:28} {v:8.2f} s  {100 * v / max(total, 1e-9):5.1f} %")
    n = max(1, res.states)
    print(
        f"  transitions per state {res.transitions / n:.2f}; looked up in the visited set per state"
        f" {(COUNT['visited.probe'] + COUNT['visited.probe_values']) / n:.2f};"
        f" {res.states / max(total, 1e-9):,.0f} states per CPU second"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("targets", nargs="+", help="SPEC[:CONFIG][:NAME=V,...]")
    ap.add_argument("--kernel", default="auto", help="the successor backend, as `plugcheck check --kernel`")
    args = ap.parse_args()
    # contains and lookup go through probe and probe_values
    for attr, rows in (("probe", True), ("probe_values", True), ("insert", False)):
        setattr(Visited, attr, timed(f"visited.{attr}", getattr(Visited, attr), count_rows=rows))
    shipped = {p.stem: p for p in sorted((ROOT / "specs").rglob("*.plug"))}
    for a in args.targets:
        name, _, rest = a.partition(":")
        cfg, _, defs = rest.partition(":")
        d = {k: int(v) for k, v in (x.split("=") for x in defs.split(",") if x)}
        profile(str(shipped[name]) if name in shipped else name, cfg or "default", d, args.kernel)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The partitioned search's own cost, without Ray: N partitions driven in this process by the
same level rounds (`distributed.levels.run_levels`) through a stand-in for Ray that calls each
actor method at once, against the one-process search. Prints CPU seconds for the whole run and
per partition and method (`step`: number, check and route a level; `absorb`: take what was
sent). What two partitions cost beyond the one process is what no number of cores gives back.

Usage: python tests/bench/partitions_in_process.py [SPEC] [--config NAME] [--parts N]
(default: ref_sbm.plug, config b3s4, 2 partitions). Never run from the test suite.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import checker.distributed.levels as levels  # noqa: E402
from checker.codegen import compile_model  # noqa: E402
from checker.distributed.partition import Partition  # noqa: E402
from checker.kernels import words  # noqa: E402
from checker.search import explore  # noqa: E402
from checker.search.budget import Budget, Clock  # noqa: E402
from checker.search.engine import initial_states  # noqa: E402
from model import build_model, load_spec  # noqa: E402
from model.ground import ground  # noqa: E402

CPU: dict[tuple[str, int], float] = defaultdict(float)


class _Ref:
    def __init__(self, value: Any) -> None:
        self.value = value


class _Method:
    def __init__(self, part: Partition, index: int, name: str, returns: int = 1) -> None:
        self.part, self.index, self.name, self.returns = part, index, name, returns

    def options(self, num_returns: int) -> _Method:
        return _Method(self.part, self.index, self.name, num_returns)

    def remote(self, *args: Any) -> Any:
        args = tuple(a.value if isinstance(a, _Ref) else a for a in args)
        t = time.process_time()
        out = getattr(self.part, self.name)(*args)
        CPU[(self.name, self.index)] += time.process_time() - t
        return [_Ref(x) for x in out] if self.returns > 1 else _Ref(out)


class _Actor:
    def __init__(self, index: int) -> None:
        self.part, self.index = Partition(), index

    def __getattr__(self, name: str) -> _Method:
        return _Method(self.part, self.index, name)


class _Ray:
    def wait(self, refs: list[Any], num_returns: int, timeout: float) -> tuple[list[Any], list[Any]]:
        return refs, []


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spec", nargs="?", default=str(ROOT / "specs" / "ref_sbm.plug"))
    ap.add_argument("--config", default="b3s4")
    ap.add_argument("--parts", type=int, default=2)
    args = ap.parse_args()
    model = build_model(load_spec(args.spec), args.config, {})
    c0 = time.process_time()
    res, _ = explore(model)
    one = time.process_time() - c0
    print(f"{Path(args.spec).name} [{args.config}]: one process {res.states:,} states, {one:.2f} CPU s")
    levels.get = lambda ray, ref: ref.value  # the stand-in's results are at hand
    gm = ground(model)
    comp = compile_model(gm)
    budget = Budget()
    clock = Clock(time.perf_counter(), None)
    init, stop = initial_states(gm, comp.layout, budget, clock)
    actors = [_Actor(j) for j in range(args.parts)]
    c0 = time.process_time()
    out = levels.run_levels(_Ray(), actors, model, "auto", gm, init, words(comp.layout), budget, clock, stop)
    total = time.process_time() - c0
    print(f"{args.parts} partitions: {out.book.total:,} states, {total:.2f} CPU s ({total / one:.2f}x one process)")
    for j in range(args.parts):
        step, absorb = CPU[("step", j)], CPU[("absorb", j)]
        print(f"  partition {j}: step {step:.2f} s, absorb {absorb:.2f} s, together {step + absorb:.2f} s")
    assert out.book.total == res.states, "the partitions reached another number of states"


if __name__ == "__main__":
    main()

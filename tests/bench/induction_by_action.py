"""The induction engine action by action, or a whole proof timed.

    python tests/bench/induction_by_action.py SPEC [CONFIG] [SECONDS] [ACTION...]
    python tests/bench/induction_by_action.py --whole [--jobs N] SPEC [CONFIG] [SECONDS]

Action by action: which instance groups are proved to preserve every invariant, which have a
counterexample to induction, and which run out of time (SECONDS, default 100, is each group's
own budget; ACTIONs restrict the run). The engine itself stops at the first group it cannot
answer; this shows how far a proof at a size like virtio_mem_sbm's `linux` config gets.
Without ACTIONs, range (one query per action whose instances may fail) and deadlock follow,
each timed, in the same process (what `--jobs` hands to its workers after the groups).

`--whole` runs the engine as `plugcheck check --engine induction --jobs N` does (the safety
properties; N default 1; SECONDS the run's budget, default none) and prints the verdicts, the wall time and the CPU
time of this process and its workers (on a shared machine the CPU time is the steadier number).
"""

from __future__ import annotations

import resource
import sys
import time

from checker.selection import Selection
from checker.symbolic.encode import Encoder
from checker.symbolic.induction import Prover, Unknown, groups, induction
from checker.symbolic.unroll import Clock, SymOptions
from model import build_model, load_spec
from model.ground import ground


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def whole(args: list[str]) -> None:
    jobs = 1
    if args[:1] == ["--jobs"]:
        jobs, args = int(args[1]), args[2:]
    spec, config = args[0], (args[1] if len(args) > 1 and args[1] != "-" else None)
    budget = float(args[2]) if len(args) > 2 else None
    t, c = time.perf_counter(), cpu_seconds()
    model = build_model(load_spec(spec), config, {})
    names = frozenset(Selection().wanted(model, "induction").names)  # what `--engine induction` decides
    res = induction(model, SymOptions(timeout=budget, jobs=jobs, only=names))
    res.properties = [p for p in res.properties if p.name in names]
    wall, cpu = time.perf_counter() - t, cpu_seconds() - c
    for p in res.properties:
        print(f"{p.name}: {p.status}")
    print(f"\n{spec} [{config or 'default'}] --jobs {jobs}: {res.verdict}, {wall:.1f} s wall, {cpu:.1f} s CPU")
    if res.stopped:
        print(f"stopped: {res.stopped}")


def main() -> None:
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    if args[0] == "--whole":
        whole(args[1:])
        return
    spec, config = args[0], (args[1] if len(args) > 1 and args[1] != "-" else None)
    budget = float(args[2]) if len(args) > 2 else 100.0
    only = set(args[3:])
    gm = ground(build_model(load_spec(spec), config, {}))
    enc = Encoder(gm)
    prover = Prover(enc, Clock(budget))
    proved = 0
    grps = [g for g in groups(gm, enc) if not only or g[0].action in only]
    print("| action | instances | result | seconds |\n|---|---|---|---|")
    for grp in grps:
        prover.clock = Clock(budget)
        t = time.perf_counter()
        try:
            cti = prover.step(grp)
            what = "proved" if cti is None else f"CTI: {cti.inst.label} breaks `{cti.prop}`"
            proved += cti is None
        except Unknown as exc:
            what = f"no answer ({exc})"
        print(f"| {grp[0].action} | {len(grp)} | {what} | {time.perf_counter() - t:.1f} |", flush=True)
    print(f"\n{proved} of {len(grps)} instance groups preserve every invariant")
    if only:
        return
    print("\n| obligation | result | seconds |\n|---|---|---|")
    tasks = [(f"range of {f[0].action}", lambda f=f: prover.range_of(f)) for f in prover.range_actions()]
    for name, ask in [("deadlock", prover.deadlock_free), *tasks]:
        prover.clock = Clock(budget)
        t = time.perf_counter()
        try:
            what = "proved" if ask() is None else "a state the invariants allow"
        except Unknown as exc:
            what = f"no answer ({exc})"
        print(f"| {name} | {what} | {time.perf_counter() - t:.1f} |", flush=True)


if __name__ == "__main__":
    main()

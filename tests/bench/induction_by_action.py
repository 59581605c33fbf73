"""The induction engine action by action: which instance groups are proved to preserve every
invariant, which have a counterexample to induction, and which run out of time. The engine
itself stops at the first group it cannot answer; this shows how far a proof at a size like
virtio_mem_sbm's `linux` config gets.

    python tests/bench/induction_by_action.py SPEC [CONFIG] [SECONDS] [ACTION...]

SECONDS (default 100) is each group's own time budget; ACTIONs restrict the run.
"""

from __future__ import annotations

import sys
import time

from checker.symbolic.encode import Encoder
from checker.symbolic.induction import Prover, Unknown, groups
from checker.symbolic.unroll import Clock
from model import build_model, load_spec
from model.ground import ground


def main() -> None:
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
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


if __name__ == "__main__":
    main()

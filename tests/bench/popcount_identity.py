"""How long z3 takes to prove popcount(a | r) == popcount(a) + popcount(r) for disjoint
bitmaps: the identity the accounting invariants of virtio_mem_sbm need after every PLUG.

    python tests/bench/popcount_identity.py [widths...]      (default: 16 32 64)

`bitblast` counts with the exact adder tree (what BMC uses); `abstract` counts with the
induction engine's abstract counts (checker/symbolic/popcount.py: an uninterpreted count with
lemmas such as popcount(x | y) = popcount(x) + popcount(y) - popcount(x & y)).
"""

from __future__ import annotations

import sys
import time

import z3

from checker.symbolic.popcount import Counts, Masks, tree


def bitblast(w: int) -> tuple[str, float]:
    a, r = z3.BitVecs("a r", w)
    pc = lambda x: tree(x, 16)  # noqa: E731
    s = z3.SolverFor("QF_BV")
    s.add(a & r == 0, pc(a | r) != pc(a) + pc(r))
    t = time.perf_counter()
    return str(s.check()), time.perf_counter() - t


def abstract(w: int) -> tuple[str, float]:
    a, r = z3.BitVecs("a r", w)
    counts = Counts(Masks(), 16)
    s = z3.SolverFor("QF_UFBV")
    s.add(a & r == 0, counts.count(a | r) != counts.count(a) + counts.count(r))
    s.add(counts.lemmas)
    t = time.perf_counter()
    return str(s.check()), time.perf_counter() - t


def main() -> None:
    widths = [int(x) for x in sys.argv[1:]] or [16, 32, 64]
    print("| width | bitblast | abstract |\n|---|---|---|")
    for w in widths:
        (rb, tb), (ru, tu) = bitblast(w), abstract(w)
        print(f"| {w} | {rb} {tb:.2f} s | {ru} {tu:.3f} s |", flush=True)


if __name__ == "__main__":
    main()

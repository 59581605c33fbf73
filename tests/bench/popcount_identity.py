"""How long z3 takes to prove popcount(a | r) == popcount(a) + popcount(r) for disjoint
bitmaps: the identity the accounting invariants of virtio_mem_sbm need after every PLUG.

    python tests/bench/popcount_identity.py [widths...]      (default: 16 32 64)

`bitblast` counts with the adder tree the symbolic encoder uses; `uf-int` counts with an
uninterpreted integer function and the lemma popcount(x | y) = popcount(x) + popcount(y)
- popcount(x & y), plus popcount(x) == 0 iff x == 0 (the encoding on branch wip/int-popcount).
"""

from __future__ import annotations

import sys
import time

import z3

from checker.symbolic.encode import _fit, _popcount


def bitblast(w: int) -> tuple[str, float]:
    a, r = z3.BitVecs("a r", w)
    pc = lambda x: _fit(_popcount(x), 16)  # noqa: E731
    s = z3.SolverFor("QF_BV")
    s.add(a & r == 0, pc(a | r) != pc(a) + pc(r))
    t = time.perf_counter()
    return str(s.check()), time.perf_counter() - t


def uf_int(w: int) -> tuple[str, float]:
    a, r = z3.BitVecs("a r", w)
    pc = z3.Function("pc", z3.BitVecSort(w), z3.IntSort())
    s = z3.Solver()
    for x in (a, r, a | r, a & r):
        s.add(pc(x) >= 0, pc(x) <= w, (pc(x) == 0) == (x == 0))
    s.add(pc(a | r) == pc(a) + pc(r) - pc(a & r))
    s.add(a & r == 0, pc(a | r) != pc(a) + pc(r))
    t = time.perf_counter()
    return str(s.check()), time.perf_counter() - t


def main() -> None:
    widths = [int(x) for x in sys.argv[1:]] or [16, 32, 64]
    print("| width | bitblast | uf-int |\n|---|---|---|")
    for w in widths:
        (rb, tb), (ru, tu) = bitblast(w), uf_int(w)
        print(f"| {w} | {rb} {tb:.2f} s | {ru} {tu:.3f} s |", flush=True)


if __name__ == "__main__":
    main()

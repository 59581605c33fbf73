#!/usr/bin/env python3
"""The C kernels on one chunk, each call timed alone (best of --reps): `expand` of 16,384
states, the one-process `visit` of a chunk's transitions, the partitioned search's `split`
of the same transitions (partition 0 of 2) and the owner's `visit` of the half sent to it.
The states come from a search of ref_sbm `b3s4` cut at 1.5 M states; the first million are
the visited set (a table large enough not to grow inside a timed call).

Usage: python tests/bench/chunk_kernels.py [--reps N]. Never run from the test suite.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from checker.distributed.partition import Partition  # noqa: E402
from checker.search import Budget, explore  # noqa: E402
from checker.search.store import Visited, to_words  # noqa: E402
from model import build_model, load_spec  # noqa: E402

KNOWN = 1_000_000


def best(reps: int, setup: Callable[[], object], call: Callable[[object], object]) -> float:
    """The least CPU seconds of `reps` calls, each on a fresh `setup()` (not timed)."""
    out = []
    for _ in range(reps):
        arg = setup()
        t = time.process_time()
        call(arg)
        out.append(time.process_time() - t)
    return min(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()
    model = build_model(load_spec(ROOT / "specs" / "ref_sbm.plug"), "b3s4", {})
    res, ex = explore(model, Budget(max_states=KNOWN + 500_000))
    rows = to_words([ex.states[i] for i in range(res.states)], 1)
    p = Partition()
    p.load(model, "native", 0, 2)
    while p.backend.native is None:  # gcc builds in the background
        p.backend.expand(rows[:10])
        time.sleep(0.05)
    nat = p.backend.native

    def known() -> Visited:
        v = Visited(23, 1)
        v.insert(rows[:KNOWN])
        return v

    S = rows[KNOWN : KNOWN + 60_000]
    exp = p.backend.expand(S)
    p.store.visited = known()
    sent_rows, sent_keys = p._split(S, exp, 0, np.int32)[1]
    small = rows[KNOWN : KNOWN + 16_384]
    t_expand = best(args.reps, lambda: None, lambda _: nat.expand(small))
    t_visit = best(args.reps, known, lambda v: nat.visit(S, exp.src, exp.iid, exp.nxt, v, 0, 0, None))
    t_split = best(args.reps, lambda: None, lambda _: p._split(S, exp, 0, np.int32))
    t_owner = best(args.reps, known, lambda v: nat.visit(None, sent_keys, None, sent_rows, v, 0, 0, None))
    m = exp.src.shape[0]
    print(f"ref_sbm b3s4; {KNOWN:,} states known; best of {args.reps}")
    print(f"expand, {small.shape[0]:,} states: {t_expand * 1e3:.2f} ms")
    print(f"one-process visit, {S.shape[0]:,} states / {m:,} transitions: {t_visit * 1e3:.1f} ms")
    print(f"split (partition 0 of 2), the same transitions: {t_split * 1e3:.1f} ms")
    print(f"owner's visit of the {sent_rows.shape[0]:,} sent: {t_owner * 1e3:.1f} ms")


if __name__ == "__main__":
    main()

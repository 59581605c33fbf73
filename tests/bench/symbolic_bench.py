"""Symbolic-engine benchmark on specs/ref_sbm.plug (not collected by pytest).

python tests/bench/symbolic_bench.py induction     # B=3 S=16, B=4 S=32, B=8 S=64
python tests/bench/symbolic_bench.py bmc           # BMC vs explicit, B=3 S=4, depth 10
python tests/bench/symbolic_bench.py others        # Spacer and k-induction at B=4 S=32 (60 s budget)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from checker.search import Budget, explore
from checker.symbolic.bmc import bmc
from checker.symbolic.induction import induction
from checker.symbolic.kind import kind
from checker.symbolic.spacer import spacer
from checker.symbolic.unroll import SymOptions
from model import build_model, load_spec

REF = Path(__file__).resolve().parents[2] / "specs" / "ref_sbm.plug"


def model(b: int, s: int, extra: dict[str, int] | None = None):  # type: ignore[no-untyped-def]
    return build_model(load_spec(REF), None, {"B": b, "S": s, **(extra or {})})


def show(label: str, res) -> None:  # type: ignore[no-untyped-def]
    verdicts = ", ".join(f"{p.name}={p.status}" for p in res.properties if p.kind != "liveness")
    print(f"{label}: {res.seconds:.2f} s  {verdicts}  {res.stopped}", flush=True)


def main(what: str) -> None:
    if what == "induction":
        for b, s in ((3, 16), (4, 32), (8, 64)):
            t = time.perf_counter()
            m = model(b, s)
            res = induction(m, SymOptions())
            show(f"induction B={b} S={s} (wall {time.perf_counter() - t:.2f} s incl. parse+ground)", res)
    elif what == "bmc":
        m = model(3, 4, {"L": 2})
        show("bmc B=3 S=4 depth 10", bmc(m, SymOptions(depth=10)))
        t = time.perf_counter()
        ex, _ = explore(m, Budget(max_depth=10))
        print(f"explicit B=3 S=4 depth 10: {time.perf_counter() - t:.2f} s, {ex.states:,} states", flush=True)
    elif what == "others":
        m = model(4, 32)
        show("spacer B=4 S=32 (60 s)", spacer(m, SymOptions(depth=2, timeout=60)))
        show("kind B=4 S=32 depth 3 (60 s)", kind(m, SymOptions(depth=3, timeout=60)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "induction")

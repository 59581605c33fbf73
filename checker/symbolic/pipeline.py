"""Which symbolic engine runs, and the pipeline `--engine symbolic` runs:
inductive-invariant checking for unbounded proofs, then BMC deepening within the budget for
the properties the proof did not settle (a counterexample to induction is not a violation;
BMC turns real ones into traces)."""

from __future__ import annotations

import time

from model import typed as T
from model.ground import ground

from ..results import HOLDS, INCONCLUSIVE, VIOLATED, RunResult
from .bmc import bmc
from .induction import induction
from .kind import kind
from .spacer import spacer
from .unroll import SymOptions, deferred_interrupts

SYMBOLIC = ("bmc", "induction", "kind", "spacer")
SAFETY = ("invariant", "range", "deadlock")
PIPELINE_DEPTH_CAP = 50  # the pipeline's BMC deepens at most this far without --depth
PIPELINE_BMC_SECONDS = 60.0  # ... and for at most this long without --timeout


def run_symbolic(model: T.Model, engine: str, opts: SymOptions) -> RunResult:
    """`engine` is one of SYMBOLIC, or "symbolic" for the default pipeline."""
    with deferred_interrupts():
        return _run(model, engine, opts)


def _run(model: T.Model, engine: str, opts: SymOptions) -> RunResult:
    if engine == "bmc":
        return bmc(model, opts)
    if engine == "induction":
        return induction(model, opts)
    if engine == "kind":
        return kind(model, opts)
    if engine == "spacer":
        return spacer(model, opts)
    return pipeline(model, opts)


def pipeline(model: T.Model, opts: SymOptions) -> RunResult:
    """Induction, then BMC deepening one step at a time (up to `--depth`, default
    PIPELINE_DEPTH_CAP) within what is left of `--timeout` (default PIPELINE_BMC_SECONDS) for
    the safety properties the proof left open and the `reachable` goals asked for."""
    t0 = time.perf_counter()
    gm = ground(model)
    res = induction(model, opts, gm)
    open_names = {
        p.name
        for p in res.properties
        if p.status == INCONCLUSIVE and (p.kind in SAFETY or p.kind == "reachable") and opts.wants(p.name)
    }
    if not open_names or (res.stopped is not None and res.stopped.interrupted):
        return res
    left = None if opts.timeout is None else max(0.1, opts.timeout - (time.perf_counter() - t0))
    cap = opts.depth or PIPELINE_DEPTH_CAP
    seconds = PIPELINE_BMC_SECONDS if left is None else None
    b = bmc(model, SymOptions(cap, left, opts.deadlock, opts.progress), gm, only=open_names, seconds=seconds)
    found = {p.name: p for p in b.properties}
    for i, p in enumerate(res.properties):
        q = found.get(p.name)
        if p.name not in open_names or q is None:
            continue
        if q.status in (VIOLATED, HOLDS):
            res.properties[i] = q  # a real violation or a reached goal, with its trace
        elif p.trace is None:
            p.bound = q.bound
            p.message += f"; {q.message}"
        else:
            p.bound = q.bound
            p.message += f"; bounded model checking found no violation up to depth {q.bound}"
    res.engine = "induction+bmc"
    res.depth = b.depth
    res.seconds = time.perf_counter() - t0
    res.stopped = res.stopped or b.stopped
    return res

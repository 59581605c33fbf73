"""Which symbolic engine runs, and the pipeline `--engine symbolic` runs:
inductive-invariant checking for unbounded proofs, then BMC to a small depth for the
properties the proof did not settle (a counterexample to induction is not a violation;
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
from .unroll import INTERRUPTED, SymOptions, deferred_interrupts

SYMBOLIC = ("bmc", "induction", "kind", "spacer")
SAFETY = ("invariant", "range", "deadlock")
DEFAULT_BMC_DEPTH = 10  # --engine bmc / kind without --depth
PIPELINE_BMC_DEPTH = 4  # the default pipeline's BMC after induction (cheap even at B=8 S=64)


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
    t0 = time.perf_counter()
    gm = ground(model)
    res = induction(model, opts, gm)
    # BMC hunts real violations of what the proof left open; reachability witnesses at
    # symbolic sizes are usually far deeper than a small bound (use --engine bmc for them)
    open_names = {p.name for p in res.properties if p.status == INCONCLUSIVE and p.kind in SAFETY}
    if not open_names or res.stopped == INTERRUPTED:
        return res
    left = None if opts.timeout is None else max(0.1, opts.timeout - (time.perf_counter() - t0))
    b = bmc(model, SymOptions(opts.depth, left, opts.deadlock, opts.progress), gm, only=open_names)
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
            p.message += f"; bounded model checking found no violation up to depth {q.bound}"
    res.engine = "induction+bmc"
    res.depth = b.depth
    res.seconds = time.perf_counter() - t0
    res.stopped = res.stopped or b.stopped
    return res

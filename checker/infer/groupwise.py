"""Houdini one action group at a time, with one encoding for every round.

`induction` answers with at most one counterexample per action group and is started afresh
for every round, so Houdini over a thousand candidates needs about as many rounds as some
group has false candidates, each re-encoding every assumption. Here one `Prover` serves the
whole fixpoint: a counterexample to induction drops every invariant its post-state breaks
(evaluated concretely, all at once), the dropped conjuncts leave every later query
(`Prover.dead`), and a group is asked again until it preserves what is left. The fixpoint is
reached once every group has been proved since the last drop.

Dropping every invariant a counterexample's post-state breaks is Houdini's own rule: its
pre-state satisfies every invariant still kept, so it satisfies the largest inductive subset,
and so does its successor; an invariant false there is not in that subset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from model import typed as T
from model.ground import ground

from ..layout import Layout
from ..search import Progress
from ..symbolic.bmc import search
from ..symbolic.encode import Encoder
from ..symbolic.prover import Prover, Unknown, _holds, groups
from ..symbolic.unroll import Clock, safety_props


def houdini(
    model: T.Model,
    keep: set[str],
    timeout: float | None,
    progress: Callable[[Progress], None] | None = None,
    must: frozenset[str] = frozenset(),
) -> tuple[set[str], int, str]:
    """The largest inductive subset of the invariants `keep`: (it, the queries asked, why it
    stopped early or ""). Once one of `must` is dropped it stops there (what is left then is
    not inductive): Houdini's result only shrinks, so that one would not come back."""
    m = replace(model, properties=[p for p in model.properties if p.kind == "invariant" and p.name in keep])
    clock = Clock(timeout, progress)
    gm = ground(m)
    enc = Encoder(gm)
    props = [p for p in safety_props(enc, False) if p.kind == "invariant"]
    try:
        base = search(enc, Layout(m), props, 0, clock)
    except Unknown as exc:
        return keep, 0, str(exc)
    if base.stopped is not None:
        return keep, 0, str(base.stopped)
    prover = Prover(enc, clock)
    dropped: set[str] = set(base.hits)  # false in an initial state
    prover.dead = {i for i, c in enumerate(prover.conjs) if c.prop in dropped}
    grps = groups(gm, enc)
    proved_since = 0  # groups proved in a row since the last drop
    i = 0
    try:
        while proved_since < len(grps) and not (dropped & must):
            grp = grps[i % len(grps)]
            clock.note(
                f"Houdini: action `{grp[0].action}`, {len(dropped)} of {len(keep)} invariants dropped,"
                f" {prover.queries} queries"
            )
            if clock.over():
                raise Unknown(f"time budget {clock.timeout:g} s reached")
            cti = prover.step(grp)
            if cti is None:
                proved_since += 1
                i += 1
                continue
            alive = sorted(prover.alive())
            broken = {prover.conjs[j].prop for j in alive if not _holds(prover.conjs[j].g, cti.post)}
            broken.add(cti.prop)
            dropped |= broken
            prover.dead |= {j for j in alive if prover.conjs[j].prop in broken}
            proved_since = 0  # the same group is asked again: it may break more
    except Unknown as exc:
        return keep - dropped, prover.queries, f"{exc} at action `{grps[i % len(grps)][0].action}`"
    except KeyboardInterrupt:
        return keep - dropped, prover.queries, "interrupted"
    return keep - dropped, prover.queries, ""

"""`plugcheck infer`: auxiliary invariants that make a spec's invariants inductive, Houdini-style.

1. Candidates from templates over the spec's vocabulary (`templates`), cut at a stated limit.
2. Explicit search at a small config drops every candidate some reachable state breaks
   (one search checks them all).
3. At the target config, induction over the original invariants and the surviving
   candidates; every invariant with a counterexample to induction (or false initially) is
   dropped and the rest tried again, until what is left is inductive: the largest inductive
   subset. The original invariants still in it are proved.

Candidates are parsed as a fragment of spec text appended to the spec (their positions point
into that fragment), so they mean exactly what the same text pasted into the spec means."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from model import SpecError, build_model
from model import syntax as S
from model import typed as T
from model.load import Spec
from model.parse import parse_text

from ..results import INCONCLUSIVE, VIOLATED
from ..search import Budget, Progress, explore
from ..symbolic.induction import induction
from ..symbolic.unroll import SymOptions
from .templates import DEFAULT_LIMIT, candidates

FRAGMENT = "<inferred>"
EXPLICIT_STATES = 2_000_000  # the small config's search stops here (what it reached still filters)


@dataclass
class Step:
    what: str
    seconds: float
    detail: str


@dataclass
class Inferred:
    prefix: str  # candidate names are prefix + number
    texts: dict[str, str]  # candidate name -> expression text
    generated: int  # before the limit
    limit: int
    kept: list[str] = field(default_factory=list)  # candidate names in the inductive subset
    originals: dict[str, str] = field(default_factory=dict)  # original invariant -> proved / not proved
    steps: list[Step] = field(default_factory=list)
    stopped: str = ""

    @property
    def proved_all(self) -> bool:
        return not self.stopped and all(v == "proved" for v in self.originals.values())

    def spec_text(self) -> str:
        """The kept candidates as declarations ready to paste into the spec."""
        return "\n".join(f"invariant {n}: {self.texts[n]}" for n in self.kept)


def with_candidates(spec: Spec, texts: dict[str, str]) -> Spec:
    """The spec with the candidate invariants appended (parsed as their own fragment)."""
    source = "protocol inferred\n" + "".join(f"invariant {n}: {t}\n" for n, t in texts.items())
    frag = parse_text(source, FRAGMENT)
    new = [d for d in frag.decls if isinstance(d, S.InvariantDecl)]
    return Spec(spec.path, spec.source, [*spec.decls, *new], {**spec.sources, FRAGMENT: source})


def _build(spec: Spec, texts: dict[str, str], config: str | None, defines: dict[str, int]) -> T.Model:
    """Build with the candidates, dropping any the type checker rejects (a template can fit a
    spec badly, e.g. a comparison of unrelated enums)."""
    while True:
        try:
            return build_model(with_candidates(spec, texts), config, defines)
        except SpecError as e:
            if e.span.file != FRAGMENT or not 2 <= e.span.line < 2 + len(texts):
                raise
            del texts[list(texts)[e.span.line - 2]]


def infer(
    spec: Spec,
    config: str | None,
    small: str | None,
    defines: dict[str, int],
    limit: int = DEFAULT_LIMIT,
    timeout: float | None = None,
    jobs: int = 1,
    progress: Callable[[Progress], None] | None = None,
) -> Inferred:
    t_all = time.perf_counter()
    target = build_model(spec, config, defines)
    names = {p.name for p in target.properties}
    # a name prefix no property of the spec uses
    prefix = next(
        p for p in (f"aux{'_' * k}inferred_" for k in range(1, 99)) if not any(n.startswith(p) for n in names)
    )
    exprs = candidates(spec, target)
    texts = {f"{prefix}{i + 1}": t for i, t in enumerate(exprs[:limit])}
    out = Inferred(prefix, texts, len(exprs), limit)
    originals = [p.name for p in target.invariants]

    def left() -> float | None:
        return None if timeout is None else max(0.1, timeout - (time.perf_counter() - t_all))

    # 2. explicit search at the small config
    t = time.perf_counter()
    n_before = len(texts)
    model = _build(spec, texts, small, {})
    res, _ = explore(model, Budget(max_states=EXPLICIT_STATES, timeout=left()), False, progress)
    broken = {p.name for p in res.properties if p.status == VIOLATED}
    for n in broken & set(texts):
        del texts[n]
    how = f"complete, {res.states:,} states" if not res.stopped else f"stopped ({res.stopped}) at {res.states:,} states"
    detail = f"{n_before} candidates, {len(texts)} hold in every reached state ({how})"
    out.steps.append(Step(f"explicit search at `{small or 'default'}`", time.perf_counter() - t, detail))
    if res.stopped is not None and res.stopped.interrupted:
        out.stopped = str(res.stopped)
        return out

    # 3. Houdini at the small config (cheap: it drops most non-inductive candidates), then at the target
    keep = set(texts) | set(originals)
    stages: list[tuple[str | None, dict[str, int]]] = [(small, {})]
    if (config or "default", defines) != (small or "default", {}):
        stages.append((config, defines))
    for cfg, defs in stages:
        t = time.perf_counter()
        n_before = len(keep & set(texts))
        model = _build(spec, {n: texts[n] for n in texts if n in keep}, cfg, defs)
        keep, rounds, out.stopped = _houdini(model, keep, jobs, progress, left)
        detail = f"{rounds} induction rounds; {len(keep & set(texts))} of {n_before} candidates in the inductive subset"
        if out.stopped:
            detail = f"{rounds} induction rounds, stopped: {out.stopped}"
        out.steps.append(Step(f"Houdini at `{cfg or 'default'}`", time.perf_counter() - t, detail))
        if out.stopped:
            break
    inductive = not out.stopped
    out.kept = [n for n in texts if n in keep and inductive]
    out.originals = {n: "proved" if inductive and n in keep else "not proved" for n in originals}
    return out


def _houdini(
    model: T.Model,
    keep: set[str],
    jobs: int,
    progress: Callable[[Progress], None] | None,
    left: Callable[[], float | None],
) -> tuple[set[str], int, str]:
    """Drop every invariant with a counterexample to induction (or false initially) until the
    rest is inductive: (what is left, the rounds, why it stopped early or "")."""
    rounds = 0
    while True:
        rounds += 1
        m = replace(model, properties=[p for p in model.properties if p.kind == "invariant" and p.name in keep])
        budget = left()
        if budget is not None and budget <= 0.1:
            return keep, rounds, "time budget reached"
        opts = SymOptions(timeout=budget, deadlock=False, progress=progress, jobs=jobs, only=frozenset(keep))
        r = induction(m, opts)
        if r.stopped is not None:
            return keep, rounds, str(r.stopped)
        dropped = {
            p.name
            for p in r.properties
            if p.kind == "invariant" and (p.status == VIOLATED or (p.status == INCONCLUSIVE and p.trace is not None))
        }
        if not dropped:
            return keep, rounds, ""
        keep = keep - dropped

"""Pictures of a model's state graph: `plugcheck graph` and the report's pictures.

`views.py` builds what is drawn (projections, counterexamples, whole small graphs) from the
search's states and transitions; `drawing.py` is that shape and its DOT text; `svg.py` lays
it out and writes SVG without any system binary (graphviz, when installed, may do the layout)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model import typed as T
from model.domains import ArrayT, EnumT, index_label

from ..liveness.record import search_edges
from ..results import VIOLATED, RunResult
from ..search import Budget, Exploration, explore
from .drawing import Drawing
from .svg import render
from .views import PictureError, counterexample, projection, whole

DEFAULT_PICTURE_STATES = 1000  # a whole graph beyond this is unreadable (projections have no limit)
REPORT_COUNTEREXAMPLES = 5  # counterexample pictures per (spec, config) in a report

__all__ = ["DEFAULT_PICTURE_STATES", "Picture", "PictureError", "report_pictures", "write_picture"]


@dataclass
class Picture:
    result: RunResult
    states: int
    edges: int  # arrows drawn
    nodes: int  # boxes drawn
    highlighted: list[str]  # the properties whose counterexamples are drawn
    bad_states: int  # states filled as violating


def write_picture(
    model: T.Model,
    out: Path,
    max_states: int = DEFAULT_PICTURE_STATES,
    project: list[str] | None = None,
    trace: str | None = None,
    layout: str = "auto",
) -> Picture:
    """Explore the model, check it, and write out (.dot or .svg): the graph projected onto
    `project`, the counterexample to property `trace`, or else the whole graph."""
    if out.suffix not in (".dot", ".svg"):
        raise PictureError(f"the output must end in .dot or .svg, not `{out.name}`")
    whole_graph = not project and trace is None
    budget = Budget(max_states=max_states + 1) if whole_graph else Budget()
    if project:
        budget.max_graph_states = 0  # the projection needs no liveness verdicts
    res, ex = explore(model, budget)
    if whole_graph and len(ex.states) > max_states:
        raise PictureError(
            f"the model has more than {max_states:,} states: too many to draw (project it with --project EXPR, "
            "shrink it with -D or a smaller --config, or raise --max-graph-states)"
        )
    if not ex.complete:
        raise PictureError(f"the search stopped ({res.stopped}): a picture needs every reachable state")
    edges = search_edges(ex, res.transitions)
    marked: list[str] = []
    bad = 0
    if project:
        d = projection(model, ex, edges, project)
    elif trace is not None:
        p = next((p for p in res.properties if p.name == trace), None)
        if p is None:
            names = ", ".join(p.name for p in res.properties)
            raise PictureError(f"{model.name} has no property `{trace}` (properties: {names})")
        if p.status != VIOLATED or p.trace is None:
            raise PictureError(f"`{trace}` is {p.status}: there is no counterexample to draw")
        d = counterexample(model, ex, edges, p)
        marked = [trace]
    else:
        d, marked, bad = whole(model, ex, edges, res)
    if out.suffix == ".dot":
        text = d.to_dot()
    else:
        try:
            text = render(d, layout)
        except RuntimeError as exc:
            raise PictureError(str(exc)) from None
    try:
        out.write_text(text)
    except OSError as exc:
        raise PictureError(f"cannot write {out}: {exc.strerror}") from None
    return Picture(res, len(ex.states), len(d.edges), len(d.nodes), marked, bad)


def block_states(model: T.Model) -> list[str]:
    """Selectors for the first element of each array of enum values (`mb[0]`): the per-block
    state machines a protocol's diagrams show."""
    out = []
    for v in model.vars:
        ty, sel = v.ty, v.name
        while isinstance(ty, ArrayT):
            sel += f"[{index_label(ty.index, 0)}]"
            ty = ty.elem
        if sel != v.name and isinstance(ty, EnumT):
            out.append(sel)
    return out


def report_pictures(model: T.Model, res: RunResult, ex: Exploration) -> list[tuple[str, str, str]]:
    """(name, caption, SVG) for a report: the projection onto each block-state variable and
    the counterexamples, at any size, from the search's own states and transitions; nothing
    unless the run was a complete explicit search."""
    wanted = [p for p in res.properties if p.status == VIOLATED and p.trace is not None][:REPORT_COUNTEREXAMPLES]
    blocks = block_states(model)
    if res.engine != "explicit" or res.stopped or not (blocks or wanted):
        return []
    if not ex.complete:
        return []
    edges = search_edges(ex, res.transitions)
    drawings: list[tuple[str, str, Drawing]] = []
    for sel in blocks:
        drawings.append((sel, f"the state graph projected onto {sel}", projection(model, ex, edges, [sel])))
    for p in wanted:
        drawings.append(
            (p.name, f"counterexample to {p.name} and the states one step off it", counterexample(model, ex, edges, p))
        )
    return [(name, caption, render(d)) for name, caption, d in drawings]

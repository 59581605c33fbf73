"""Pictures of small state graphs: Graphviz DOT, and SVG through graphviz's `dot` when it is
installed. Each state is labelled with the variables that changed from its BFS parent (the
initial states show every variable); states that violate an invariant or deadlock are
filled, and the counterexamples the check found are drawn in red."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model import typed as T
from model.domains import ArrayT, BitmapT, Type, index_label

from .explicit import Budget, Exploration, explore
from .graph import build_graph
from .results import VIOLATED, RunResult
from .states import decode

DEFAULT_PICTURE_STATES = 1000  # beyond this a drawing is unreadable and `dot` takes minutes
REPORT_PICTURE_STATES = 300  # the reports draw only models a reader can follow
MAX_LABEL_LINES = 5


class PictureError(Exception):
    """The picture cannot be made (too many states, no graphviz, a bad output name)."""


@dataclass
class Picture:
    result: RunResult
    states: int
    edges: int
    highlighted: list[str]  # the properties whose counterexamples are drawn
    bad_states: int  # states filled as violating


def write_picture(model: T.Model, out: Path, max_states: int = DEFAULT_PICTURE_STATES) -> Picture:
    """Explore the model (at most max_states states), check it, and write out (.dot or .svg)."""
    if out.suffix not in (".dot", ".svg"):
        raise PictureError(f"the output must end in .dot or .svg, not `{out.name}`")
    dot_exe = shutil.which("dot") if out.suffix == ".svg" else None
    if out.suffix == ".svg" and dot_exe is None:
        raise PictureError(
            "SVG needs graphviz's `dot`, which is not installed (e.g. `apt install graphviz`); "
            f"write `{out.with_suffix('.dot').name}` instead"
        )
    res, ex = explore(model, Budget(max_states=max_states + 1, max_graph_states=max_states))
    if len(ex.states) > max_states:
        raise PictureError(
            f"the model has more than {max_states:,} states: too many to draw (shrink it with -D or a smaller "
            "--config, or raise --max-graph-states)"
        )
    text, pic = dot(model, ex, res)
    if dot_exe is not None:
        try:
            done = subprocess.run([dot_exe, "-Tsvg"], input=text, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            raise PictureError("graphviz `dot` took more than 5 minutes; write a .dot file instead") from None
        if done.returncode != 0:
            raise PictureError(f"graphviz `dot` failed: {done.stderr.strip()}")
        text = done.stdout
    try:
        out.write_text(text)
    except OSError as exc:
        raise PictureError(f"cannot write {out}: {exc.strerror}") from None
    return pic


def dot(model: T.Model, ex: Exploration, res: RunResult) -> tuple[str, Picture]:
    """The DOT text of the explored graph with the run's counterexamples highlighted."""
    g = build_graph(ex, max(len(ex.states), 1))
    comp, gm = ex.compiled, ex.ground
    types = {v.name: v.ty for v in model.vars}
    decoded = {s: _flat(types, decode(model, comp.layout, s)) for s in ex.states}
    key = {json.dumps(decoded[s], sort_keys=True): s for s in ex.states}
    number = {s: i for i, s in enumerate(ex.states)}

    path_nodes: set[int] = set()
    path_edges: set[tuple[int, int]] = set()
    highlighted = []
    for p in res.properties:
        if p.status != VIOLATED or p.trace is None:
            continue
        seq = [key.get(json.dumps(_flat(types, st.state), sort_keys=True)) for st in p.trace.steps]
        known = [s for s in seq if s is not None]
        if not known:
            continue  # a range error's last state is not in the graph
        highlighted.append(p.name)
        path_nodes.update(known)
        path_edges.update((a, b) for a, b in zip(seq, seq[1:], strict=False) if a is not None and b is not None)

    lines = [
        "digraph states {",
        f"  label={_q(f'{model.name} [{model.config.name}]: {len(ex.states)} states')};",
        "  labelloc=t; node [shape=box, fontname=monospace, fontsize=10]; edge [fontsize=9];",
    ]
    bad_states = 0
    for i, s in enumerate(ex.states):
        par = ex.parent[i]
        mine = decoded[s]
        if par < 0:
            shown = list(mine.items())
        else:
            before = decoded[ex.states[par]]
            shown = [(k, v) for k, v in mine.items() if before.get(k) != v]
        text = [f"#{i}" + (" (initial)" if par < 0 else "")]
        text += [f"{k}={v}" for k, v in shown[:MAX_LABEL_LINES]]
        if len(shown) > MAX_LABEL_LINES:
            text.append(f"… {len(shown) - MAX_LABEL_LINES} more")
        attrs = [f"label={_q(chr(10).join(text))}"]
        fill = None
        if comp.bad_invariants(s):
            fill = "#f4a6a6"
        elif not g._adj[s] and not model.allow_deadlock:
            fill = "#f7d08a"
        if fill:
            bad_states += 1
            attrs.append(f'style=filled, fillcolor="{fill}"')
        if s in path_nodes:
            attrs.append("color=red, penwidth=2")
        if par < 0:
            attrs.append("peripheries=2")
        lines.append(f"  s{i} [{', '.join(attrs)}];")
    edges = 0
    for u, nbrs in g._adj.items():
        for v, d in nbrs.items():
            edges += 1
            label = ", ".join(gm.instances[iid].label for iid in d["inst"])
            attrs = [f"label={_q(label)}"]
            if (u, v) in path_edges:
                attrs.append("color=red, fontcolor=red, penwidth=2")
            lines.append(f"  s{number[u]} -> s{number[v]} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n", Picture(res, len(ex.states), edges, highlighted, bad_states)


def _flat(types: dict[str, Type], state: dict[str, Any]) -> dict[str, str]:
    """{leaf name: value text}, arrays unrolled so a label names the element that changed."""
    out: dict[str, str] = {}
    for name, v in state.items():
        if name in types:
            _leaves(out, name, types[name], v)
    return out


def _leaves(out: dict[str, str], name: str, ty: Type, v: Any) -> None:
    if isinstance(ty, ArrayT):
        for i, x in enumerate(v):
            _leaves(out, f"{name}[{index_label(ty.index, i)}]", ty.elem, x)
    elif isinstance(ty, BitmapT):
        out[name] = "{" + ",".join(str(b) for b in v) + "}"
    elif isinstance(v, bool):
        out[name] = "true" if v else "false"
    else:
        out[name] = str(v)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def report_svg(model: T.Model, res: RunResult, max_states: int = REPORT_PICTURE_STATES) -> str | None:
    """The SVG state graph for a report, with the run's counterexamples marked; None when the
    model is too large to draw, the run was not a complete explicit search, or graphviz is absent."""
    dot_exe = shutil.which("dot")
    if dot_exe is None or res.engine != "explicit" or res.stopped or not 0 < res.states <= max_states:
        return None
    _, ex = explore(model, Budget(max_states=max_states + 1, max_graph_states=max_states))
    if not ex.complete or len(ex.states) > max_states:
        return None
    text, _ = dot(model, ex, res)
    try:
        done = subprocess.run([dot_exe, "-Tsvg"], input=text, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return None
    return done.stdout if done.returncode == 0 else None

"""What a picture shows, before any layout: boxes with lines of text, arrows with labels,
and how each is marked. One shape for every picture (projections, counterexamples, whole
small graphs) and both outputs (DOT for graphviz, SVG written here)."""

from __future__ import annotations

from dataclasses import dataclass, field

RED = "#c62828"
BAD_FILL = "#f4a6a6"  # violates an invariant
DEAD_FILL = "#f7d08a"  # deadlock
FAINT = "#9e9e9e"


@dataclass
class Node:
    key: str
    lines: list[str]
    initial: bool = False
    fill: str | None = None
    highlight: bool = False  # on a counterexample
    faint: bool = False  # one step off a counterexample


@dataclass
class Edge:
    src: str
    dst: str
    label: list[str]
    highlight: bool = False
    faint: bool = False


@dataclass
class Drawing:
    title: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    note: str = ""  # a line under the title: what was left out

    def to_dot(self) -> str:
        ids = {n.key: f"n{i}" for i, n in enumerate(self.nodes)}
        title = self.title + (f"\n{self.note}" if self.note else "")
        lines = [
            "digraph states {",
            f"  label={_q(title)};",
            "  labelloc=t; node [shape=box, fontname=monospace, fontsize=10]; edge [fontsize=9];",
        ]
        for n in self.nodes:
            fill = [f'style=filled, fillcolor="{n.fill}"'] if n.fill else []
            attrs = [f"label={_q(chr(10).join(n.lines))}", *fill, *_marks(n.highlight, n.faint, edge=False)]
            if n.initial:
                attrs.append("peripheries=2")
            lines.append(f"  {ids[n.key]} [{', '.join(attrs)}];")
        for e in self.edges:
            attrs = [f"label={_q(chr(10).join(e.label))}", *_marks(e.highlight, e.faint, edge=True)]
            lines.append(f"  {ids[e.src]} -> {ids[e.dst]} [{', '.join(attrs)}];")
        lines.append("}")
        return "\n".join(lines) + "\n"


def _marks(highlight: bool, faint: bool, edge: bool) -> list[str]:
    """DOT attributes: on a counterexample (red), one step off it (grey, dashed), or neither."""
    if highlight:
        return [f'color="{RED}", fontcolor="{RED}", penwidth=2' if edge else f'color="{RED}", penwidth=2']
    if faint:
        return [f'color="{FAINT}", fontcolor="{FAINT}", style=dashed']
    return []


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

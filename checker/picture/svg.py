"""Layout and SVG for a `Drawing`, with no system binary: nodes in breadth-first layers from
the initial ones (networkx), ordered within a layer by the barycentre of their neighbours,
boxes sized from their text so none overlap; arrows straight between adjacent layers,
curved otherwise, loops on the right. graphviz, when installed, may replace this layout
(`render`)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from .drawing import FAINT, RED, Drawing, Edge

CHAR_W = 7.3  # monospace at 12 px
LINE_H = 15.0
LABEL_CHAR_W = 6.1  # 10 px labels
LABEL_LINE_H = 12.0
PAD_X, PAD_Y = 10.0, 7.0
GAP_X = 70.0
MARGIN = 20.0
MAX_SWEEPS = 8
DOT_SECONDS = 30


@dataclass
class Box:
    x: float  # left
    y: float  # top
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def render(d: Drawing, layout: str = "auto") -> str:
    """SVG text. layout: "builtin", "dot" (graphviz, an error when absent) or "auto" (graphviz
    when installed and it finishes in time, else builtin)."""
    exe = shutil.which("dot") if layout in ("auto", "dot") else None
    if layout == "dot" and exe is None:
        raise RuntimeError("graphviz's `dot` is not installed (e.g. `apt install graphviz`); use --layout builtin")
    if exe is not None:
        try:
            done = subprocess.run([exe, "-Tsvg"], input=d.to_dot(), capture_output=True, text=True, timeout=DOT_SECONDS)
            if done.returncode == 0:
                return done.stdout
        except subprocess.TimeoutExpired:
            pass
        if layout == "dot":
            raise RuntimeError(f"graphviz `dot` failed or took more than {DOT_SECONDS} s; use --layout builtin")
    return to_svg(d)


def layers(d: Drawing) -> list[list[str]]:
    """Breadth-first layers from the initial nodes, each ordered to keep arrows short."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(n.key for n in d.nodes)
    g.add_edges_from((e.src, e.dst) for e in d.edges if e.src != e.dst)
    order = {n.key: i for i, n in enumerate(d.nodes)}
    out: list[list[str]] = []
    placed: set[str] = set()
    starts = [n.key for n in d.nodes if n.initial]
    while len(placed) < len(d.nodes):
        if not starts:
            starts = [next(n.key for n in d.nodes if n.key not in placed)]
        for layer in nx.bfs_layers(g, starts):
            fresh = sorted((k for k in layer if k not in placed), key=order.__getitem__)
            if fresh:
                out.append(fresh)
                placed.update(fresh)
        starts = []
    pos = {k: float(i) for layer in out for i, k in enumerate(layer)}
    for sweep in range(MAX_SWEEPS):
        down = sweep % 2 == 0
        seq = out[1:] if down else out[-2::-1]
        for layer in seq:
            nbrs = g.pred if down else g.succ

            def bary(k: str, nb: dict[str, dict[str, object]] = nbrs) -> float:  # type: ignore[assignment]
                ps = [pos[m] for m in nb[k] if m in pos]
                return sum(ps) / len(ps) if ps else pos[k]

            layer.sort(key=lambda k: (bary(k), pos[k]))
            for i, k in enumerate(layer):
                pos[k] = float(i)
    return out


def place(d: Drawing) -> tuple[dict[str, Box], float, float, float]:
    """Boxes per node, the picture's width and height, and the title's height."""
    title_lines = [d.title] + ([d.note] if d.note else [])
    title_h = LINE_H * len(title_lines) + 10
    size = {
        n.key: (max(len(t) for t in n.lines or [""]) * CHAR_W + 2 * PAD_X, len(n.lines) * LINE_H + 2 * PAD_Y)
        for n in d.nodes
    }
    label_h = max((len(e.label) for e in d.edges), default=1) * LABEL_LINE_H
    gap_y = 70.0 + label_h
    rows = layers(d)
    widths = [sum(size[k][0] for k in row) + GAP_X * (len(row) - 1) for row in rows]
    loops = any(e.src == e.dst for e in d.edges)
    loop_room = 60.0 + max((len(t) for e in d.edges if e.src == e.dst for t in e.label), default=0) * LABEL_CHAR_W
    total_w = max(widths + [len(t) * CHAR_W for t in title_lines]) + 2 * MARGIN + (loop_room if loops else 0)
    boxes: dict[str, Box] = {}
    y = MARGIN + title_h
    for row, w in zip(rows, widths, strict=True):
        x = MARGIN + (total_w - 2 * MARGIN - (loop_room if loops else 0) - w) / 2
        hmax = max(size[k][1] for k in row)
        for k in row:
            bw, bh = size[k]
            boxes[k] = Box(x, y + (hmax - bh) / 2, bw, bh)
            x += bw + GAP_X
        y += hmax + gap_y
    return boxes, total_w, y - gap_y + MARGIN + 50.0, title_h  # room for arrows bent below the last row


def _clip(b: Box, tx: float, ty: float) -> tuple[float, float]:
    """Where the segment from b's centre towards (tx, ty) leaves b."""
    dx, dy = tx - b.cx, ty - b.cy
    if dx == 0 and dy == 0:
        return b.cx, b.cy
    t = min(b.w / 2 / abs(dx) if dx else float("inf"), b.h / 2 / abs(dy) if dy else float("inf"))
    return b.cx + dx * t, b.cy + dy * t


def _text(
    x: float, y: float, lines: list[str], size: int, color: str, anchor: str = "middle", halo: bool = False
) -> str:
    style = ' stroke="white" stroke-width="3" paint-order="stroke"' if halo else ""
    out = [f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{color}" text-anchor="{anchor}"{style}>']
    step = LINE_H if size > 10 else LABEL_LINE_H
    for i, t in enumerate(lines):
        out.append(f'<tspan x="{x:.1f}" dy="{0 if i == 0 else step:.0f}">{escape(t)}</tspan>')
    out.append("</text>")
    return "".join(out)


def _free(spot: Box, taken: list[Box]) -> bool:
    return all(
        spot.x + spot.w <= t.x or t.x + t.w <= spot.x or spot.y + spot.h <= t.y or t.y + t.h <= spot.y for t in taken
    )


def _label_spot(e: Edge, at: list[tuple[float, float]], taken: list[Box]) -> tuple[float, float]:
    """The first of the candidate points along the arrow where the label overlaps no box
    and no label placed before it (else the first candidate)."""
    w = max((len(t) for t in e.label), default=1) * LABEL_CHAR_W + 4
    h = len(e.label) * LABEL_LINE_H + 2
    for x, y in at:
        spot = Box(x - w / 2, y - h / 2, w, h)
        if _free(spot, taken):
            taken.append(spot)
            return x, y
    x, y = at[0]
    taken.append(Box(x - w / 2, y - h / 2, w, h))
    return x, y


def _edge(e: Edge, a: Box, b: Box, bend: float, taken: list[Box]) -> str:
    color = RED if e.highlight else FAINT if e.faint else "#37474f"
    width = 2 if e.highlight else 1
    dash = ' stroke-dasharray="5,3"' if e.faint else ""
    marker = "arrow-red" if e.highlight else "arrow"
    if e.src == e.dst:
        x0, y0 = a.x + a.w, a.cy
        path = f"M{x0:.1f},{y0 - 6:.1f} C{x0 + 45:.1f},{y0 - 32:.1f} {x0 + 45:.1f},{y0 + 32:.1f} {x0:.1f},{y0 + 6:.1f}"
        w = max((len(t) for t in e.label), default=1) * LABEL_CHAR_W
        cx, cy = _label_spot(e, [(x0 + 42 + w / 2, y0 + dy) for dy in (0.0, -24.0, 24.0)], taken)
        lx, ly, anchor = cx, cy - (len(e.label) - 1) * LABEL_LINE_H / 2 + 3, "middle"
    else:
        mx, my = (a.cx + b.cx) / 2, (a.cy + b.cy) / 2
        dx, dy = b.cx - a.cx, b.cy - a.cy
        norm = max((dx * dx + dy * dy) ** 0.5, 1.0)
        cx, cy = mx - dy / norm * bend, my + dx / norm * bend
        x0, y0 = _clip(a, cx, cy)
        x1, y1 = _clip(b, cx, cy)
        path = f"M{x0:.1f},{y0:.1f} Q{cx:.1f},{cy:.1f} {x1:.1f},{y1:.1f}"
        at = []
        for off in (0.0, 16.0, -16.0, 32.0, -32.0):
            for t in (0.5, 0.38, 0.62, 0.28, 0.72, 0.2, 0.8):
                u = 1 - t
                px, py = u * u * x0 + 2 * u * t * cx + t * t * x1, u * u * y0 + 2 * u * t * cy + t * t * y1
                at.append((px - dy / norm * off, py + dx / norm * off))
        lx, ly = _label_spot(e, at, taken)
        ly -= (len(e.label) - 1) * LABEL_LINE_H / 2 - 3
        anchor = "middle"
    return (
        f'<g class="edge"><path d="{path}" fill="none" stroke="{color}" stroke-width="{width}"{dash} '
        f'marker-end="url(#{marker})"/>' + _text(lx, ly, e.label, 10, color, anchor, halo=True) + "</g>"
    )


def to_svg(d: Drawing) -> str:
    boxes, width, height, _ = place(d)
    rank = {}
    for i, row in enumerate(layers(d)):
        for k in row:
            rank[k] = i
    pairs = {(e.src, e.dst) for e in d.edges}
    taken = list(boxes.values())  # labels keep off the boxes and off each other
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="monospace">',
        "<defs>",
        '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#37474f"/></marker>',
        f'<marker id="arrow-red" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{RED}"/></marker>',
        "</defs>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
        _text(width / 2, MARGIN + 12, [d.title] + ([d.note] if d.note else []), 12, "#212121"),
    ]
    for e in d.edges:
        a, b = boxes[e.src], boxes[e.dst]
        if e.src == e.dst:
            bend = 0.0
        elif rank[e.dst] == rank[e.src] + 1 and (e.dst, e.src) not in pairs:
            bend = 0.0
        else:
            bend = 28.0 + 14.0 * abs(rank[e.dst] - rank[e.src])
        out.append(_edge(e, a, b, bend, taken))
    for n in d.nodes:
        b = boxes[n.key]
        stroke = RED if n.highlight else FAINT if n.faint else "#37474f"
        sw = 2 if n.highlight else 1
        dash = ' stroke-dasharray="4,3"' if n.faint else ""
        fill = n.fill or "white"
        out.append(f'<g class="node" id={quoteattr("node-" + n.key)}>')
        out.append(
            f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" rx="4" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{sw}"{dash}/>'
        )
        if n.initial:
            out.append(
                f'<rect x="{b.x + 3:.1f}" y="{b.y + 3:.1f}" width="{b.w - 6:.1f}" height="{b.h - 6:.1f}" rx="3" '
                f'fill="none" stroke="{stroke}"/>'
            )
        color = FAINT if n.faint else "#212121"
        out.append(_text(b.x + PAD_X, b.y + PAD_Y + 11, n.lines, 12, color, anchor="start"))
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"

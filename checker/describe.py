"""`plugcheck parse`: a summary of the typed model (variables, bit widths, actions)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from model import typed as T
from model.domains import size

from .layout import Layout


def instances(a: T.ActionT) -> int:
    """How many instances an action grounds to (counted, not built: `parse` grounds nothing)."""
    n = 1
    for _, t in a.params:
        n *= size(t)
    return n


def describe(model: T.Model) -> Group:
    lay = Layout(model)
    head = Text(f"{model.name}", style="bold")
    if model.title:
        head.append(f" — {model.title}", style="")
    consts = ", ".join(f"{k} = {v}" for k, v in model.consts.items()) or "none"
    info = Text(
        f"{model.path}, config {model.config.name} ({consts}); engines: "
        f"{', '.join(model.config.engines)}{'; benchmark' if model.config.benchmark else ''}"
    )
    vt = Table(title="variables", title_justify="left", box=None, header_style="bold")
    for col in ("variable", "type", "bits"):
        vt.add_column(col)
    for v in model.vars:
        bits = sum(s.width for s in lay.slots if s.field.var == v.name)
        vt.add_row(v.name, str(v.ty), str(bits))
    at = Table(title="actions", title_justify="left", box=None, header_style="bold")
    for col in ("action", "parameters", "instances", "fairness"):
        at.add_column(col)
    for a in model.actions:
        n = instances(a)
        ps = ", ".join(f"{p}: {t}" for p, t in a.params)
        at.add_row(a.name, ps, str(n), a.fairness or "-")
    pt = Table(title="properties", title_justify="left", box=None, header_style="bold")
    pt.add_column("property")
    pt.add_column("kind")
    pt.add_column("expected")
    for p in model.properties:
        pt.add_row(p.name, p.kind.replace("_", " "), model.expects.get(p.name, ""))
    ninst = sum(instances(a) for a in model.actions)
    total = Text(
        f"state: {lay.bits} bits in {len(lay.slots)} fields; {ninst} action instances;"
        f" deadlock {'allowed' if model.allow_deadlock else 'checked'}"
    )
    return Group(head, info, vt, at, pt, total, Text(""))

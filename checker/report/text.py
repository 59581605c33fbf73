"""Plain-text renderings of results and counterexamples, for JUnit failures, pytest
failure reports and SARIF messages: the terminal tables without colour."""

from __future__ import annotations

import io

from model import typed as T

from ..results import PropertyResult, RunResult, show_json

WIDTH = 100


def _console() -> object:
    from rich.console import Console

    return Console(file=io.StringIO(), width=WIDTH, no_color=True, color_system=None, highlight=False, record=True)


def property_text(model: T.Model, r: RunResult, p: PropertyResult) -> str:
    """What the terminal shows for a property: its verdict, message and trace table."""
    from ..render import violation

    con = _console()
    consts = " ".join(f"{k}={v}" for k, v in r.constants.items())
    lines = [f"{r.spec} [{r.config}] ({consts}) — {r.engine}: {p.name} ({p.kind}) {p.status}"]
    if p.expected:
        lines[0] += f", expected {p.expected}"
    if p.message:
        lines.append(p.message)
    if p.expected == "violated" and p.passed is False:
        lines.append(f"the spec expects `{p.name}` to be violated (`expect violated`), but the check found none")
    if p.trace is not None:
        con.print(violation(model, p))  # type: ignore[attr-defined]
        text = con.export_text()  # type: ignore[attr-defined]
        lines += [line.rstrip() for line in text.rstrip().splitlines()]
    return "\n".join(lines)


def step_changes(prev: dict[str, object] | None, cur: dict[str, object]) -> list[str]:
    """The variables a step changed, as `name: old → new`, in declaration order."""
    out = []
    for k, v in cur.items():
        if prev is None:
            out.append(f"{k} = {show_json(v)}")
        elif prev.get(k) != v:
            out.append(f"{k}: {show_json(prev.get(k))} → {show_json(v)}")
    return out

"""What `plugcheck simulate` prints: one verdict line that never claims more than a random
simulation shows, the counts, and a violation's trace as `plugcheck check` draws it, with
the command that reproduces it."""

from __future__ import annotations

import shlex
from typing import Any

from rich.console import Console
from rich.markup import escape

from model import typed as T

from .render import plural, steps, violation
from .simulate import SimResult

EXIT_VIOLATION, EXIT_NONE, EXIT_STOPPED = 1, 0, 3


def exit_code(res: SimResult) -> int:
    if res.violation is not None:
        return EXIT_VIOLATION
    return EXIT_STOPPED if res.stopped is not None else EXIT_NONE


def verdict(res: SimResult) -> str:
    if res.violation is not None:
        return "violation"
    return "inconclusive" if res.stopped is not None else "no violation found"


def counts(res: SimResult) -> str:
    """`10,000 runs / 1,000,000 steps (at most 100 steps each)`"""
    return f"{plural(res.runs, 'run')} / {plural(res.steps, 'step')} (at most {steps(res.options.depth)} each)"


def timing(res: SimResult) -> str:
    who = f", {res.options.workers} workers" if res.options.workers > 1 else ""
    rate = f", {res.steps_per_second:,.0f} steps/s" if res.seconds > 0.05 and res.simulated else ""
    return f"{res.seconds:.2f} s{rate}{who}"


def reproduce(res: SimResult, defines: dict[str, int]) -> str:
    """The command line that runs the same walks again (any --workers gives the same)."""
    o = res.options
    words = ["plugcheck", "simulate", res.spec]
    if res.config != "default":
        words += ["--config", res.config]
    for k, v in defines.items():
        words += ["-D", f"{k}={v}"]
    words += ["--seed", str(o.seed), "--runs", str(o.runs), "--depth", str(o.depth)]
    words += ["--uniform"] if o.uniform else []
    words += ["--no-deadlock"] if not o.deadlock else []
    return " ".join(shlex.quote(w) for w in words)


def head(res: SimResult) -> str:
    consts = " ".join(f"{k}={v}" for k, v in res.constants.items())
    where = f"{escape(res.spec)} \\[{escape(res.config)}]" + (f" ({escape(consts)})" if consts else "")
    return f"{where} — simulate, seed {res.options.seed}"


def print_simulation(con: Console, res: SimResult, model: T.Model, defines: dict[str, int], verbose: bool) -> None:
    p = res.violation
    if p is None:
        if res.stopped is not None:
            con.print(f"[yellow]INCONCLUSIVE[/yellow] {head(res)}: stopped: {escape(str(res.stopped))}", soft_wrap=True)
            con.print(f"  no violation found in what was reached: {counts(res)}, {timing(res)}", soft_wrap=True)
        else:
            con.print(
                f"[green]NO VIOLATION FOUND[/green] {head(res)}: no violation found in {counts(res)}, {timing(res)}",
                soft_wrap=True,
            )
        con.print(
            "  simulation proves nothing: only the states these walks visited were checked;"
            " `plugcheck check` decides every reachable state",
            soft_wrap=True,
        )
        for n in res.notes:
            con.print(f"  note: {escape(n)}", soft_wrap=True)
        return
    assert p.trace is not None
    what = {"invariant": f"invariant `{escape(p.name)}` violated", "range": f"range error ({escape(p.message)})"}
    con.print(
        f"[red]VIOLATION[/red] {head(res)}: {what.get(p.kind, 'deadlock')} in run {res.run:,}"
        f" after {steps(len(p.trace))}",
        soft_wrap=True,
    )
    con.print(f"  found after {counts(res)}, {timing(res)}", soft_wrap=True)
    if p.expected == "violated":
        con.print(f"  the spec expects this violation (`expect violated {escape(p.name)}`)", soft_wrap=True)
    for n in res.notes:
        con.print(f"  note: {escape(n)}", soft_wrap=True)
    con.print(violation(model, p, full_initial=verbose))
    con.print(
        "This trace is a random walk, not necessarily a shortest counterexample (`plugcheck check` finds a"
        " shortest one). The same seed reproduces it:",
        soft_wrap=True,
    )
    con.print("  " + escape(reproduce(res, defines)), soft_wrap=True)


def json_result(res: SimResult) -> dict[str, Any]:
    o = res.options
    return {
        "spec": res.spec,
        "config": {"name": res.config, "constants": res.constants},
        "engine": "simulate",
        "verdict": verdict(res),
        "seed": o.seed,
        "runs": res.runs,
        "steps": res.steps,
        "options": {"runs": o.runs, "depth": o.depth, "workers": o.workers, "uniform": o.uniform},
        "seconds": round(res.seconds, 3),
        "steps_per_second": round(res.steps_per_second),
        "kernels": res.kernels,
        "stopped": str(res.stopped) if res.stopped is not None else None,
        "stop": res.stopped.to_json() if res.stopped is not None else None,
        "run": res.run,
        "violation": res.violation.to_json() if res.violation is not None else None,
        "notes": res.notes,
    }

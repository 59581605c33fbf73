"""What `plugcheck check` prints for a run: one line per configuration, the failures in
full, an expected violation as one line, and a closing summary; `-v` adds the result
table, coverage and every trace; `-q` only the failing properties and the summary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from model import typed as T

from .render import plural, result_table, stats_line, steps, violation
from .results import INCONCLUSIVE, VIOLATED, PropertyResult, RunResult

MARK = {"pass": "[green]PASS[/green]", "fail": "[red]FAIL[/red]", "inconclusive": "[yellow]INCONCLUSIVE[/yellow]"}
EXIT_WORDS = {0: "all properties hold", 1: "a property is violated", 2: "errors in the specs", 3: "inconclusive"}


@dataclass
class Verbosity:
    quiet: bool = False
    verbose: bool = False


def short_stats(r: RunResult) -> str:
    """`965 states, depth 38, 0.59 s`; symbolic engines count no states."""
    parts = [plural(r.states, "state")] if r.engine == "explicit" else []
    parts += [f"depth {r.depth}", f"{r.seconds:.2f} s"]
    if r.stopped:
        parts.append(f"stopped: {r.stopped}")
    return ", ".join(parts)


def config_line(r: RunResult) -> str:
    consts = " ".join(f"{k}={v}" for k, v in r.constants.items())
    return (
        f"{MARK[r.verdict]} {escape(r.spec)} \\[{escape(r.config)}]"
        + (f" ({escape(consts)})" if consts else "")
        + f" — {r.engine}, {escape(short_stats(r))}"
    )


def _prop_line(p: PropertyResult) -> str | None:
    """The one line a property gets in the default output, or None for a plain pass."""
    trace = f", trace of {steps(len(p.trace))}" if p.trace is not None else ""
    what = f"{escape(p.name)} ({p.kind})"
    if p.passed is False:
        if p.expected == "violated":
            return f"[red]not violated[/red]: {what} {p.status}, but the spec expects a violation"
        # the generic "invariant `x` is violated" says nothing the line does not
        note = p.message if p.message and not p.message.endswith("is violated") else ""
        return f"[red]violated[/red]: {what}{trace}" + (f": {escape(note)}" if note else "")
    if p.status == INCONCLUSIVE:
        return f"[yellow]inconclusive[/yellow]: {what}" + (f": {escape(p.message)}" if p.message else "")
    if p.expected == "violated" and p.status == VIOLATED:
        return f"[green]expected violation found[/green]: {what}{trace}"
    return None


def print_result(con: Console, r: RunResult, model_of: Callable[[], T.Model], how: Verbosity) -> None:
    """One result as the terminal shows it; `model_of()` gives its model where a trace or -v needs it."""
    if how.quiet:
        bad = [p for p in r.properties if p.passed is False]
        open_ = [p for p in r.properties if p.passed is None]
        if bad or open_:
            parts = [f"{p.name} ({p.status})" for p in bad]
            if open_:
                # why they stayed open, once: a stopped search leaves every property open
                reached = f"{plural(r.states, 'state')}, " if r.engine == "explicit" else ""
                why = f"stopped: {r.stopped} ({reached}depth {r.depth})" if r.stopped else ""
                names = ", ".join(p.name for p in open_)
                parts.append(f"{why}; open: {names}" if why else f"inconclusive: {names}")
            line = f"{MARK[r.verdict]} {escape(r.spec)} \\[{escape(r.config)}]: {escape('; '.join(parts))}"
            con.print(line, soft_wrap=True)
        return
    con.print(config_line(r), soft_wrap=True)  # one line each, so logs grep
    if how.verbose:
        _print_verbose(con, r, model_of())
        return
    # a property that holds vacuously is worth a line; actions that never fire are counted
    shown = [w for w in r.warnings if "vacuously" in w]
    for w in shown:
        con.print(f"  [yellow]warning:[/yellow] {escape(w)}", soft_wrap=True)
    if len(r.warnings) > len(shown):
        more = len(r.warnings) - len(shown)
        con.print(f"  [yellow]{plural(more, 'warning')}[/yellow] about actions and fairness (-v lists them)")
    for p in r.properties:
        shown_line = _prop_line(p)
        if shown_line is not None:
            con.print("  " + shown_line, soft_wrap=True)
    failed = [p for p in r.properties if p.passed is False and p.trace is not None]
    for p in failed:
        con.print(violation(model_of(), p))
    if failed:
        con.print()


def _print_verbose(con: Console, r: RunResult, model: T.Model) -> None:
    con.print("  " + escape(stats_line(r)))
    con.print(result_table(r))
    for w in r.warnings:
        con.print(f"[yellow]warning:[/yellow] {escape(w)}")
    t = Table(title="action coverage", title_justify="left", box=None, header_style="bold")
    for col in ("action", "instances", "fired", "enabled in states", "transitions"):
        t.add_column(col, justify="left" if col == "action" else "right")
    for c in r.coverage:
        t.add_row(c.action, str(c.instances), str(c.fired), f"{c.enabled_states:,}", f"{c.transitions:,}")
    con.print(t)
    for p in r.properties:
        if p.trace is not None:
            con.print(violation(model, p, full_initial=True))
    con.print()


def summary(results: list[RunResult], n_errors: int, n_skipped: int, code: int) -> str:
    """The closing line: configurations and verdicts, expected violations, exit code."""
    n = {v: sum(1 for r in results if r.verdict == v) for v in ("pass", "fail", "inconclusive")}
    specs = len({r.spec for r in results})
    expected = sum(1 for r in results for p in r.properties if p.expected == "violated" and p.status == VIOLATED)
    parts = [
        f"{plural(len(results), 'configuration')} of {plural(specs, 'spec')} checked: "
        f"{n['pass']} pass, {n['fail']} fail, {n['inconclusive']} inconclusive"
    ]
    if expected:
        parts.append(f"{plural(expected, 'expected violation')} found (traces: -v or --report)")
    if n_skipped:
        parts.append(f"{n_skipped} skipped")
    if n_errors:
        parts.append(plural(n_errors, "spec error"))
    return "; ".join(parts) + f" — {EXIT_WORDS.get(code, '?')} (exit {code})"


def failing_names(results: list[RunResult]) -> list[str]:
    """`spec [config]: property` for every property without the verdict the spec expects."""
    return [
        f"{r.spec} [{r.config}]: {p.name}"
        for r in results
        for p in r.properties
        if p.passed is False or (p.passed is None and r.verdict != "pass")
    ]


def print_summary(
    con: Console, results: list[RunResult], n_errors: int, n_skipped: int, code: int, how: Verbosity
) -> None:
    bad = failing_names(results)
    if bad and not how.quiet:  # -q named them already, one line per configuration
        con.print("not as expected: " + ", ".join(escape(b) for b in bad), soft_wrap=True)
    con.print(escape(summary(results, n_errors, n_skipped, code)), soft_wrap=True)

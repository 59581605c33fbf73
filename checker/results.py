"""Results every engine returns: verdicts, statistics and traces, one schema for all."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.errors import Span, SpecError

from .stops import Stop

HOLDS, VIOLATED, INCONCLUSIVE, PROVED = "holds", "violated", "inconclusive", "proved"


def show_json(v: Any) -> str:
    """A JSON value as the spec language writes it: `true`/`false`, lists as `[a, b]`."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(show_json(x) for x in v) + "]"
    return str(v)


@dataclass
class Step:
    """One state of a trace: the action instance that led to it (None for an initial state),
    its arguments, and the full decoded state {var: JSON value}."""

    action: str | None
    args: dict[str, Any]
    state: dict[str, Any]

    @property
    def label(self) -> str:
        if self.action is None:
            return "initial state"
        if not self.args:
            return self.action
        return f"{self.action}(" + ", ".join(f"{k}={show_json(v)}" for k, v in self.args.items()) + ")"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "args": self.args, "state": self.state}


@dataclass
class Trace:
    steps: list[Step]
    loop: int | None = None  # index of the step a lasso's cycle returns to

    def __len__(self) -> int:
        """The number of transitions (a one-state trace has length 0)."""
        return len(self.steps) - 1

    def to_json(self) -> dict[str, Any]:
        """One shape for every trace: `loop` is null unless the trace is a lasso."""
        return {"steps": [s.to_json() for s in self.steps], "loop": self.loop}


@dataclass
class PropertyResult:
    name: str
    kind: str  # invariant, deadlock, reachable, liveness, range
    status: str  # holds, violated, inconclusive, proved
    trace: Trace | None = None
    message: str = ""
    span: Span | None = None
    bound: int | None = None  # depth for bounded results
    expected: str | None = None  # "violated" / "holds" when the spec says `expect`

    @property
    def passed(self) -> bool | None:
        """True when the verdict matches what the spec expects (by default: no violation);
        None when inconclusive."""
        if self.status == INCONCLUSIVE:
            return None
        if self.expected == "violated":
            return self.status == VIOLATED
        return self.status in (HOLDS, PROVED)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "kind": self.kind, "status": self.status}
        if self.expected:
            d["expected"] = self.expected
        if self.message:
            d["message"] = self.message
        if self.bound is not None:
            d["bound"] = self.bound
        if self.span is not None and self.span.line:
            d["location"] = {"file": self.span.file, "line": self.span.line, "column": self.span.column}
        if self.trace is not None:
            d["trace"] = self.trace.to_json()
        return d


@dataclass
class Coverage:
    action: str
    instances: int  # instances of the action
    fired: int  # instances that fired at least once
    enabled_states: int  # states in which some instance of the action was enabled
    transitions: int


@dataclass
class RunResult:
    spec: str
    config: str
    constants: dict[str, int]
    engine: str
    properties: list[PropertyResult]
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    peak_mb: float = 0.0
    coverage: list[Coverage] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stopped: Stop | None = None  # why the search ended early (a budget, an interrupt), if it did
    # drawn while the search's states were at hand (--report): (name, caption, SVG); not in JSON
    pictures: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """pass, fail or inconclusive for the whole (spec, config)."""
        ps = [p.passed for p in self.properties]
        if any(p is False for p in ps):
            return "fail"
        if any(p is None for p in ps):
            return "inconclusive"
        return "pass"

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "config": {"name": self.config, "constants": self.constants},
            "engine": self.engine,
            "verdict": self.verdict,
            "states": self.states,
            "transitions": self.transitions,
            "depth": self.depth,
            "seconds": round(self.seconds, 3),
            "peak_mb": round(self.peak_mb, 1),
            "stopped": str(self.stopped) if self.stopped is not None else None,
            "stop": self.stopped.to_json() if self.stopped is not None else None,
            "warnings": self.warnings,
            "coverage": [c.__dict__ for c in self.coverage],
            "properties": [p.to_json() for p in self.properties],
        }


def error_json(e: SpecError) -> dict[str, Any]:
    """A spec error in `--json`: where (file, 1-based line and column; 0 when the error has no
    position, such as a missing file), the message, and the text the terminal shows."""
    return {
        "file": e.span.file,
        "line": e.span.line,
        "column": e.span.column,
        "message": e.message,
        "text": e.render(),
    }


def json_document(
    version: str, results: list[RunResult], skipped: list[Any], errors: list[SpecError], exit_code: int
) -> dict[str, Any]:
    """The `--json` document (reports/plugcheck-json.schema.json); summary.json extends it."""
    return {
        "plugcheck": version,
        "results": [r.to_json() for r in results],
        "skipped": [dict(s.__dict__) for s in skipped],
        "errors": [error_json(e) for e in errors],
        "exit_code": exit_code,
    }

"""results.sarif: SARIF 2.1.0 as a plain dict. One result per violated property (and per
expected violation that was not found), located at the property's line and column in
its spec file, with the counterexample as a code flow: one location per step, at the
action that took it, the changed variables as its message and the full state in `state`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from model import typed as T
from model.errors import Span

from .. import __version__
from ..results import VIOLATED, PropertyResult, RunResult, Trace
from . import Checked, ReportData
from .text import step_changes

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
RULES = {
    "invariant": "An invariant fails in a reachable state",
    "reachable": "A `reachable` property is never reached",
    "deadlock": "A reachable state has no enabled action",
    "range": "An action assigns a value outside its range, or indexes out of bounds",
    "liveness": "A temporal property fails on an infinite run",
    "expectation": "A property the spec expects to be violated holds",
    "spec-error": "The spec does not parse or type-check",
}
_ERROR_AT = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.*)$")


def _uri(path: str) -> dict[str, str]:
    p = Path(path)
    if p.is_absolute():
        return {"uri": p.as_uri()}
    return {"uri": p.as_posix(), "uriBaseId": "SRCROOT"}


def _location(span: Span | None, fallback: str, message: str = "") -> dict[str, Any]:
    phys: dict[str, Any] = {"artifactLocation": _uri(span.file if span is not None and span.line else fallback)}
    if span is not None and span.line:
        region = {"startLine": span.line, "startColumn": max(span.column, 1)}
        if span.end_line >= span.line and span.end_column > 0:
            region["endLine"] = span.end_line
            region["endColumn"] = max(span.end_column, 1)
        phys["region"] = region
    else:
        phys["region"] = {"startLine": 1}
    loc: dict[str, Any] = {"physicalLocation": phys}
    if message:
        loc["message"] = {"text": message}
    return loc


def _action_span(model: T.Model, name: str | None) -> Span | None:
    for a in model.actions:
        if a.name == name:
            return a.span
    return None


def _init_span(model: T.Model) -> Span | None:
    """Where an initial state comes from: the first variable declaration."""
    return model.vars[0].span if model.vars else None


def code_flow(model: T.Model, r: RunResult, trace: Trace) -> dict[str, Any]:
    locs = []
    prev = None
    for i, st in enumerate(trace.steps):
        changes = step_changes(prev, st.state)
        text = f"step {i}: {st.label}" + (": " + "; ".join(changes) if changes else " (no change)")
        if trace.loop is not None and i == trace.loop:
            text += " (the loop starts here)"
        tfl: dict[str, Any] = {
            "location": _location(_action_span(model, st.action) or _init_span(model), r.spec, text),
            "state": {k: {"text": _text(v)} for k, v in st.state.items()},
            "nestingLevel": 0,
            "executionOrder": i + 1,
        }
        if trace.loop is not None and i >= trace.loop:
            tfl["kinds"] = ["loop"]
        locs.append(tfl)
        prev = st.state
    return {"message": {"text": f"{len(trace)} steps from an initial state"}, "threadFlows": [{"locations": locs}]}


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(_text(x) for x in v) + "]"
    return str(v)


def _result(c: Checked, p: PropertyResult, itf: str | None, rule_ids: list[str]) -> dict[str, Any] | None:
    r = c.result
    if p.status == VIOLATED:
        rule = p.kind if p.kind in RULES else "invariant"
        span = p.span
        if span is None and p.kind == "range" and p.trace is not None and len(p.trace.steps) > 1:
            span = _action_span(c.model, p.trace.steps[-1].action)  # a range error: the failing action
        expected = p.expected == "violated"
        msg = p.message or f"`{p.name}` is violated"
        msg += f" in {r.spec} [{r.config}]" + (" (expected by the spec)" if expected else "")
    elif p.expected == "violated" and p.passed is False:
        rule, span, expected = "expectation", p.span, False
        msg = f"`{p.name}` was expected to be violated, but it {p.status} in {r.spec} [{r.config}]"
    else:
        return None
    res: dict[str, Any] = {
        "ruleId": rule,
        "ruleIndex": rule_ids.index(rule),
        "kind": "pass" if expected else "fail",
        "level": "none" if expected else "error",
        "message": {"text": msg},
        "locations": [_location(span, r.spec)],
        "properties": {
            "spec": r.spec,
            "config": r.config,
            "constants": r.constants,
            "property": p.name,
            "status": p.status,
            "engine": r.engine,
        },
    }
    if itf:
        res["properties"]["itf"] = itf
    if p.trace is not None:
        res["codeFlows"] = [code_flow(c.model, r, p.trace)]
    return res


def _error_result(err: str, rule_ids: list[str]) -> dict[str, Any] | None:
    """A spec error (`file:line:col: error: message`) as a result at its position."""
    m = _ERROR_AT.match(err.splitlines()[0] if err else "")
    if m is None:
        return None
    span = Span(m["file"], int(m["line"]), int(m["col"]))
    return {
        "ruleId": "spec-error",
        "ruleIndex": rule_ids.index("spec-error"),
        "kind": "fail",
        "level": "error",
        "message": {"text": m["msg"]},
        "locations": [_location(span, m["file"])],
    }


def _rule(rule_id: str, text: str) -> dict[str, Any]:
    level = {"level": "error"}
    return {"id": rule_id, "name": rule_id, "shortDescription": {"text": text}, "defaultConfiguration": level}


def build(data: ReportData, traces: dict[tuple[int, str], str]) -> dict[str, Any]:
    rule_ids = list(RULES)
    results = []
    for c in data.checked:
        for p in c.result.properties:
            res = _result(c, p, traces.get((id(c), p.name)), rule_ids)
            if res is not None:
                results.append(res)
    for err in data.errors:
        res = _error_result(err, rule_ids)
        if res is not None:
            results.append(res)
    invocation: dict[str, Any] = {"executionSuccessful": not data.errors, "exitCode": data.exit_code}
    if data.errors:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": e.splitlines()[0] if e else "error"}} for e in data.errors
        ]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "plugcheck",
                        "version": __version__,
                        "rules": [_rule(k, v) for k, v in RULES.items()],
                    }
                },
                "originalUriBaseIds": {"SRCROOT": {"uri": Path.cwd().as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                "invocations": [invocation],
                "results": results,
            }
        ],
    }

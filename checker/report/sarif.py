"""results.sarif: SARIF 2.1.0 as a plain dict. Only findings: one result per property
violated against the spec's expectation (and per expected violation that was not found),
with a `partialFingerprints` entry that stays the same across commits, located at the property's line and column in
its spec file, with the counterexample as a code flow: one location per step, at the
action that took it, the changed variables as its message and the full state in `state`."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from model import typed as T
from model.errors import Span, SpecError

from .. import __version__
from ..render import why_text
from ..results import VIOLATED, PropertyResult, RunResult, Trace, show_json
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
            "state": {k: {"text": show_json(v)} for k, v in st.state.items()},
            "nestingLevel": 0,
            "executionOrder": i + 1,
        }
        if trace.loop is not None and i >= trace.loop:
            tfl["kinds"] = ["loop"]
        locs.append(tfl)
        prev = st.state
    return {"message": {"text": f"{len(trace)} steps from an initial state"}, "threadFlows": [{"locations": locs}]}


def fingerprint(rule: str, r: RunResult, prop: str) -> str:
    """What identifies a finding across commits: the rule, spec, config and property, not the
    line (an edit above the property keeps the alert open instead of opening a new one)."""
    key = "\x1f".join((rule, Path(r.spec).as_posix(), r.config, prop))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _result(c: Checked, p: PropertyResult, itf: str | None, rule_ids: list[str]) -> dict[str, Any] | None:
    """A finding: a violation the spec does not expect, or an expected one that was not found.
    An expected violation that was found is no finding (code scanning shows every result as an
    alert, whatever its `kind`), so it has no result; summary.json and junit.xml list it."""
    r = c.result
    if p.passed is not False:
        return None
    if p.status == VIOLATED:
        rule = p.kind if p.kind in RULES else "invariant"
        span = p.span
        if span is None and p.kind == "range" and p.trace is not None and len(p.trace.steps) > 1:
            span = _action_span(c.model, p.trace.steps[-1].action)  # a range error: the failing action
        msg = (p.message or f"`{p.name}` is violated") + f" in {r.spec} [{r.config}]"
        why = why_text(c.model, p)
        if why:
            msg += "\n" + why
    else:
        rule, span = "expectation", p.span
        msg = f"`{p.name}` was expected to be violated, but it {p.status} in {r.spec} [{r.config}]"
    res: dict[str, Any] = {
        "ruleId": rule,
        "ruleIndex": rule_ids.index(rule),
        "kind": "fail",
        "level": "error",
        "message": {"text": msg},
        "locations": [_location(span, r.spec)],
        "partialFingerprints": {"plugcheckFinding/v1": fingerprint(rule, r, p.name)},
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


def _error_result(err: SpecError, rule_ids: list[str]) -> dict[str, Any] | None:
    """A spec error as a result at its position (one without a position is only a notification)."""
    if not err.span.line:
        return None
    return {
        "ruleId": "spec-error",
        "ruleIndex": rule_ids.index("spec-error"),
        "kind": "fail",
        "level": "error",
        "message": {"text": err.message},
        "locations": [_location(err.span, err.span.file)],
        "partialFingerprints": {
            "plugcheckFinding/v1": hashlib.sha256(
                f"spec-error\x1f{err.span.file}\x1f{err.message}".encode()
            ).hexdigest()[:32]
        },
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
            {"level": "error", "message": {"text": e.render().splitlines()[0]}} for e in data.errors
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

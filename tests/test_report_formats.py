"""What each report file says about a small spec: SARIF valid against the 2.1.0 schema
and located at the property; JUnit valid against tests/junit.xsd with the trace in the
failure; summary.json pinning versions, hashes and budgets; ITF encodings."""

from __future__ import annotations

import hashlib
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from checker.report import render_all
from checker.run import Options
from checker.search import Budget
from model.errors import Span, SpecError

from .report_data import ROOT, TANK, check, sarif_schema_path

# every test runs at the checkout root: report paths are as a user typed them there
pytestmark = pytest.mark.usefixtures("at_root")


@pytest.fixture
def files(at_root: None) -> dict[str, str]:
    return render_all(check([TANK]))


def _bug_spec(tmp_path: Path) -> str:
    """tank.plug extended: an expected violation that is found, and one that is not."""
    p = tmp_path / "bug.plug"
    p.write_text(
        f'extends "{ROOT / TANK}"\nexpect violated never_both\nexpect violated level_matches\n', encoding="utf-8"
    )
    return str(p)


# ---- SARIF
def test_sarif_is_valid_sarif_2_1_0(files: dict[str, str]) -> None:
    schema_path = sarif_schema_path()
    if schema_path is None:
        pytest.skip("../shared/schemas/sarif-schema-2.1.0.json is not beside the checkout")
    import jsonschema

    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    doc = json.loads(files["results.sarif"])
    jsonschema.validate(doc, schema)
    broken = json.loads(files["results.sarif"])
    del broken["runs"][0]["results"][0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_sarif_result_at_the_property_with_the_trace_as_code_flow(files: dict[str, str]) -> None:
    run = json.loads(files["results.sarif"])["runs"][0]
    assert run["tool"]["driver"]["name"] == "plugcheck"
    assert run["columnKind"] == "unicodeCodePoints"
    (res,) = run["results"]  # one violated property in the whole run
    assert res["ruleId"] == "invariant" and res["level"] == "error" and res["kind"] == "fail"
    loc = res["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == TANK
    assert (loc["region"]["startLine"], loc["region"]["startColumn"]) == (29, 1)
    assert res["properties"]["config"] == "default" and res["properties"]["property"] == "never_both"
    steps = res["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [s["location"]["physicalLocation"]["region"]["startLine"] for s in steps] == [8, 13, 15, 15]
    assert (
        steps[3]["location"]["message"]["text"]
        == "step 3: fill(s=1): level: 1 → 2; full: [0] → [0, 1]; seen: [true, false] → [true, true]"
    )
    assert steps[3]["state"]["full"] == {"text": "[0, 1]"}


def test_sarif_has_only_findings_missing_expected_violations_are_errors(tmp_path: Path) -> None:
    run = json.loads(render_all(check([_bug_spec(tmp_path)]))["results.sarif"])["runs"][0]
    got = {
        (r["properties"]["config"], r["properties"]["property"]): (r["ruleId"], r["kind"], r["level"])
        for r in run["results"]
    }
    # never_both [default] is violated as the spec expects: no result (code scanning would alert)
    assert got == {
        ("default", "level_matches"): ("expectation", "fail", "error"),
        ("one", "level_matches"): ("expectation", "fail", "error"),
        ("one", "never_both"): ("expectation", "fail", "error"),
    }


# ---- JUnit
def _junit_schema():  # type: ignore[no-untyped-def]
    xmlschema = pytest.importorskip("xmlschema")
    return xmlschema.XMLSchema(str(ROOT / "tests" / "junit.xsd"))


def test_junit_is_valid_and_counts(files: dict[str, str]) -> None:
    schema = _junit_schema()
    schema.validate(files["junit.xml"])
    root = ET.fromstring(files["junit.xml"])
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("10", "1", "0", "0")
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == [f"{TANK}::default", f"{TANK}::one"]
    props = {p.get("name"): p.get("value") for p in suites[f"{TANK}::default"].iter("property")}
    assert props["states"] == "18" and props["engine"] == "explicit" and props["constants"] == "N=2"
    cases = [c.get("name") for c in suites[f"{TANK}::default"].iter("testcase")]
    assert cases[:3] == ["level_matches", "never_both", "one_full"]
    # a junit document with a testcase outside a suite is rejected: the schema is not vacuous
    bad = ET.fromstring(files["junit.xml"])
    ET.SubElement(bad, "testcase", {"name": "x"})
    assert not schema.is_valid(ET.tostring(bad, encoding="unicode"))


def test_junit_failure_carries_the_rendered_trace(files: dict[str, str]) -> None:
    root = ET.fromstring(files["junit.xml"])
    (fail,) = list(root.iter("failure"))
    assert fail.get("message") == "invariant `never_both` is violated" and fail.get("type") == "invariant"
    text = fail.text or ""
    assert "Counterexample: never_both (invariant), 3 steps" in text
    assert "fill(s=1)" in text and "→ 2" in text
    assert "\x1b[" not in text  # plain text, no terminal escapes


def test_junit_inconclusive_is_skipped_and_spec_errors_are_errors(tmp_path: Path) -> None:
    data = check([TANK], Options(budget=Budget(max_states=3)))
    data.errors.append(SpecError("expected `protocol`", Span("bad.plug", 1, 1)))
    xml = render_all(data)["junit.xml"]
    _junit_schema().validate(xml)
    root = ET.fromstring(xml)
    assert root.get("errors") == "1"
    skipped = [s.get("message") or "" for s in root.iter("skipped")]
    assert skipped and all(m.startswith("inconclusive:") for m in skipped)
    (err,) = list(root.iter("error"))
    assert err.get("message") == "bad.plug:1:1: error: expected `protocol`"


# ---- summary.json
def test_summary_pins_what_was_checked(files: dict[str, str], tmp_path: Path) -> None:
    doc = json.loads(files["summary.json"])
    assert {"plugcheck", "results", "skipped", "errors", "exit_code"} <= set(doc)  # the --json schema
    assert doc["exit_code"] == 1
    (spec,) = doc["specs"]
    assert spec["file"] == TANK
    assert spec["sha256"] == hashlib.sha256((ROOT / TANK).read_bytes()).hexdigest()
    assert doc["options"]["budget"] == {"max_states": None, "max_depth": None, "timeout": None}
    props = {p["name"]: p for p in doc["results"][0]["properties"]}
    assert props["never_both"]["itf"] == "traces/tank_default_never_both.itf.json"
    assert "itf" not in props["one_full"]

    bug = _bug_spec(tmp_path)
    doc = json.loads(render_all(check([bug], Options(budget=Budget(max_states=100, timeout=5.0))))["summary.json"])
    (spec,) = doc["specs"]
    assert spec["file"] == bug
    assert [e["sha256"] for e in spec["extends"]] == [hashlib.sha256((ROOT / TANK).read_bytes()).hexdigest()]
    assert doc["options"]["budget"] == {"max_states": 100, "max_depth": None, "timeout": 5.0}


# ---- ITF
def test_itf_encodings_and_action_instances(files: dict[str, str]) -> None:
    doc = json.loads(files["traces/tank_default_never_both.itf.json"])
    assert doc["vars"] == ["level", "mode", "full", "seen"]
    assert doc["#meta"]["format"] == "ITF" and doc["#meta"]["property"] == "never_both"
    assert "loop" not in doc
    last = doc["states"][3]
    assert last["#meta"] == {"index": 3, "action": "fill", "args": {"s": {"#bigint": "1"}}, "label": "fill(s=1)"}
    assert last["level"] == {"#bigint": "2"}
    assert last["mode"] == "FILLING"
    assert last["full"] == {"#set": [{"#bigint": "0"}, {"#bigint": "1"}]}
    assert last["seen"] == {"#map": [[{"#bigint": "0"}, True], [{"#bigint": "1"}, True]]}
    assert doc["states"][0]["#meta"] == {"index": 0}


def test_markdown_and_html_highlight_changed_values(files: dict[str, str]) -> None:
    md = files["report.md"]
    assert "| 3 | fill(s=1) | **→ 2** | FILLING | **→ ██** | true | **→ true** |" in md
    assert "| start | 1 | 1 | 9 | 9 |" in md  # action coverage
    html = files["report.html"]
    assert '<td class="v changed">→ ██</td>' in html
    assert '<span class="fail">FAIL</span>' in html


EDGE_SPEC = """protocol edge "a range error, a deadlock and a lasso"
var x : 0 .. 2 = 0
var flag : bool = false
action inc when x < 3 { x := x + 1 }
action toggle when x < 2 { flag := not flag }
property done: eventually x == 2
"""


def test_range_deadlock_and_lasso_results(tmp_path: Path) -> None:
    spec = tmp_path / "edge.plug"
    spec.write_text(EDGE_SPEC, encoding="utf-8")
    files = render_all(check([str(spec)]))
    _junit_schema().validate(files["junit.xml"])
    doc = json.loads(files["results.sarif"])
    schema_path = sarif_schema_path()
    if schema_path is not None:
        import jsonschema

        jsonschema.validate(doc, json.loads(schema_path.read_text(encoding="utf-8")))
    got = {}
    for r in doc["runs"][0]["results"]:
        region = r["locations"][0]["physicalLocation"]["region"]
        steps = r["codeFlows"][0]["threadFlows"][0]["locations"]
        got[r["ruleId"]] = (region["startLine"], [s.get("kinds") for s in steps])
    assert got["range"][0] == 4  # at the failing action
    assert got["deadlock"][0] == 1
    line, kinds = got["liveness"]
    assert line == 6 and kinds[-1] == ["loop"]  # the lasso's cycle is marked
    itf = [k for k in files if k.startswith("traces/")]
    assert sorted(itf) == [
        "traces/edge_default_deadlock.itf.json",
        "traces/edge_default_done.itf.json",
        "traces/edge_default_range.itf.json",
    ]
    assert "loop" in json.loads(files["traces/edge_default_done.itf.json"])


def test_spec_errors_are_sarif_results_at_their_position(files: dict[str, str]) -> None:
    data = check([TANK])
    data.errors.append(SpecError("9 is out of `x`'s range 0..3", Span("specs/bad.plug", 2, 18), "var x : 0 .. 3 = 9\n"))
    run = json.loads(render_all(data)["results.sarif"])["runs"][0]
    (err,) = [r for r in run["results"] if r["ruleId"] == "spec-error"]
    assert err["message"]["text"] == "9 is out of `x`'s range 0..3"
    loc = err["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "specs/bad.plug"
    assert (loc["region"]["startLine"], loc["region"]["startColumn"]) == (2, 18)
    assert run["invocations"][0]["executionSuccessful"] is False


def test_reports_draw_block_states_and_counterexamples_without_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)  # as on a machine without graphviz
    files = render_all(check([TANK, "specs/ref_sbm.plug"], Options(configs=["default"]), pictures=True))
    svgs = sorted(f for f in files if f.startswith("graphs/"))
    # tank: no array of enum values, a counterexample; ref_sbm: no counterexample, mb[0]
    assert svgs == ["graphs/ref_sbm_default_mb-0.svg", "graphs/tank_default_never_both.svg"]
    svg = files["graphs/tank_default_never_both.svg"]
    assert svg.startswith("<?xml") and 'stroke="#c62828"' in svg  # the counterexample in red
    assert "mb[0] = UNUSED" in files["graphs/ref_sbm_default_mb-0.svg"]
    html, md = files["report.html"], files["report.md"]
    assert '<img src="graphs/ref_sbm_default_mb-0.svg" alt="the state graph projected onto mb[0]"' in html
    assert "![counterexample to never_both and the states one step off it](graphs/tank_default_never_both.svg)" in md

"""junit.xml: one <testsuite> per (spec, config), one <testcase> per property, in the
Jenkins/Ant JUnit shape CI systems read. A property that does not get the verdict the
spec expects is a <failure> carrying the rendered trace; an inconclusive one is
<skipped>; a spec that does not load is an <error>."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..results import INCONCLUSIVE
from . import ReportData
from .text import property_text


def classname(spec: str, config: str) -> str:
    """Jenkins splits a classname at its last dot into package and class: the spec path (its
    dots made `_`) is the package, the config the class: `specs/bugs/L2_plug.default`."""
    return spec.replace(".", "_") + "." + config.replace(".", "_")


def _suite(parent: ET.Element, name: str) -> ET.Element:
    return ET.SubElement(parent, "testsuite", {"name": name})


def _count(suite: ET.Element, seconds: float) -> tuple[int, int, int, int]:
    cases = suite.findall("testcase")
    n = (
        len(cases),
        sum(1 for c in cases if c.find("failure") is not None),
        sum(1 for c in cases if c.find("error") is not None),
        sum(1 for c in cases if c.find("skipped") is not None),
    )
    for k, v in zip(("tests", "failures", "errors", "skipped"), n, strict=True):
        suite.set(k, str(v))
    suite.set("time", f"{seconds:.3f}")
    return n


def build(data: ReportData) -> str:
    root = ET.Element("testsuites", {"name": "plugcheck"})
    totals = [0, 0, 0, 0]
    seconds = 0.0
    for c in data.checked:
        r = c.result
        name = f"{r.spec}::{r.config}"
        s = _suite(root, name)
        props = ET.SubElement(s, "properties")
        info = {
            "engine": r.engine,
            "constants": " ".join(f"{k}={v}" for k, v in r.constants.items()),
            "states": str(r.states),
            "transitions": str(r.transitions),
            "depth": str(r.depth),
            "verdict": r.verdict,
        }
        if r.stopped is not None:
            info["stopped"] = str(r.stopped)
        for k, v in info.items():
            ET.SubElement(props, "property", {"name": k, "value": v})
        for p in r.properties:
            tc = ET.SubElement(s, "testcase", {"name": p.name, "classname": classname(r.spec, r.config)})
            text = property_text(c.model, r, p)
            if p.passed is None or p.status == INCONCLUSIVE:
                ET.SubElement(tc, "skipped", {"message": f"inconclusive: {p.message}"})
            elif not p.passed:
                msg = p.message or f"{p.name}: {p.status}"
                if p.expected == "violated":
                    msg = f"expected `{p.name}` to be violated, but it {p.status}"
                ET.SubElement(tc, "failure", {"message": msg, "type": p.kind}).text = text
            elif p.trace is not None:
                ET.SubElement(tc, "system-out").text = text
        _add(totals, _count(s, r.seconds))
        seconds += r.seconds
    for sk in data.skipped:
        s = _suite(root, f"{sk.spec}::{sk.config}")
        tc = ET.SubElement(s, "testcase", {"name": sk.config, "classname": classname(sk.spec, sk.config)})
        ET.SubElement(tc, "skipped", {"message": sk.reason})
        _add(totals, _count(s, 0.0))
    if data.errors:
        s = _suite(root, "spec errors")
        for spec_error in data.errors:
            err = spec_error.render()
            first = err.splitlines()[0]
            tc = ET.SubElement(s, "testcase", {"name": first, "classname": "spec errors"})
            ET.SubElement(tc, "error", {"message": first, "type": "SpecError"}).text = err
        _add(totals, _count(s, 0.0))
    for key, total in zip(("tests", "failures", "errors", "skipped"), totals, strict=True):
        root.set(key, str(total))
    root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _add(totals: list[int], n: tuple[int, int, int, int]) -> None:
    for i, v in enumerate(n):
        totals[i] += v

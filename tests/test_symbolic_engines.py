"""k-induction, Spacer and the CLI wiring of the symbolic engines: verdict words, bounds,
exit codes and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.cli import main
from checker.results import INCONCLUSIVE, PROVED, VIOLATED
from checker.symbolic.kind import kind
from checker.symbolic.spacer import spacer
from checker.symbolic.unroll import SymOptions
from model import build_model, spec_from_text

COUNTER = """
var x : 0 .. 15
action step when x < 10 { x := x + 2 }
action reset { x := 0 }
invariant bounded: x <= 11
"""


def by_name(res: object) -> dict[str, str]:
    return {p.name: p.status for p in res.properties}  # type: ignore[attr-defined]


def test_kind_and_spacer_prove_and_find() -> None:
    m = build_model(spec_from_text(COUNTER, "c.plug"))
    assert by_name(kind(m, SymOptions(depth=3)))["bounded"] == PROVED
    assert by_name(spacer(m, SymOptions(depth=8)))["bounded"] == PROVED
    bad = build_model(spec_from_text(COUNTER + "invariant low: x < 6\n", "c.plug"))
    k = kind(bad, SymOptions(depth=4))
    assert by_name(k)["low"] == VIOLATED and by_name(k)["bounded"] == INCONCLUSIVE
    sp = spacer(bad, SymOptions(depth=4))
    low = next(p for p in sp.properties if p.name == "low")
    assert low.status == VIOLATED and low.trace is not None and len(low.trace) == 3


def test_cli_engines_exit_codes_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "c.plug"
    f.write_text(COUNTER)
    assert main(["check", str(f), "--engine", "bmc", "--depth", "3", "--json"]) == 3
    doc = json.loads(capsys.readouterr().out)
    prop = doc["results"][0]["properties"][0]
    assert (doc["results"][0]["engine"], prop["status"], prop["bound"]) == ("bmc", "inconclusive", 3)
    assert main(["check", str(f), "--engine", "induction", "-q"]) == 0
    f.write_text(COUNTER + "invariant low: x < 6\n")
    assert main(["check", str(f), "--engine", "bmc", "--depth", "4", "-q"]) == 1

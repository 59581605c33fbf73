"""`plugcheck parse` and `plugcheck check --parse-only` describe the typed model."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.cli import main

REF = str(Path(__file__).resolve().parent.parent / "specs" / "ref_sbm.plug")


@pytest.mark.parametrize("argv", [["check", REF, "--parse-only"], ["parse", REF]])
def test_describes_variables_instances_and_properties(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "ref_sbm" in out and "config default (B = 2, S = 2, L = 1)" in out
    # variables with types and bit widths
    assert "requested" in out and "0..4" in out
    assert "[0..1] bitmap(2)" in out and "[0..1] MbState" in out
    assert "state: 21 bits in 9 fields; 29 action instances" in out
    assert "plug_sb" in out and "b: 0..1, s: 0..1" in out
    for name in ("no_online_unplugged", "bounded_offline", "fake_offline_owned", "state_matches_bitmap"):
        assert name in out
    assert "all_plugged" in out and "reachable" in out


def test_parse_with_config_and_define(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", REF, "--config", "linux"]) == 0
    out = capsys.readouterr().out
    assert "config linux (B = 8, S = 64, L = 2); engines: symbolic" in out
    assert main(["parse", REF, "-D", "S=3"]) == 0
    assert "[0..1] bitmap(3)" in capsys.readouterr().out

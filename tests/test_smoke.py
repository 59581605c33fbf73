"""The shipped reference spec explores to the exact state counts of the SPIN reference."""

import pytest

from checker.search import explore
from model import build_model, load_spec

COUNTS = {"tiny": 36, "default": 675, "b2s3": 7749, "b2s4": 80919, "b2s4l2": 82944}


@pytest.mark.parametrize("config,count", sorted(COUNTS.items()))
def test_ref_sbm_state_counts(config: str, count: int) -> None:
    res, _ = explore(build_model(load_spec("specs/ref_sbm.plug"), config))
    assert res.states == count
    assert res.verdict == "pass"

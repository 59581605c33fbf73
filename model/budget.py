"""The time budget of the steps before a search: grounding and compiling.

A run's `--timeout` covers everything the run does, but grounding and compiling are called
deep inside every engine. The budget is set once around a run (`time_budget`) and read where
those steps loop (`check_time`), so the engines need not pass it along. Running out is not
an error in the spec: `Stopped` ends the run as inconclusive.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# (deadline as a time.perf_counter() value, the timeout in seconds it came from)
_BUDGET: ContextVar[tuple[float, float] | None] = ContextVar("plugcheck_time_budget", default=None)


class Stopped(Exception):
    """The time budget ran out before the search started (an inconclusive run)."""

    def __init__(self, timeout: float, during: str) -> None:
        super().__init__(f"time budget {timeout:g} s reached while {during}")
        self.timeout = timeout
        self.during = during


@contextmanager
def time_budget(timeout: float | None) -> Iterator[None]:
    """Within the block, grounding and compiling stop after `timeout` seconds (None: never)."""
    token = _BUDGET.set(None if timeout is None else (time.perf_counter() + timeout, timeout))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def check_time(during: str) -> None:
    """Raise Stopped when the budget set by `time_budget` has run out."""
    b = _BUDGET.get()
    if b is not None and time.perf_counter() > b[0]:
        raise Stopped(b[1], during)

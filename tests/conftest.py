"""Fixtures shared by several test modules."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def at_root() -> Iterator[None]:
    """Run at the checkout root (modules opt in with `pytest.mark.usefixtures("at_root")`)."""
    cwd = os.getcwd()
    os.chdir(ROOT)
    yield
    os.chdir(cwd)

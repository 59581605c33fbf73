"""Cheap questions about ground trees that the provers ask before encoding anything."""

from __future__ import annotations

from model.walk import may_fail

__all__ = ["may_fail"]

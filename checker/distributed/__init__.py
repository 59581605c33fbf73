"""The explicit search with its state store partitioned across Ray actors (`check --workers N`,
`--cluster ADDRESS`). Ray is optional: nothing here imports it until a search starts."""

from .engine import Distributed, explore_distributed
from .runtime import INSTALL, Runtime, Unavailable

__all__ = ["INSTALL", "Distributed", "Runtime", "Unavailable", "explore_distributed"]

"""Writing a spec's ground model for other checkers: `to_promela` (SPIN)."""

from .promela import PromelaExport, safety_part, to_promela
from .promela_expr import ExportError

__all__ = ["ExportError", "PromelaExport", "safety_part", "to_promela"]

"""The plugcheck spec language: text to a typed, checked model.

Data flow: parse (lark) -> syntax (AST) -> load (extends/replace) -> check (typed model
per configuration) -> ground (instances, unrolled; what the engines read).
"""

from .check import build_model, config_names
from .errors import Span, SpecError
from .load import Spec, load_spec, spec_from_text

__all__ = ["Spec", "SpecError", "Span", "build_model", "config_names", "load_spec", "spec_from_text"]

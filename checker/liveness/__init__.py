"""Liveness (`eventually`, `always eventually`, `leadsto`, `eventually always`) under weak and
strong fairness, over the search's transitions as arrays. `check.py` is the entry point;
`record.py` gets the transitions and property masks, `arrays.py` holds the graph algorithms,
`fair.py` the fair components, `lasso.py` the counterexamples."""

from .check import KINDS, Liveness, add_liveness, check_temporal, fairness_warnings, graph_bytes

__all__ = ["KINDS", "Liveness", "add_liveness", "check_temporal", "fairness_warnings", "graph_bytes"]

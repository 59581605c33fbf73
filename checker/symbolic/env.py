"""The values a z3 encoding reads at one point of a step (`Env`): state leaves, local lets,
and, for the induction engine, the abstraction of sums and counts over the pre-state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.ground import G
from model.walk import Key

from .bv import Err
from .popcount import Counts


@dataclass
class Env:
    """Values of the state leaves and local lets at one point, with a per-env memo."""

    fields: dict[Key, Any]
    tmps: dict[str, Any] = field(default_factory=dict)
    memo: dict[int, tuple[Any, Err]] = field(default_factory=dict)
    # abstraction (used by the induction engine): sums are fresh bounded variables unless
    # listed in `precise`; `abstract` records them (node -> (node, variable)), `side` their bounds
    abstract: dict[G, tuple[G, Any]] | None = None
    precise: set[G] = field(default_factory=set)
    side: list[Any] = field(default_factory=list)
    origin: dict[Key, Any] | None = None  # the state the abstraction variables describe
    # one variable per sum over `origin`, shared by every query and assumed invariant that
    # names it (see `Prover`); a precise sum is its variable, tied to its terms in `side`
    names: dict[G, Any] | None = None
    # the precise sums tied so far in this query, as (variable, terms): see `sums`
    tied: list[tuple[Any, list[Any]]] = field(default_factory=list)
    counts: Counts | None = None  # popcounts of wide bitmaps as abstract counts (induction)
    # integer terms known equal to a constant on this path (`if i == 3 { a[i] := a[i] | r }`
    # reads a[3], not the chain over every index): term id -> (term, value)
    facts: dict[int, tuple[Any, int]] = field(default_factory=dict)
    base: Env | None = None  # the env of the pre-state this one was derived from (induction)

    def derive(self, fields: dict[Key, Any]) -> Env:
        """The env after an assignment: new leaf values, same lets and abstraction, fresh memo."""
        return Env(
            fields,
            self.tmps,
            abstract=self.abstract,
            precise=self.precise,
            side=self.side,
            origin=self.origin,
            names=self.names,
            tied=self.tied,
            counts=self.counts,
            facts=self.facts,
            base=self.base,
        )

    def abstracts(self, keys: frozenset[Key]) -> bool:
        """May a sum over these leaves be its abstraction variable here (leaves unchanged)?"""
        if self.abstract is None:
            return False
        o = self.origin
        return o is None or all(self.fields[k] is o[k] for k in keys)

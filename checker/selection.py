"""Which properties a check decides: `--property NAME` (repeatable, shell-style globs) and
`--kind invariant,range,deadlock,liveness,reachable`, and what each engine can decide.

A property is *asked for explicitly* when a `--property` pattern or a `--kind` names it. Without
either, every property of a kind the engine decides is checked and the others are left out,
with one note saying so (induction proves no witness and no liveness: its verdict on what it can
decide is then one CI can use). Whatever is asked for explicitly is always reported, so the
exit code covers exactly what was asked."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field

from model import typed as T

KINDS = ("invariant", "range", "deadlock", "liveness", "reachable")
SAFETY = frozenset({"invariant", "range", "deadlock"})

# what each engine can settle (a proof, a violation, a witness); the others it leaves open
DECIDES: dict[str, frozenset[str]] = {
    "explicit": frozenset(KINDS),
    "induction": SAFETY,
    "bmc": SAFETY | {"reachable"},
    "kind": SAFETY | {"reachable"},
    "spacer": SAFETY | {"reachable"},
    "symbolic": SAFETY,  # witnesses at symbolic sizes are deep: BMC hunts them only when asked
}

WHY_NOT = {
    "induction": "induction proves safety; it shows no witness and checks no temporal property",
    "bmc": "the symbolic engines check no temporal property",
    "kind": "the symbolic engines check no temporal property",
    "spacer": "the symbolic engines check no temporal property",
    "symbolic": "the pipeline proves safety; it checks no temporal property and hunts witnesses only when asked",
}


class SelectionError(ValueError):
    """A `--property` pattern that names no property, or an unknown `--kind`."""


def parse_kinds(text: str) -> frozenset[str]:
    """`invariant,range` -> the set; an unknown kind is an error naming the kinds."""
    kinds = frozenset(k.strip() for k in text.split(",") if k.strip())
    bad = sorted(kinds - set(KINDS))
    if bad or not kinds:
        raise SelectionError(f"unknown kind {', '.join(bad) or repr(text)}; kinds: {', '.join(KINDS)}")
    return kinds


def kind_of(p: T.PropT) -> str:
    """The result kind of a declared property (`always P` is checked as an invariant)."""
    if p.kind in ("invariant", "always"):
        return "invariant"
    return "reachable" if p.kind == "reachable" else "liveness"


def property_kinds(model: T.Model) -> dict[str, str]:
    """Every property a check of the model can report, name -> kind, in the engines' order."""
    out = {p.name: kind_of(p) for p in model.properties if p.kind in ("invariant", "reachable")}
    if not model.allow_deadlock:
        out["deadlock"] = "deadlock"
    out["range"] = "range"
    for p in model.properties:
        out.setdefault(p.name, kind_of(p))
    return out


@dataclass(frozen=True)
class Selection:
    patterns: tuple[str, ...] = ()  # --property globs; empty: every name
    kinds: frozenset[str] | None = None  # --kind; None: every kind the engine decides

    @property
    def explicit(self) -> bool:
        return bool(self.patterns) or self.kinds is not None

    def check_names(self, model: T.Model) -> None:
        """Every pattern must name some property of the model."""
        names = list(property_kinds(model))
        for pat in self.patterns:
            if not any(fnmatch.fnmatchcase(n, pat) for n in names):
                raise SelectionError(f"no property matches `{pat}` in {model.path} (properties: {', '.join(names)})")

    def wanted(self, model: T.Model, engine: str) -> Chosen:
        """The properties to report for this engine, and those left out because it cannot
        decide their kind."""
        kinds = property_kinds(model)
        decides = DECIDES.get(engine, frozenset(KINDS))
        chosen = Chosen()
        for name, kind in kinds.items():
            named = not self.patterns or any(fnmatch.fnmatchcase(name, p) for p in self.patterns)
            if not named or (self.kinds is not None and kind not in self.kinds):
                continue
            if not self.explicit and kind not in decides:
                chosen.left_out.append(name)
                continue
            chosen.names.append(name)
        return chosen


@dataclass
class Chosen:
    names: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # undecidable by the engine, not asked for

    def note(self, engine: str, kinds: dict[str, str]) -> str:
        """The up-front note on what is left out ("" if nothing is)."""
        if not self.left_out:
            return ""
        by_kind = sorted({kinds[n] for n in self.left_out})
        return (
            f"{engine}: {' and '.join(by_kind)} properties left out ({', '.join(self.left_out)}): "
            f"{WHY_NOT.get(engine, 'this engine cannot decide them')}; "
            f"name them with --property or --kind to have them reported"
        )


def keep(names: Sequence[str], props: list[T.PropT]) -> list[T.PropT]:
    """The declared properties among `names` (for engines that may skip the rest)."""
    wanted = set(names)
    return [p for p in props if p.name in wanted]

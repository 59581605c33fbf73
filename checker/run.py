"""What `plugcheck check` does, without printing: find spec files, choose configurations,
run the engines, collect results. The CLI, the pytest plugin and the reports share it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model import SpecError, build_model, load_spec
from model import typed as T
from model.budget import Stopped, time_budget
from model.errors import Span
from model.load import Spec

from .results import INCONCLUSIVE, PropertyResult, RunResult
from .search import Budget, Progress, explore
from .selection import Selection, SelectionError, keep, property_kinds

if TYPE_CHECKING:
    from .distributed import Runtime

ENGINES = ("explicit", "bmc", "induction", "kind", "spacer", "symbolic")


@dataclass
class Options:
    configs: list[str] = field(default_factory=list)  # empty: every non-benchmark config
    defines: dict[str, int] = field(default_factory=dict)
    engine: str | None = None  # None: the engines each config is meant for
    budget: Budget = field(default_factory=Budget)
    deadlock: bool = True
    kernel: str = "auto"  # explicit engine: the successor backend (search.backends.choose)
    depth: int | None = None  # symbolic engines: BMC / k-induction bound (None: their default)
    selection: Selection = field(default_factory=Selection)  # --property / --kind
    jobs: int = 1  # induction: processes proving action groups at once
    pictures: bool = False  # explicit engine: draw the report's pictures while the states are at hand
    runtime: Runtime | None = None  # explicit engine: --workers / --cluster, the search partitioned on Ray


@dataclass
class Note:
    """Said once, before the results: what an engine leaves out of the check."""

    text: str


@dataclass
class Skipped:
    spec: str
    config: str
    reason: str


def spec_files(paths: list[str]) -> list[Path]:
    """Files named, and every *.plug under the folders named, in a stable order."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out += sorted(path.rglob("*.plug"))
        elif path.exists():
            out.append(path)
        else:
            raise SpecError(f"no such file or folder: {p}", Span(p, 0, 0))
    return out


def plan(spec: Spec, opts: Options) -> Iterator[tuple[str, str] | Skipped]:
    """(config, engine) pairs to run for one spec, or the reason a config is skipped."""
    decls = {c.name: c for c in spec.config_decls}
    if opts.configs:
        names = [c for c in opts.configs if c == "default" or c in decls]
        if not names:
            missing = ", ".join(opts.configs)
            raise SpecError(
                f"no config {missing} in {spec.path} (configs: " + ", ".join(["default", *decls]) + ")",
                Span(spec.path, 0, 0),
            )
    elif opts.defines:
        names = ["default"]
    else:
        names = ["default"] + [n for n, c in decls.items() if "benchmark" not in c.modifiers]
    for name in names:
        mods = decls[name].modifiers if name in decls else ()
        meant = tuple(e for e in ("explicit", "symbolic") if e in mods) or ("explicit",)
        if opts.engine is not None:
            yield (name, opts.engine)
        elif "explicit" in meant:
            yield (name, "explicit")
        else:
            # the default symbolic pipeline: induction, then BMC for what is still open.
            # Linux-size configs whose proofs take minutes are marked `benchmark` in the specs.
            yield (name, "symbolic")


def check_spec(
    spec: Spec, opts: Options, progress: Callable[[Progress], None] | None = None
) -> Iterator[RunResult | Skipped | Note]:
    """Results of the planned runs, each reporting only the selected properties; a Note before
    the first run of an engine that leaves properties out."""
    noted: set[str] = set()
    for item in plan(spec, opts):
        if isinstance(item, Skipped):
            yield item
            continue
        config, engine = item
        if engine not in ENGINES:
            raise SpecError(f"unknown engine `{engine}`; engines: {', '.join(ENGINES)}", Span(spec.path, 0, 0))
        model = build_model(spec, config, opts.defines)
        try:
            opts.selection.check_names(model)
        except SelectionError as e:
            raise SpecError(str(e), Span(spec.path, 0, 0)) from None
        chosen = opts.selection.wanted(model, engine)
        note = chosen.note(engine, property_kinds(model))
        if note and note not in noted:
            noted.add(note)
            yield Note(note)
        names = set(chosen.names)
        deadlock = opts.deadlock and "deadlock" in names
        if engine == "explicit":
            # properties not selected are not checked at all (no graph for unselected liveness)
            model = replace(model, properties=keep(chosen.names, model.properties))
        t0 = time.perf_counter()
        try:
            with time_budget(opts.budget.timeout):  # grounding and compiling stop in time too
                if engine == "explicit":
                    res, ex = _explicit(model, opts, deadlock, progress)
                    if opts.pictures and ex is not None:
                        from .picture import report_pictures

                        res.pictures = report_pictures(model, res, ex)
                else:
                    from .symbolic.pipeline import run_symbolic
                    from .symbolic.unroll import SymOptions

                    sym = SymOptions(opts.depth, opts.budget.timeout, deadlock, progress, frozenset(names), opts.jobs)
                    res = run_symbolic(model, engine, sym)
        except Stopped as stop:
            res = not_started(model, engine, str(stop), time.perf_counter() - t0, deadlock)
        res.properties = [p for p in res.properties if p.name in names]
        yield res


def _explicit(
    model: T.Model, opts: Options, deadlock: bool, progress: Callable[[Progress], None] | None
) -> tuple[RunResult, Any]:
    """The explicit engine in this process, or partitioned on Ray (--workers, --cluster); the
    exploration when every state is at hand (None: the distributed search did not gather it)."""
    if opts.runtime is None:
        record = opts.pictures or None
        return explore(model, opts.budget, deadlock, progress, kernel=opts.kernel, record_edges=record)
    from .distributed import explore_distributed

    whole = opts.pictures  # the report's pictures need every state on this machine
    d = explore_distributed(model, opts.runtime, opts.budget, deadlock, progress, kernel=opts.kernel, whole=whole)
    return d.result, d.exploration


def not_started(model: T.Model, engine: str, why: str, seconds: float, deadlock: bool = True) -> RunResult:
    """The result of a run the budget ended before its search began: every property open."""
    names: list[tuple[str, str, Span | None]] = [(p.name, p.kind, p.span) for p in model.properties]
    names += [("deadlock", "deadlock", None)] if deadlock and not model.allow_deadlock else []
    names.append(("range", "range", None))
    props = [
        PropertyResult(n, k, INCONCLUSIVE, None, f"not checked: {why}", sp, expected=model.expects.get(n))
        for n, k, sp in names
    ]
    return RunResult(
        model.path, model.config.name, dict(model.config.values), engine, props, seconds=seconds, stopped=why
    )


def load(path: Path) -> Spec:
    return load_spec(path)

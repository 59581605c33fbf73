"""What `plugcheck check` does, without printing: find spec files, choose configurations,
run the engines, collect results. The CLI, the pytest plugin and the reports share it."""

from __future__ import annotations

import json
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
from .search.checkpoint import CheckpointError, Checkpointing, write_atomic
from .search.resume import summary
from .selection import Selection, SelectionError, keep, parse_kinds, property_kinds
from .stops import Stop, stop_of

RUN_FILE = "run.json"  # in a checkpoint folder: the options of the run that wrote it

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
    checkpoint: Checkpointing | None = None  # explicit engine: checkpoints (and resuming), a subfolder per config
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
    if opts.checkpoint is not None:
        yield from _checkpoints(spec, opts, opts.checkpoint)
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
                    res, ex = _explicit(model, opts, deadlock, progress, config)
                    if opts.pictures and ex is not None:
                        from .picture import report_pictures

                        res.pictures = report_pictures(model, res, ex)
                else:
                    from .symbolic.pipeline import run_symbolic
                    from .symbolic.unroll import SymOptions

                    sym = SymOptions(opts.depth, opts.budget.timeout, deadlock, progress, frozenset(names), opts.jobs)
                    res = run_symbolic(model, engine, sym)
        except Stopped as stop:
            res = not_started(model, engine, stop_of(stop), time.perf_counter() - t0, deadlock)
        res.properties = [p for p in res.properties if p.name in names]
        yield res


def _checkpoints(spec: Spec, opts: Options, ck: Checkpointing) -> Iterator[Note]:
    """Before any search: a checkpoint folder fits the run (a fresh run overwrites no
    checkpoint; a resumed one finds at least one), and notes on what is resumed."""
    planned = [item for item in plan(spec, opts) if not isinstance(item, Skipped)]
    explicit = [config for config, engine in planned if engine == "explicit"]
    if not explicit:
        raise CheckpointError(
            f"checkpoints keep the explicit engine's search, and no config of {spec.path} runs it here"
            " (--engine explicit makes it)"
        )
    if len(explicit) < len(planned):
        others = ", ".join(c for c, e in planned if e != "explicit")
        yield Note(f"checkpoints keep the explicit search only: {others} run from the start")
    held = [c for c in explicit if ck.at(c).holds()]
    if not ck.resume and held:
        where = ck.at(held[0]).folder
        raise CheckpointError(
            f"{where} already holds a checkpoint ({summary(where)}): go on from it with --resume {ck.folder},"
            " or remove it (or name another folder) to check from the start"
        )
    if ck.resume and not held:
        raise CheckpointError(
            f"{ck.folder} holds no checkpoint of {spec.path}: looked for "
            + ", ".join(str(ck.at(c).folder) for c in explicit)
        )
    if not ck.resume:
        _record_run(ck, opts)
        return
    for c in explicit:
        if c in held:
            yield Note(f"[{c}] resumes from {ck.at(c).folder}: {summary(ck.at(c).folder)}")
        else:
            yield Note(f"[{c}] has no checkpoint in {ck.folder}: checked from the start")


def _record_run(ck: Checkpointing, opts: Options) -> None:
    """What `--resume DIR` alone needs to run the same checks again: the configs, -D, engine
    and property selection of the run that writes the checkpoints."""
    doc = {
        "configs": list(opts.configs),  # as given: none plans the same configs again
        "defines": dict(opts.defines),
        "engine": opts.engine,
        "properties": list(opts.selection.patterns),
        "kinds": None if opts.selection.kinds is None else sorted(opts.selection.kinds),
    }
    try:
        ck.folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CheckpointError(f"cannot write checkpoints to {ck.folder}: {e.strerror or e}") from None
    write_atomic(ck.folder / RUN_FILE, [json.dumps(doc, indent=1).encode()])


def resumed_options(opts: Options) -> tuple[Options, str]:
    """With `--resume DIR`: what the command line leaves out (configs with -D, the engine, the
    property selection) taken from the run that wrote the checkpoints, and a note on what was
    taken ("" when nothing was)."""
    ck = opts.checkpoint
    if ck is None or not ck.resume or not (ck.folder / RUN_FILE).is_file():
        return opts, ""
    try:
        doc = json.loads((ck.folder / RUN_FILE).read_text(encoding="utf-8"))
        configs, defines, engine = list(doc["configs"]), dict(doc["defines"]), doc["engine"]
        patterns, kinds = tuple(doc["properties"]), doc["kinds"]
        if not all(isinstance(c, str) for c in configs) or not all(isinstance(v, int) for v in defines.values()):
            raise ValueError("not names and numbers")
        if engine not in (None, *ENGINES) or not all(isinstance(x, str) for x in patterns):
            raise ValueError("not an engine and property names")
        kinds = None if kinds is None else frozenset(parse_kinds(",".join(kinds)))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, SelectionError) as e:
        raise CheckpointError(
            f"{ck.folder / RUN_FILE} is damaged ({e}): give the options on the command line"
        ) from None
    taken: list[str] = []
    if not opts.configs and not opts.defines:
        opts = replace(opts, configs=configs, defines=defines)
        taken += [f"--config {c}" for c in configs] + [f"-D {k}={v}" for k, v in defines.items()]
    if opts.engine is None and engine is not None:
        opts = replace(opts, engine=engine)
        taken.append(f"--engine {engine}")
    if not opts.selection.explicit and (patterns or kinds is not None):
        opts = replace(opts, selection=Selection(patterns, kinds))
        taken += [f"--property {x}" for x in patterns] + ([f"--kind {','.join(sorted(kinds))}"] if kinds else [])
    note = f"--resume {ck.folder} checks as the run that wrote it: {' '.join(taken)}" if taken else ""
    return opts, note


def _checkpoint_of(ck: Checkpointing | None, config: str) -> Checkpointing | None:
    """The config's own folder; resumed only where a checkpoint is (the others start afresh)."""
    if ck is None:
        return None
    at = ck.at(config)
    return Checkpointing(at.folder, at.every, at.resume and at.holds())


def _explicit(
    model: T.Model, opts: Options, deadlock: bool, progress: Callable[[Progress], None] | None, config: str
) -> tuple[RunResult, Any]:
    """The explicit engine in this process, or partitioned on Ray (--workers, --cluster); the
    exploration when every state is at hand (None: the distributed search did not gather it)."""
    if opts.runtime is None:
        record = opts.pictures or None
        checkpoint = _checkpoint_of(opts.checkpoint, config)
        return explore(
            model, opts.budget, deadlock, progress, kernel=opts.kernel, record_edges=record, checkpoint=checkpoint
        )
    from .distributed import explore_distributed

    whole = opts.pictures  # the report's pictures need every state on this machine
    d = explore_distributed(model, opts.runtime, opts.budget, deadlock, progress, kernel=opts.kernel, whole=whole)
    return d.result, d.exploration


def not_started(model: T.Model, engine: str, why: Stop, seconds: float, deadlock: bool = True) -> RunResult:
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

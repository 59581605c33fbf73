"""`plugcheck check`: options from the flags, the run over the spec files (in this process,
in `--jobs` workers or on Ray), the output, the report and the exit code."""

from __future__ import annotations

import argparse
import json
import os
import sys
from functools import partial
from pathlib import Path
from typing import Any

from rich.markup import escape

from model import SpecError, build_model, load_spec

from . import __version__
from .check_files import Cut, check_files
from .cli_common import EXIT_ERROR, EXIT_INCONCLUSIVE, EXIT_OK, EXIT_VIOLATED, console, paths, progress_printer
from .cli_parser import CHECKPOINT_EVERY
from .results import RunResult, json_document
from .run import Note, Options, Skipped, resumed_options, spec_files
from .search import Budget
from .search.backends import KINDS as KERNELS
from .search.checkpoint import CheckpointError, Checkpointing
from .selection import Selection
from .stopping import forward_to_interrupt


def check(args: argparse.Namespace) -> int:
    opts = Options(
        configs=list(args.config),
        defines=dict(args.defines),
        engine=args.engine,
        budget=Budget(
            args.max_states, args.max_depth, args.timeout, **_graph_limit(args), max_memory=_memory_limit(args)
        ),
        deadlock=not args.no_deadlock,
        kernel=args.kernel or os.environ.get("PLUGCHECK_KERNEL") or "auto",
        depth=args.depth,
        selection=Selection(tuple(args.properties), args.kind),
        jobs=args.jobs or os.cpu_count() or 1,
        pictures=args.report is not None,
        checkpoint=_checkpointing(args),
    )
    problem = _checkpoint_problem(args)
    if problem:
        print(f"plugcheck: error: {problem}", file=sys.stderr)
        return EXIT_ERROR
    try:
        opts, taken = resumed_options(opts)  # --resume DIR alone checks what the checkpointed run did
    except CheckpointError as e:
        print(f"plugcheck: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    if taken:
        print(f"note: {taken}", file=sys.stderr)
    if opts.defines and len(opts.configs) > 1:
        print("plugcheck: error: -D checks one configuration; name at most one --config", file=sys.stderr)
        return EXIT_ERROR
    if opts.kernel not in KERNELS:
        print(f"plugcheck: error: PLUGCHECK_KERNEL must be one of {', '.join(KERNELS)}", file=sys.stderr)
        return EXIT_ERROR
    if args.report is not None and (not args.report or Path(args.report).is_file() or args.report.endswith(".plug")):
        # `--report specs/x.plug` took the spec for the folder: say so before checking anything
        print(f"plugcheck: error: --report takes a folder, not {args.report}; write --report=DIR", file=sys.stderr)
        return EXIT_ERROR
    if args.workers is not None or args.cluster is not None:
        from .distributed import Runtime, Unavailable

        opts.runtime = Runtime(args.workers, args.cluster)
        try:
            opts.runtime.start()
        except Unavailable as e:
            print(f"plugcheck: error: {e}", file=sys.stderr)
            return EXIT_ERROR
        try:
            return _check_files(args, opts)
        except Unavailable as e:
            print(f"plugcheck: error: {e}", file=sys.stderr)
            return EXIT_ERROR
        finally:
            opts.runtime.close()
    return _check_files(args, opts)


def _check_files(args: argparse.Namespace, opts: Options) -> int:
    from .render_run import Verbosity, print_result, print_summary

    con = console(width=args.width)
    err = console(stderr=True, width=args.width)
    how = Verbosity(args.quiet, args.verbose)
    try:
        files = spec_files(paths(args))
    except SpecError as e:
        print(e.render(), file=sys.stderr)
        return EXIT_ERROR
    if not files:
        print(f"plugcheck: error: no *.plug files in {' '.join(paths(args))}", file=sys.stderr)
        return EXIT_ERROR
    results: list[RunResult] = []
    errors: list[SpecError] = []
    skipped: list[Skipped] = []
    progress = None if args.json else progress_printer(args.quiet)
    tty = sys.stderr.isatty()
    checked: list[Any] = []  # (result, model) pairs for --report
    forward_to_interrupt()  # SIGTERM / SIGHUP end the run like Ctrl-C: verdicts so far, exit 3
    specs: dict[Path, Any] = {}
    models: dict[tuple[Path, str], Any] = {}

    def model_of(f: Path, config: str) -> Any:
        # built when something needs it (a trace, -v, a report): with --jobs the workers
        # checked the file, and a passing result prints without its model
        if (f, config) not in models:
            if f not in specs:
                specs[f] = load_spec(f)
            models[f, config] = build_model(specs[f], config, opts.defines)
        return models[f, config]

    cut: Cut | None = None
    # the distributed search's workers are Ray's: the files then go one at a time
    jobs = 1 if opts.runtime is not None else args.jobs or os.cpu_count() or 1
    try:
        for got in check_files(files, opts, jobs, progress):
            if isinstance(got, Cut):
                cut = got
                break
            f, item = got
            if tty and progress is not None:
                sys.stderr.write("\r\x1b[K")
            if isinstance(item, SpecError):
                errors.append(item)
                print(item.render(), file=sys.stderr)
                continue
            if isinstance(item, Note):
                print(f"note: {item.text}", file=sys.stderr, flush=True)
                continue
            if isinstance(item, Skipped):
                skipped.append(item)
                if not args.json and not args.quiet:
                    err.print(
                        f"[dim]{escape(item.spec)} \\[{escape(item.config)}]: skipped, {escape(item.reason)}[/dim]"
                    )
                continue
            results.append(item)
            if args.report is not None:
                checked.append((item, model_of(f, item.config)))
            kept = _kept(opts.checkpoint, item)
            if kept:
                print(f"note: {kept}", file=sys.stderr)
            if not args.json:
                print_result(con, item, partial(model_of, f, item.config), how)
            if item.stopped is not None and item.stopped.interrupted:
                break  # a signal ended the run: report what was reached, check nothing more
    except CheckpointError as e:
        print(f"plugcheck: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    if cut is not None:
        left = ", ".join(str(f) for f in cut.left)
        print(f"plugcheck: {cut.stop}: not checked: {left}", file=sys.stderr)
    code = exit_code(results, bool(errors), cut is not None)
    if args.report is not None:
        from .report import Checked, ReportData, write_report

        data = ReportData([Checked(r, m) for r, m in checked], skipped, errors, opts, code, [str(f) for f in files])
        try:
            write_report(Path(args.report), data)
        except OSError as e:
            print(f"plugcheck: error: cannot write the report to {args.report}: {e}", file=sys.stderr)
            return EXIT_ERROR
        if not args.json and not args.quiet:
            print(f"report written to {args.report.rstrip('/')}/", file=sys.stderr)
    if args.json:
        print(json.dumps(json_document(__version__, results, skipped, errors, code), indent=2))
    else:
        print_summary(con, results, len(errors), len(skipped), code, how)
    return code


def _checkpointing(args: argparse.Namespace) -> Checkpointing | None:
    folder = args.resume or args.checkpoint
    if folder is None:
        return None
    return Checkpointing(Path(folder), args.checkpoint_every or CHECKPOINT_EVERY, args.resume is not None)


def _kept(ck: Checkpointing | None, res: RunResult) -> str | None:
    """Where a stopped explicit search was kept, and how to go on (None: it was not)."""
    if ck is None or not res.stopped or res.engine != "explicit" or not ck.at(res.config).holds():
        return None
    return f"the search is kept in {ck.at(res.config).folder}: --resume {ck.folder} goes on from it"


def _checkpoint_problem(args: argparse.Namespace) -> str | None:
    """Flags that cannot go together with checkpoints (None: they can)."""
    if args.checkpoint is None and args.resume is None:
        return "--checkpoint-every needs --checkpoint DIR or --resume DIR" if args.checkpoint_every else None
    if args.checkpoint is not None and args.resume is not None and Path(args.checkpoint) != Path(args.resume):
        return "--resume DIR keeps writing checkpoints into DIR: give --checkpoint the same folder, or leave it out"
    if args.watch:
        return "--watch checks again and again: it takes no --checkpoint or --resume"
    if len(args.paths) != 1 or Path(args.paths[0]).is_dir():
        return "--checkpoint and --resume keep the search of one spec file: name exactly one"
    if args.workers is not None or args.cluster is not None:
        return "the distributed search (--workers, --cluster) keeps no checkpoints: checkpoint a one-process run"
    return None


def _memory_limit(args: argparse.Namespace) -> int | None:
    from .memory import default_limit

    return args.max_memory if args.max_memory is not None else default_limit()


def _graph_limit(args: argparse.Namespace) -> dict[str, int | None]:
    if args.max_graph_states:
        print("plugcheck: --max-graph-states is deprecated; use --max-graph-memory SIZE", file=sys.stderr)
    return {"max_graph_states": args.max_graph_states, "max_graph_bytes": args.max_graph_memory}


def exit_code(results: list[RunResult], had_errors: bool, cut: bool = False) -> int:
    """The most severe outcome: a wrong spec, a violation, an inconclusive run (a budget, a
    signal, files left unchecked), every property holding."""
    if had_errors:
        return EXIT_ERROR
    verdicts = [r.verdict for r in results]
    if "fail" in verdicts:
        return EXIT_VIOLATED
    if "inconclusive" in verdicts or cut:
        return EXIT_INCONCLUSIVE
    return EXIT_OK

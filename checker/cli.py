"""The `plugcheck` command. Only this module prints and exits."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from rich.markup import escape

from model import SpecError, build_model, load_spec

from . import __version__
from .check_files import Cut, check_files
from .cli_parser import CHECKPOINT_EVERY, parser, report_alone
from .results import RunResult, json_document
from .run import Note, Options, Skipped, resumed_options, spec_files
from .search import Budget, Progress
from .search.backends import KINDS as KERNELS
from .search.checkpoint import CheckpointError, Checkpointing
from .selection import Selection
from .stopping import forward_to_interrupt

EXIT_OK, EXIT_VIOLATED, EXIT_ERROR, EXIT_INCONCLUSIVE, EXIT_INTERNAL = 0, 1, 2, 3, 4
TRACEBACK_ENV = "PLUGCHECK_TRACEBACK"  # set to 1: an internal error prints its traceback


def main(argv: list[str] | None = None) -> int:
    from .render import ascii_fallback

    for stream in (sys.stdout, sys.stderr):
        ascii_fallback(stream)
    args = parser().parse_args(report_alone(list(sys.argv[1:] if argv is None else argv)))
    try:
        return _command(args)
    except KeyboardInterrupt:
        print("plugcheck: interrupted", file=sys.stderr)
        return EXIT_INCONCLUSIVE
    except BrokenPipeError:
        return EXIT_OK
    except MemoryError:
        print("plugcheck: inconclusive: out of memory (lower the budgets, e.g. --max-states)", file=sys.stderr)
        return EXIT_INCONCLUSIVE
    except Exception as exc:  # an internal error is not a verdict: its own exit code
        if "KeyboardInterrupt" in str(exc) and type(exc).__name__ == "ArgumentError":
            # Ctrl-C pressed twice inside a z3 call through ctypes, which wraps the interrupt
            print("plugcheck: interrupted", file=sys.stderr)
            return EXIT_INCONCLUSIVE
        return _internal_error(exc, getattr(args, "verbose", False))


def _internal_error(exc: Exception, verbose: bool) -> int:
    import traceback

    where = ""
    tb = traceback.extract_tb(exc.__traceback__)
    if tb:
        where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})"
    print(f"plugcheck: internal error: {type(exc).__name__}: {exc}{where}", file=sys.stderr)
    print(
        "This is a bug in plugcheck, not a verdict about the spec. Please report it to the plugcheck"
        " maintainers with the spec, the command line and the traceback"
        f" (rerun with -v or {TRACEBACK_ENV}=1 to print it).",
        file=sys.stderr,
    )
    if verbose or os.environ.get(TRACEBACK_ENV, "") not in ("", "0"):
        traceback.print_exception(exc, file=sys.stderr)
    return EXIT_INTERNAL


def _command(args: argparse.Namespace) -> int:
    if args.command == "parse" or (args.command == "check" and args.parse_only):
        return _parse(args)
    if args.command == "replay":
        return _replay(args)
    if args.command == "graph":
        return _graph(args)
    if args.command == "export":
        return _export(args)
    if args.command == "fmt":
        return _fmt(args)
    if args.command == "lsp":
        return _lsp()
    if args.command == "infer":
        return _infer(args)
    if args.command == "init":
        return _init(args)
    if args.command == "simulate":
        return _simulate(args)
    if args.watch:
        return _watch(args)
    return _check(args)


def _console(stderr: bool = False, width: int | None = None) -> Any:
    from .render import make_console

    return make_console(stderr=stderr, width=width)


def _paths(args: argparse.Namespace) -> list[str]:
    if args.paths:
        return list(args.paths)
    return ["specs"]


def _parse(args: argparse.Namespace) -> int:
    from .describe import describe

    con = _console()
    code = EXIT_OK
    try:
        files = spec_files(_paths(args))
    except SpecError as e:
        print(e.render(), file=sys.stderr)
        return EXIT_ERROR
    for f in files:
        try:
            spec = load_spec(f)
            for cfg in args.config or ["default"]:
                model = build_model(spec, cfg, dict(args.defines))
                con.print(describe(model))
        except SpecError as e:
            print(e.render(), file=sys.stderr)
            code = EXIT_ERROR
    return code


def _fmt(args: argparse.Namespace) -> int:
    from model.parse import read_spec_text

    from .format import format_source

    try:
        files = spec_files(args.paths)
    except SpecError as e:
        print(e.render(), file=sys.stderr)
        return EXIT_ERROR
    code = EXIT_OK
    changed = 0
    for f in files:
        try:
            text = read_spec_text(f)
            formatted = format_source(text, str(f))
        except SpecError as e:
            print(e.render(), file=sys.stderr)
            code = EXIT_ERROR
            continue
        if formatted == text:
            continue
        changed += 1
        if args.check:
            print(f"{f}: not formatted (run `plugcheck fmt {f}`)", file=sys.stderr)
            code = max(code, EXIT_VIOLATED)
        else:
            tmp = f.with_name(f".{f.name}.fmt")
            tmp.write_text(formatted, encoding="utf-8")
            os.replace(tmp, f)
            print(f"formatted {f}", file=sys.stderr)
    if args.check and code == EXIT_OK:
        print(f"{len(files)} spec files formatted", file=sys.stderr)
    return code


def _lsp() -> int:
    try:
        from .lsp.server import serve
    except ImportError as e:
        if e.name and e.name.split(".")[0] in ("pygls", "lsprotocol"):
            print(
                "plugcheck lsp needs pygls: pip install 'pygls>=2.1,<3' (or pip install -e '.[lsp]')",
                file=sys.stderr,
            )
            return EXIT_ERROR
        raise
    serve()
    return EXIT_OK


def _progress_printer(quiet: bool) -> Callable[[Progress], None] | None:
    if quiet:
        return None
    tty = sys.stderr.isatty()
    last = [float("-inf")]  # CI logs: the first report at once, then one line every 5 s

    def show(p: Progress) -> None:
        if p.note:  # a symbolic engine's step: a quiet start, then every step (one line each in logs)
            if tty:
                sys.stderr.write(f"\r  … {p.note}, {p.seconds:.0f} s\x1b[K")
                sys.stderr.flush()
            elif p.seconds >= 5:
                print(f"… {p.note}, {p.seconds:.0f} s", file=sys.stderr, flush=True)
            return
        rate = p.states / p.seconds if p.seconds else 0
        line = (
            f"  … {p.states:,} states, {rate:,.0f} states/s, depth {p.depth}, queue {p.frontier:,}, {p.seconds:.0f} s"
        )
        if tty:
            sys.stderr.write("\r" + line + "\x1b[K")
            sys.stderr.flush()
        elif p.seconds - last[0] >= 5:
            last[0] = p.seconds
            print(line.strip(), file=sys.stderr, flush=True)

    return show


def _check(args: argparse.Namespace) -> int:
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

    con = _console(width=args.width)
    err = _console(stderr=True, width=args.width)
    how = Verbosity(args.quiet, args.verbose)
    try:
        files = spec_files(_paths(args))
    except SpecError as e:
        print(e.render(), file=sys.stderr)
        return EXIT_ERROR
    if not files:
        print(f"plugcheck: error: no *.plug files in {' '.join(_paths(args))}", file=sys.stderr)
        return EXIT_ERROR
    results: list[RunResult] = []
    errors: list[SpecError] = []
    skipped: list[Skipped] = []
    progress = None if args.json else _progress_printer(args.quiet)
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


def _infer(args: argparse.Namespace) -> int:
    from .infer.houdini import infer
    from .infer.templates import DEFAULT_LIMIT

    try:
        spec = load_spec(args.file)
        limit = args.limit or DEFAULT_LIMIT
        got = infer(
            spec,
            args.config,
            args.small,
            dict(args.defines),
            limit,
            args.timeout,
            args.jobs or os.cpu_count() or 1,
            None if args.quiet else _progress_printer(False),
            not args.keep_all,
        )
    except SpecError as e:
        print(e.render(), file=sys.stderr)
        return EXIT_ERROR
    if sys.stderr.isatty() and not args.quiet:
        sys.stderr.write("\r\x1b[K")
    cut = f" (cut at the limit of {got.limit})" if got.generated > got.limit else ""
    print(f"# {got.generated} candidates from the templates{cut}")
    for st in got.steps:
        print(f"# {st.what}: {st.detail}, {st.seconds:.1f} s")
    for name, verdict in got.originals.items():
        print(f"# {name}: {verdict}")
    if got.stopped:
        print(f"# stopped: {got.stopped}")
    if got.kept:
        print(got.spec_text())
    return EXIT_OK if got.proved_all else EXIT_INCONCLUSIVE


def _simulate(args: argparse.Namespace) -> int:
    import secrets

    from .render_simulate import exit_code as sim_exit
    from .render_simulate import json_result, print_simulation
    from .simulate import SimOptions
    from .swarm import simulate

    seed = args.seed if args.seed is not None else secrets.randbelow(1 << 32)  # printed, so it can be reused
    opts = SimOptions(args.runs, args.depth, seed, args.workers, args.timeout, not args.no_deadlock, args.uniform)
    defines = dict(args.defines)
    forward_to_interrupt()  # SIGTERM / SIGHUP end the run like Ctrl-C: what was reached, exit 3
    try:
        model = build_model(load_spec(args.spec), args.config, defines)
        res = simulate(model, opts, None if args.json else _walk_progress())
    except SpecError as e:
        if args.json:
            print(json.dumps(json_document(__version__, [], [], [e], EXIT_ERROR), indent=2))
        print(e.render(), file=sys.stderr)
        return EXIT_ERROR
    if sys.stderr.isatty() and not args.json:
        sys.stderr.write("\r\x1b[K")
    code = sim_exit(res)
    if args.json:
        doc = {"plugcheck": __version__, "simulation": json_result(res), "errors": [], "exit_code": code}
        print(json.dumps(doc, indent=2))
    else:
        print_simulation(_console(width=args.width), res, model, defines, args.verbose)
    return code


def _walk_progress() -> Callable[[int, int, int], None]:
    """Progress of a simulation on stderr: a line that updates on a terminal, one every 5 s in logs."""
    tty = sys.stderr.isatty()
    t0 = time.perf_counter()
    last = [0.0]

    def show(runs: int, steps: int, batches: int) -> None:
        secs = time.perf_counter() - t0
        if secs < 1:  # a short run shows no progress at all
            return
        rate = steps / secs
        line = f"  … {runs:,} runs, {steps:,} steps, {rate:,.0f} steps/s, {secs:.0f} s"
        if tty:
            sys.stderr.write("\r" + line + "\x1b[K")
            sys.stderr.flush()
        elif secs - last[0] >= 5:
            last[0] = secs
            print(line.strip(), file=sys.stderr, flush=True)

    return show


def _watch(args: argparse.Namespace) -> int:
    """Check, then check again after every save, until Ctrl-C; the last check's exit code."""
    from .watch import wait_for_change, watched_files

    code = _check(args)
    while True:
        try:  # Ctrl-C while waiting (from the first message on) ends with the last verdict
            files = watched_files(_paths(args))
            n = f"{len(files)} file{'s' if len(files) != 1 else ''}"
            print(f"watching {n} for changes (Ctrl-C stops)", file=sys.stderr, flush=True)
            changed = wait_for_change(_paths(args), files)
        except KeyboardInterrupt:
            return code
        print(f"\n{', '.join(changed)} changed: checking again", file=sys.stderr, flush=True)
        code = _check(args)


def _init(args: argparse.Namespace) -> int:
    from .starter import StarterError, write_starter

    try:
        path = write_starter(args.name)
    except (StarterError, OSError) as e:
        print(f"plugcheck: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    print(f"wrote {path}; check it with: plugcheck check {path}")
    return EXIT_OK


def _graph(args: argparse.Namespace) -> int:
    from .picture import DEFAULT_PICTURE_STATES, PictureError, write_picture

    try:
        model = build_model(load_spec(args.file), args.config, dict(args.defines))
        project = [x.strip() for arg in args.project for x in arg.split(",") if x.strip()]
        limit = args.max_graph_states or DEFAULT_PICTURE_STATES
        pic = write_picture(model, Path(args.out), limit, project, args.trace, args.layout)
    except SpecError as e:
        print(e.render(), file=sys.stderr)
        return EXIT_ERROR
    except PictureError as e:
        print(f"plugcheck: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    shown = f"; counterexamples drawn in red: {', '.join(pic.highlighted)}" if pic.highlighted else ""
    bad = f"; {pic.bad_states} violating or deadlocked states filled" if pic.bad_states else ""
    print(f"wrote {args.out}: {pic.states:,} states drawn as {pic.nodes:,} boxes and {pic.edges:,} arrows{bad}{shown}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from .export import ExportError, to_promela

    try:
        model = build_model(load_spec(args.file), args.config, dict(args.defines))
        out = to_promela(model)
    except SpecError as e:
        print(e.render(), file=sys.stderr)
        return EXIT_ERROR
    except ExportError as e:
        print(f"{args.file}: error: cannot export to Promela: {e}", file=sys.stderr)
        return EXIT_ERROR
    for note in out.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.out is None:
        sys.stdout.write(out.text)
        return EXIT_OK
    try:
        Path(args.out).write_text(out.text, encoding="ascii")
    except OSError as e:
        print(f"plugcheck: error: cannot write {args.out}: {e}", file=sys.stderr)
        return EXIT_ERROR
    print(
        f"wrote {args.out}; run: spin -a -o2 {args.out} && gcc -O2 -DBFS -DSAFETY -DVECTORSZ={out.vectorsz}"
        " -o pan pan.c && ./pan -c0",
        file=sys.stderr,
    )
    return EXIT_OK


def _replay(args: argparse.Namespace) -> int:
    from .replay import replay, replay_constants
    from .report.itf import ITFError, from_itf

    try:
        doc = json.loads(Path(args.trace).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        print(f"plugcheck: error: cannot read the trace {args.trace}: {e}", file=sys.stderr)
        return EXIT_ERROR
    config, defines, from_meta = replay_constants(doc, args.config, dict(args.defines))
    try:
        model = build_model(load_spec(args.spec), config, defines)
        trace = from_itf(model, doc)
    except SpecError as e:
        if from_meta:
            e.with_note("the constants are the trace's (#meta); --config or -D override them")
        print(e.render(), file=sys.stderr)
        return EXIT_ERROR
    except ITFError as e:
        print(f"{args.trace}: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    out = replay(model, trace, compiled=args.compiled)
    print(f"replaying {args.trace} against {args.spec} [{config}]")
    for line in out.lines():
        print(line)
    return EXIT_OK if out.ok else EXIT_VIOLATED


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


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONHASHSEED", "0")
    t = time.perf_counter()
    sys.exit(main())

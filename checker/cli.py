"""The `plugcheck` command: dispatch, internal errors, and every subcommand but `check`
(cli_check.py). Only the cli modules print and exit."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from model import SpecError, build_model, load_spec

from . import __version__
from .cli_check import check as _check  # one name the dispatch (and a test's stand-in) goes through
from .cli_common import (
    EXIT_ERROR,
    EXIT_INCONCLUSIVE,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_VIOLATED,
    console,
    paths,
    progress_printer,
)
from .cli_parser import parser, report_alone
from .results import json_document
from .run import spec_files
from .stopping import forward_to_interrupt

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


def _parse(args: argparse.Namespace) -> int:
    from .describe import describe

    con = console()
    code = EXIT_OK
    try:
        files = spec_files(paths(args))
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
    from model.spec_files import read_spec_text

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


def _infer(args: argparse.Namespace) -> int:
    from .infer.houdini import infer
    from .infer.templates import DEFAULT_LIMIT

    forward_to_interrupt()  # SIGTERM / SIGHUP end it like Ctrl-C: the steps reached, exit 3
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
            None if args.quiet else progress_printer(False),
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
        print_simulation(console(width=args.width), res, model, defines, args.verbose)
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
            files = watched_files(paths(args))
            n = f"{len(files)} file{'s' if len(files) != 1 else ''}"
            print(f"watching {n} for changes (Ctrl-C stops)", file=sys.stderr, flush=True)
            changed = wait_for_change(paths(args), files)
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


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONHASHSEED", "0")
    t = time.perf_counter()
    sys.exit(main())

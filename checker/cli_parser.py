"""The command line's grammar for `plugcheck`: every subcommand and option, the value types
(sizes, seconds, NAME=VALUE), the exit codes in `--help`, and "did you mean" for a mistyped
option (argparse suggests only from Python 3.14). `cli` runs what it parses."""

from __future__ import annotations

import argparse
import difflib
import math
import re
from typing import NoReturn

from . import __version__
from .run import ENGINES
from .search.backends import KINDS as KERNELS
from .selection import KINDS, SelectionError, parse_kinds
from .simulate import DEFAULT_DEPTH, DEFAULT_RUNS

REPORT_DIR = "reports"
CHECKPOINT_EVERY = 60.0  # seconds between two checkpoints

EXIT_HELP = """exit codes:
  0  every property holds (and every `expect violated` is violated)
  1  a property is violated (or an expected violation was not found)
  2  the spec or the command line is wrong
  3  inconclusive: a budget ran out, or the run was interrupted
  4  internal error: a bug in plugcheck, not a verdict about the spec
with several results the most severe wins, in the order 2, 1, 3, 0"""

SIMULATE_EXIT_HELP = """exit codes:
  0  no violation found within the budget (simulation proves nothing)
  1  a violation found: its trace and the seed that reproduces it are printed
  2  the spec or the command line is wrong
  3  inconclusive: the time budget ran out, the run was interrupted, or a worker died
  4  internal error: a bug in plugcheck, not a verdict about the spec"""


class HelpfulParser(argparse.ArgumentParser):
    """argparse with "did you mean" for a mistyped option (argparse has it only from 3.14)."""

    def error(self, message: str) -> NoReturn:
        m = re.search(r"unrecognized arguments: (.*)", message)
        if m:
            for tok in m.group(1).split():
                if tok.startswith("-"):
                    close = difflib.get_close_matches(tok.split("=")[0], _options(self), n=1, cutoff=0.6)
                    if close:
                        message += f" (did you mean {close[0]}?)"
                        break
        super().error(message)


def _options(ap: argparse.ArgumentParser) -> list[str]:
    """Every option string of a parser and its subcommands."""
    out: list[str] = []
    for a in ap._actions:
        out += [o for o in a.option_strings if o.startswith("--")]
        if isinstance(a, argparse._SubParsersAction):
            for sp in a.choices.values():
                out += _options(sp)
    return out


def _define(text: str) -> tuple[str, int]:
    name, sep, value = text.partition("=")
    try:
        if not sep or not name.strip():
            raise ValueError
        return name.strip(), int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=INTEGER, got {text!r}") from None


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {v}")
    return v


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a seed of 0 or more, got {v}")
    return v


def _kinds(text: str) -> frozenset[str]:
    try:
        return parse_kinds(text)
    except SelectionError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds above 0, got {text!r}")
    return v


_UNITS = {
    "": 1,
    "B": 1,
    "K": 2**10,
    "KB": 2**10,
    "M": 2**20,
    "MB": 2**20,
    "G": 2**30,
    "GB": 2**30,
    "T": 2**40,
    "TB": 2**40,
}


def _bytes(text: str) -> int:
    """A memory size: 6G, 500M, 1.5GB or plain bytes (binary units)."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    unit = m.group(2).upper() if m else ""
    if m is None or unit not in _UNITS:
        raise argparse.ArgumentTypeError(f"expected a size such as 6G or 500M, got {text!r}")
    v = int(float(m.group(1)) * _UNITS[unit])
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a size above 0, got {text!r}")
    return v


def parser() -> argparse.ArgumentParser:
    ap = HelpfulParser(
        prog="plugcheck",
        description="A model checker for the virtio-mem protocol.",
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--version", action="version", version=f"plugcheck {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    c = sub.add_parser(
        "check",
        help="check specs (default: every spec under specs/)",
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("paths", nargs="*", help="spec files or folders (default: specs/)")
    c.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="NAME",
        help="check only this config (repeatable; `default` is the file's own constants)",
    )
    c.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        type=_define,
        metavar="NAME=VALUE",
        help="override a constant; checks exactly one configuration",
    )
    c.add_argument(
        "--engine", choices=ENGINES, default=None, help="engine to use (default: the engines each config is meant for)"
    )
    c.add_argument(
        "--kernel",
        choices=KERNELS,
        default=None,
        help="explicit engine's successor backend: C kernels built with gcc (native), numpy kernels over "
        "whole chunks (frontier), compiled Python one state at a time (single), the reference semantics "
        "(reference), or auto: frontier where the model fits it, native once a search passes 131,072 "
        "states and gcc has built them (default: auto, or the environment variable PLUGCHECK_KERNEL)",
    )
    c.add_argument(
        "--max-states",
        type=_positive,
        default=None,
        metavar="N",
        help="stop after N states: an inconclusive verdict with what was reached (exit 3)",
    )
    c.add_argument(
        "--max-depth",
        type=_positive,
        default=None,
        metavar="N",
        help="explore at most N steps from the initial states: inconclusive beyond (exit 3)",
    )
    c.add_argument(
        "--depth",
        type=_positive,
        default=None,
        metavar="K",
        help="symbolic engines: BMC / k-induction bound (default 10; 4 in the default symbolic pipeline)",
    )
    c.add_argument(
        "--timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="stop each configuration after SECONDS: inconclusive with what was reached (exit 3)",
    )
    c.add_argument(
        "--max-memory",
        type=_bytes,
        default=None,
        metavar="SIZE",
        help="stop the search (inconclusive, exit 3, with what was reached) when plugcheck holds more memory, "
        "e.g. 8G (default: 90%% of what the process can get: free memory, rlimits, cgroup limit)",
    )
    c.add_argument(
        "--max-graph-memory",
        type=_bytes,
        default=None,
        metavar="SIZE",
        help="liveness: refuse (inconclusive, exit 3) a state graph that would need more memory, e.g. 6G "
        "(default: 80%% of the memory available)",
    )
    c.add_argument(
        "--property",
        dest="properties",
        action="append",
        default=[],
        metavar="NAME",
        help="decide only this property (repeatable; shell-style globs such as 'aux_*')",
    )
    c.add_argument(
        "--kind",
        type=_kinds,
        default=None,
        metavar="KINDS",
        help="decide only these kinds: " + ",".join(KINDS) + " (default: every kind the engine decides)",
    )
    c.add_argument(
        "--jobs",
        type=_positive,
        default=None,
        metavar="N",
        help="N processes: several spec files are checked N at a time (same output, same order); one"
        " spec's induction proves its action groups in N processes (default: the machine's cores;"
        " 1: everything in this process)",
    )
    c.add_argument(
        "--workers",
        type=_positive,
        default=None,
        metavar="N",
        help="explicit engine: partition the search across N workers of a local Ray runtime (needs ray)",
    )
    c.add_argument(
        "--cluster",
        default=None,
        metavar="ADDRESS",
        help="explicit engine: run the partitioned search on the Ray cluster at HOST:PORT "
        "(with --workers N: N workers; default: one per CPU of the cluster)",
    )
    c.add_argument(
        "--max-graph-states",
        type=_positive,
        default=None,
        metavar="N",
        help="deprecated, use --max-graph-memory: liveness only up to N states, else inconclusive",
    )
    c.add_argument("--no-deadlock", action="store_true", help="do not report deadlocks")
    c.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    c.add_argument("--parse-only", action="store_true", help="only parse and type-check; describe the model")
    c.add_argument("-q", "--quiet", action="store_true", help="only the failing properties and the summary")
    c.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="every property's verdict, action coverage, the whole initial state, every trace",
    )
    c.add_argument(
        "--width",
        type=_positive,
        default=None,
        metavar="N",
        help="print N columns wide (default: the terminal, 120 in logs)",
    )
    c.add_argument(
        "--report",
        nargs="?",
        const=REPORT_DIR,
        default=None,
        metavar="DIR",
        help="also write summary.json, junit.xml, results.sarif, ITF traces, report.md/.html: "
        "`--report` to reports/, `--report=DIR` to DIR (a separate word after --report is a spec path)",
    )

    c.add_argument(
        "--watch", action="store_true", help="check again whenever a spec file (or a file it extends) is saved"
    )
    c.add_argument(
        "--checkpoint",
        default=None,
        metavar="DIR",
        help="explicit engine: keep the search in DIR (a subfolder per config), written every --checkpoint-every "
        "seconds and when the run stops, so that --resume DIR can go on from it",
    )
    c.add_argument(
        "--checkpoint-every",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help=f"seconds between two checkpoints (default {CHECKPOINT_EVERY:g})",
    )
    c.add_argument(
        "--resume",
        default=None,
        metavar="DIR",
        help="go on from the checkpoints in DIR to the result an uninterrupted run gives (the run's --config, -D, "
        "--engine, --property and --kind unless given); checkpoints keep being written there",
    )

    m = sub.add_parser(
        "simulate",
        help="random walks that check invariants, range and deadlock (finds bugs fast; proves nothing)",
        epilog=SIMULATE_EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    m.add_argument("spec", help="the spec file")
    m.add_argument("--config", default="default", metavar="NAME", help="the config to walk (default: the file's own)")
    m.add_argument("-D", dest="defines", action="append", default=[], type=_define, metavar="NAME=VALUE")
    m.add_argument(
        "--runs", type=_positive, default=DEFAULT_RUNS, metavar="N", help=f"walks to run (default {DEFAULT_RUNS:,})"
    )
    m.add_argument(
        "--depth", type=_positive, default=DEFAULT_DEPTH, metavar="D", help=f"steps per walk (default {DEFAULT_DEPTH})"
    )
    m.add_argument(
        "--seed", type=_seed, default=None, metavar="S", help="the random seed (default: a new one, printed)"
    )
    m.add_argument(
        "--workers",
        type=_positive,
        default=1,
        metavar="N",
        help="run the walks in N processes; the result is the same for every N (default 1: this process)",
    )
    m.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS", help="stop after SECONDS (exit 3)")
    m.add_argument(
        "--uniform",
        action="store_true",
        help="every successor equally likely (default: each walk favours a random subset of the actions)",
    )
    m.add_argument("--no-deadlock", action="store_true", help="do not report deadlocks")
    m.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    m.add_argument("--width", type=_positive, default=None, metavar="N", help="print N columns wide")
    m.add_argument("-v", "--verbose", action="store_true", help="the whole initial state in the trace")

    i = sub.add_parser("init", help="write a small commented starter spec NAME.plug that passes")
    i.add_argument("name", help="the spec's name (a path is fine): writes NAME.plug")

    p = sub.add_parser("parse", help="parse and type-check a spec and describe the typed model")
    p.add_argument("paths", nargs="+")
    p.add_argument("--config", action="append", default=[], metavar="NAME")
    p.add_argument("-D", dest="defines", action="append", default=[], type=_define, metavar="NAME=VALUE")

    r = sub.add_parser("replay", help="re-execute an ITF trace against a spec step by step")
    r.add_argument("trace", help="a trace in the Informal Trace Format (*.itf.json)")
    r.add_argument("spec", help="the spec file")
    r.add_argument("--config", default=None, metavar="NAME", help="default: the config the trace names, else `default`")
    r.add_argument("-D", dest="defines", action="append", default=[], type=_define, metavar="NAME=VALUE")
    r.add_argument("--compiled", action="store_true", help="decide steps with the compiled successor function")

    i = sub.add_parser("infer", help="find auxiliary invariants that make the spec's invariants inductive")
    i.add_argument("file", help="the spec file")
    i.add_argument("--config", default=None, metavar="NAME", help="the config to prove at (default: the file's own)")
    i.add_argument(
        "--small", default=None, metavar="NAME", help="the config explicit search filters at (default: the file's own)"
    )
    i.add_argument("-D", dest="defines", action="append", default=[], type=_define, metavar="NAME=VALUE")
    i.add_argument("--limit", type=_positive, default=None, metavar="N", help="at most N candidates (default 10000)")
    i.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS")
    i.add_argument("--jobs", type=_positive, default=None, metavar="N", help="induction processes (default: the cores)")
    i.add_argument(
        "--keep-all",
        action="store_true",
        help="print every candidate in the inductive subset (no search for the fewest that still prove the invariants)",
    )
    i.add_argument("-q", "--quiet", action="store_true", help="no progress")

    g = sub.add_parser(
        "graph", help="draw the state graph: projected onto some values, a counterexample, or a small model whole"
    )
    g.add_argument("file", help="the spec file")
    g.add_argument("--config", default=None, metavar="NAME")
    g.add_argument("-D", dest="defines", action="append", default=[], type=_define, metavar="NAME=VALUE")
    g.add_argument("--out", required=True, metavar="FILE.dot|FILE.svg")
    g.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="EXPR",
        help="one node per value of these variables or elements seen (e.g. 'mb[0]' or 'mb[0], sb[0]'); any size",
    )
    g.add_argument(
        "--trace", default=None, metavar="PROPERTY", help="the counterexample to PROPERTY and its neighbours"
    )
    g.add_argument(
        "--layout",
        choices=("auto", "builtin", "dot"),
        default="auto",
        help="SVG layout: builtin, graphviz's dot, or auto (dot when installed, else builtin)",
    )
    g.add_argument(
        "--max-graph-states",
        type=_positive,
        default=None,
        metavar="N",
        help="whole graphs only: refuse above N states (default 1,000)",
    )
    x = sub.add_parser("export", help="write a spec's model for another checker (SPIN's Promela)")
    x.add_argument("file", help="the spec file")
    x.add_argument("--config", default=None, metavar="NAME")
    x.add_argument("-D", dest="defines", action="append", default=[], type=_define, metavar="NAME=VALUE")
    x.add_argument("--to", required=True, choices=("promela",), help="the output language")
    x.add_argument("--out", default=None, metavar="FILE", help="default: stdout")
    f = sub.add_parser("fmt", help="rewrite specs in the canonical layout (comments kept)")
    f.add_argument("paths", nargs="+", help="spec files or folders")
    f.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is not formatted")

    sub.add_parser("lsp", help="run the language server on stdin/stdout (for editors)")
    return ap


def report_alone(argv: list[str]) -> list[str]:
    """`--report` written alone means reports/: the next word stays a spec path, so
    `plugcheck check --report my/` checks my/ (a folder for the report is `--report=DIR`)."""
    if "--" in argv:
        k = argv.index("--")
        return report_alone(argv[:k]) + argv[k:]
    return [f"--report={REPORT_DIR}" if a == "--report" else a for a in argv]

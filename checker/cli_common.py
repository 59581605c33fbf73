"""What every `plugcheck` command shares: exit codes, the consoles, the default paths, the
progress line on stderr."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from .search import Progress

EXIT_OK, EXIT_VIOLATED, EXIT_ERROR, EXIT_INCONCLUSIVE, EXIT_INTERNAL = 0, 1, 2, 3, 4


def console(stderr: bool = False, width: int | None = None) -> Any:
    from .render import make_console

    return make_console(stderr=stderr, width=width)


def paths(args: argparse.Namespace) -> list[str]:
    if args.paths:
        return list(args.paths)
    return ["specs"]


def progress_printer(quiet: bool) -> Callable[[Progress], None] | None:
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

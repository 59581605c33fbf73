"""The argument parser's extras for `plugcheck`: the exit codes in `--help`, and "did you
mean" for a mistyped option (argparse suggests only from Python 3.14)."""

from __future__ import annotations

import argparse
import difflib
import re
from typing import NoReturn

EXIT_HELP = """exit codes:
  0  every property holds (and every `expect violated` is violated)
  1  a property is violated (or an expected violation was not found)
  2  the spec or the command line is wrong
  3  inconclusive: a budget ran out, or the run was interrupted
  4  internal error: a bug in plugcheck, not a verdict about the spec
with several results the most severe wins, in the order 2, 1, 3, 0"""


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

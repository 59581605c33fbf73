"""Compiled generated code kept between runs, as Python keeps a module's bytecode.

`compile()` is the largest single cost of checking a small spec: the generated successor
functions and numpy kernels of one configuration are up to 130 kB of source, about 25 ms to
compile, and a check of `specs/` compiles some fifty such units. The code object depends on
nothing but the source text and the interpreter, so it is kept, marshalled, under the
SHA-256 of the source in `~/.cache/plugcheck/code` (`model.disk_cache`: a private folder,
bounded). A file that does not load (another Python, a truncated write) is compiled again
and replaced."""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import sys
from types import CodeType

from model import disk_cache

KIND = "code"
_STAMP = importlib.util.MAGIC_NUMBER + bytes([sys.flags.optimize])  # what a code object depends on


def _named(code: CodeType, filename: str) -> CodeType:
    """The code object with `filename` as its file name and its nested functions' (a unit's
    name carries a counter of this run, which tracebacks and profilers show)."""
    consts = tuple(_named(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def compiled(source: str, filename: str) -> CodeType:
    """`compile(source, filename, "exec")`, from the cache when this source was compiled before."""
    key = hashlib.sha256(_STAMP + source.encode("utf-8", "surrogatepass")).hexdigest()
    data = disk_cache.load(KIND, key, _STAMP)
    if data is not None:
        try:
            code = marshal.loads(data)
            if isinstance(code, CodeType):
                return _named(code, filename)
        except (ValueError, EOFError, TypeError):
            pass  # not readable as code: compiled again
    code = compile(source, filename, "exec")
    try:
        disk_cache.store(KIND, key, _STAMP, marshal.dumps(code))
    except ValueError:
        pass  # marshal refuses it: the run goes on without keeping it
    return code

"""Compiled generated code kept between runs, as Python keeps a module's bytecode.

`compile()` is the largest single cost of checking a small spec: the generated successor
functions and numpy kernels of one configuration are up to 130 kB of source, about 25 ms to
compile, and a check of `specs/` compiles some fifty such units. The code object depends on
nothing but the source text and the interpreter, so it is kept, marshalled, under the
SHA-256 of the source in the private cache folder the parser tables use
(`~/.cache/plugcheck/code`, `model.grammar_cache.private_folder`: only this user can write
there). A file that does
not load (another Python, a truncated write) is compiled again and replaced; where no private
folder exists nothing is kept. Past MAX_FILES files or MAX_BYTES, the least recently written
are removed until half of either is left (looked at on one store in 16, chosen by key: the
folder is not listed on every miss)."""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
import sys
import tempfile
from pathlib import Path
from types import CodeType

from model.grammar_cache import private_folder

MAX_FILES = 1024
MAX_BYTES = 256 << 20
_STAMP = importlib.util.MAGIC_NUMBER + bytes([sys.flags.optimize])  # what a code object depends on
_folder: list[Path | None] = []  # resolved on first use; [None]: no private folder


def _cache_folder() -> Path | None:
    if not _folder:
        _folder.append(private_folder("code"))
    return _folder[0]


def _named(code: CodeType, filename: str) -> CodeType:
    """The code object with `filename` as its file name and its nested functions' (a unit's
    name carries a counter of this run, which tracebacks and profilers show)."""
    consts = tuple(_named(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def compiled(source: str, filename: str) -> CodeType:
    """`compile(source, filename, "exec")`, from the cache when this source was compiled before."""
    folder = _cache_folder()
    if folder is None:
        return compile(source, filename, "exec")
    key = hashlib.sha256(_STAMP + source.encode("utf-8", "surrogatepass")).hexdigest()
    path = folder / f"{key}.code"
    try:
        data = path.read_bytes()
        if data[: len(_STAMP)] == _STAMP:
            code = marshal.loads(data[len(_STAMP) :])
            if isinstance(code, CodeType):
                return _named(code, filename)
    except (OSError, ValueError, EOFError, TypeError):
        pass  # not there, or not readable as code: compiled again
    code = compile(source, filename, "exec")
    _store(folder, path, code, prune=key[0] == "0")
    return code


def _store(folder: Path, path: Path, code: CodeType, prune: bool) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(_STAMP + marshal.dumps(code))
            os.replace(tmp, path)  # readers see the old file or the whole new one
        except BaseException:
            os.unlink(tmp)
            raise
        if prune:
            _prune(folder)
    except (OSError, ValueError):
        pass  # a full or read-only disk (or code marshal refuses): the run goes on without keeping it


def _prune(folder: Path) -> None:
    files = []
    for e in os.scandir(folder):
        if e.name.endswith(".code"):
            st = e.stat(follow_symlinks=False)
            files.append((st.st_mtime, st.st_size, e.path))
    count, size = len(files), sum(f[1] for f in files)
    if count <= MAX_FILES and size <= MAX_BYTES:
        return
    files.sort()
    for _, n, path in files:
        if count <= MAX_FILES // 2 and size <= MAX_BYTES // 2:
            break
        try:
            os.unlink(path)
        except OSError:
            continue
        count, size = count - 1, size - n

"""Spec files: read as regular UTF-8 files only, and parsed once. A file's AST is kept
between runs (`disk_cache`, kind "ast") under the SHA-256 of its path and text, with a stamp
of the sources that make an AST: unpickling it is some 20 times faster than lark. Editor
buffers and fragments go through `parse.parse_text` and are not kept; a file with a syntax
error is parsed (and its error raised) every time."""

from __future__ import annotations

import errno
import hashlib
import os
import pickle
import stat
import sys
from functools import lru_cache
from pathlib import Path

from . import disk_cache
from . import syntax as S
from .errors import Span, SpecError
from .parse import GRAMMAR, parse_text

AST_KIND = "ast"
# the modules an AST is made by or made of: a change to any of them makes every kept AST stale
_AST_SOURCES = ("grammar.lark", "parse.py", "syntax.py", "errors.py", "domains.py")


def parse_file(path: str | Path) -> S.SpecFile:
    """Parse a spec file (its AST is kept between runs)."""
    return _parsed(read_spec_text(path), str(path))


@lru_cache(maxsize=64)
def _parsed(source: str, path: str) -> S.SpecFile:
    key = hashlib.sha256(b"%d\0%s\0%s" % (len(path), _encoded(path), _encoded(source))).hexdigest()
    stamp = _ast_stamp()
    data = disk_cache.load(AST_KIND, key, stamp) if stamp else None
    if data is not None:
        try:
            spec = pickle.loads(data)
            if isinstance(spec, S.SpecFile) and spec.path == path and spec.source == source:
                return spec
        except Exception:  # noqa: BLE001 - a damaged file (any unpickling error) is parsed again
            pass
    spec = parse_text(source, path)
    if stamp:
        disk_cache.store(AST_KIND, key, stamp, pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL))
    return spec


@lru_cache(maxsize=1)
def _ast_stamp() -> bytes:
    """What a kept AST depends on besides its file's path and text; empty (nothing is kept)
    where those sources cannot be read."""
    h = hashlib.sha256(b"%d.%d" % sys.version_info[:2])
    try:
        for name in _AST_SOURCES:
            h.update(GRAMMAR.with_name(name).read_bytes())
    except OSError:
        return b""
    return h.digest()


def _encoded(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def read_spec_text(path: str | Path) -> str:
    """The text of a spec file, or SpecError if it is not a readable regular UTF-8 file."""
    p = Path(path)
    try:
        data = _read_regular(p)
    except OSError as exc:
        raise SpecError(f"cannot read the spec: {exc.strerror or exc}", Span(str(p), 0, 0)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError("the spec is not UTF-8 text (is it a binary file?)", Span(str(p), line, col)) from None
    return text


def _read_regular(p: Path) -> bytes:
    """The bytes of a regular file. Opened without blocking and checked before reading: a
    FIFO or a device named `*.plug` would otherwise block the run or never end."""
    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    finally:
        os.close(fd)

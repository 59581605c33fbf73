"""Files kept between runs under a content key, in the private cache folder.

Two things are worth keeping from one run to the next: the AST of a spec file (lark's parse
is a fifth of checking a small spec) and compiled generated code (`checker.code_cache`).
Each kind has its own subfolder of `~/.cache/plugcheck` (files `KEY.KIND`) (`grammar_cache.private_folder`:
only this user can write there, so loading what is found there runs nothing a stranger
wrote). A file holds a stamp (what its contents depend on beyond the key: the interpreter,
the code that made it) and the payload; a file with another stamp, or none, reads as a
miss. Writes are atomic (a reader sees the old file or the whole new one). Past MAX_FILES
files or MAX_BYTES in a subfolder, the least recently written are removed until half of
either is left (looked at on one store in 16, chosen by key: the folder is not listed on
every miss). Where no private folder exists nothing is kept and every load misses."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .grammar_cache import private_folder

MAX_FILES = 1024
MAX_BYTES = 256 << 20
_folders: dict[str, Path | None] = {}  # resolved on first use; None: no private folder


def folder(kind: str) -> Path | None:
    if kind not in _folders:
        _folders[kind] = private_folder(kind)
    return _folders[kind]


def load(kind: str, key: str, stamp: bytes) -> bytes | None:
    """The payload kept under `key` with this stamp, or None."""
    where = folder(kind)
    if where is None:
        return None
    try:
        data = (where / f"{key}.{kind}").read_bytes()
    except OSError:
        return None
    return data[len(stamp) :] if data[: len(stamp)] == stamp else None


def store(kind: str, key: str, stamp: bytes, payload: bytes) -> None:
    """Keep `payload` under `key`; a full or read-only disk only means it is not kept."""
    where = folder(kind)
    if where is None:
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(stamp + payload)
            os.replace(tmp, where / f"{key}.{kind}")
        except BaseException:
            os.unlink(tmp)
            raise
        if key[:1] == "0":
            prune(where, kind)
    except OSError:
        pass


def prune(where: Path, kind: str) -> None:
    files = []
    for e in os.scandir(where):
        if e.name.endswith(f".{kind}"):
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

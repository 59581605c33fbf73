"""Where lark may keep the parser's tables between runs.

lark's cache is a pickle, and loading a pickle runs whatever its writer put in it: with
`cache=True` lark keeps it at a predictable name in the shared temp folder, where anyone who
can write there could plant one. The cache lives instead in a folder only this user can
write, and is used only after the folder, its parent and the file check out; anywhere else
the parser is built from the grammar (about 0.3 s) and nothing is cached."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import lark

_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


def _private(st: os.stat_result, kind: int) -> bool:
    """Of the expected kind, owned by this user (or root) and writable by nobody else."""
    return stat.S_IFMT(st.st_mode) == kind and st.st_uid in (os.getuid(), 0) and not st.st_mode & _OTHERS_WRITE


def cache_file(home: Path | None = None) -> str | bool:
    """The file name to hand to lark's `cache=`, or False where no private place exists."""
    if not hasattr(os, "getuid"):
        return False
    try:
        base = (home or Path.home()) / ".cache"
        folder = base / "plugcheck"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not (_private(os.lstat(base), stat.S_IFDIR) and _private(os.lstat(folder), stat.S_IFDIR)):
            return False
        if os.lstat(folder).st_uid != os.getuid():
            return False
        name = folder / f"parser-lark{lark.__version__}-py{sys.version_info[0]}{sys.version_info[1]}.pickle"
        if name.exists() or name.is_symlink():
            st = os.lstat(name)
            if not _private(st, stat.S_IFREG) or st.st_uid != os.getuid():
                return False
        return str(name)
    except (OSError, RuntimeError):  # no home folder, a read-only one, ...
        return False

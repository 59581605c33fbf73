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


def private_folder(sub: str = "", home: Path | None = None) -> Path | None:
    """`~/.cache/plugcheck` (or its subfolder `sub`), created if need be, or None where it
    is not private to this user (another user's, or writable by others) or cannot exist."""
    if not hasattr(os, "getuid"):
        return None
    try:
        base = (home or Path.home()) / ".cache"
        folder = base / "plugcheck"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        chain = [base, folder]
        if sub:
            chain.append(folder / sub)
            (folder / sub).mkdir(mode=0o700, exist_ok=True)
        if not all(_private(os.lstat(p), stat.S_IFDIR) for p in chain):
            return None
        if any(os.lstat(p).st_uid != os.getuid() for p in chain[1:]):
            return None
        return chain[-1]
    except (OSError, RuntimeError):  # no home folder, a read-only one, ...
        return None


def cache_file(home: Path | None = None) -> str | bool:
    """The file name to hand to lark's `cache=`, or False where no private place exists."""
    folder = private_folder(home=home)
    if folder is None:
        return False
    try:
        name = folder / f"parser-lark{lark.__version__}-py{sys.version_info[0]}{sys.version_info[1]}.pickle"
        if name.exists() or name.is_symlink():
            st = os.lstat(name)
            if not _private(st, stat.S_IFREG) or st.st_uid != os.getuid():
                return False
        return str(name)
    except (OSError, RuntimeError):  # no home folder, a read-only one, ...
        return False

"""`plugcheck check --watch`: which files a check read (the spec files and the files they
extend) and a poll of their modification times, so a save starts the next check. Polling
(no inotify) works on every file system, and a spec chain is a handful of files."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from model import SpecError, load_spec

from .run import spec_files

POLL_SECONDS = 0.3
Snapshot = dict[str, tuple[int, int] | None]


def watched_files(paths: list[str]) -> list[str]:
    """The spec files under `paths` and every file their `extends` chains read."""
    try:
        files = [str(f) for f in spec_files(paths)]
    except SpecError:
        return []
    out = dict.fromkeys(files)
    for f in files:
        try:
            out.update(dict.fromkeys(load_spec(f).sources))
        except SpecError:
            pass  # a spec that does not load: the file itself is watched, so fixing it re-checks
    return list(out)


def snapshot(files: list[str]) -> Snapshot:
    out: Snapshot = {}
    for f in files:
        try:
            st = Path(f).stat()
            out[f] = (st.st_mtime_ns, st.st_size)
        except OSError:
            out[f] = None
    return out


def wait_for_change(paths: list[str], files: list[str], sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Block until a watched file changes, appears or goes, or a folder gets a new spec;
    return the files that changed."""
    before = snapshot(files)
    listed = _listed(paths)
    while True:
        sleep(POLL_SECONDS)
        now = snapshot(files)
        changed = [f for f in files if now[f] != before[f]]
        added = [f for f in _listed(paths) if f not in listed]
        if changed or added:
            return changed + added


def _listed(paths: list[str]) -> list[str]:
    try:
        return [str(f) for f in spec_files(paths)]
    except SpecError:
        return []

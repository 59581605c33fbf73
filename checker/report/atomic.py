"""Atomic writes: a file is written to a temporary name and renamed; a report folder is
built beside its destination and swapped in at the end, so a reader (or an interrupted
run) sees either the previous report or the complete new one."""

from __future__ import annotations

import ctypes
import fnmatch
import glob
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..stopping import signals_held

_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


def write_text(path: Path, text: str) -> None:
    """Write a file so that it is either absent, the old one, or complete."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes it private; a report is for everyone who may read it
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one system call (Linux renameat2); False where that is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(rc == 0)


def kept_files(dest: Path, keep: tuple[str, ...]) -> list[Path]:
    """The files directly in `dest` whose names match one of the `keep` patterns."""
    if not dest.is_dir():
        return []
    return sorted(p for p in dest.iterdir() if p.is_file() and any(fnmatch.fnmatch(p.name, k) for k in keep))


@contextmanager
def staged_folder(dest: Path, marker: str = "", keep: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yield an empty folder beside `dest`; when the block ends normally it replaces `dest`
    in one step. On an exception (or Ctrl-C) the staged folder is removed and `dest` is
    left as it was. With `marker`, an existing non-empty `dest` must contain that file or
    hold only files matching `keep`; files matching `keep` (a README, a schema) are copied
    into the staged folder first, so they survive the swap unchanged."""
    dest = dest.absolute()
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and not dest.is_dir():
        raise NotADirectoryError(f"{dest} exists and is not a folder")
    kept = kept_files(dest, keep)
    if dest.is_dir() and marker and not (dest / marker).exists():
        # never swap away a folder some other tool (or a typo: `--report=specs`) owns
        other = sorted(p.name for p in dest.iterdir() if p not in kept)
        if other:
            shown = ", ".join(other[:3]) + (", ..." if len(other) > 3 else "")
            raise FileExistsError(
                f"{dest} holds files that are not a plugcheck report ({shown}) and no {marker}:"
                " not replacing it; name an empty or new folder"
            )
    clean_stale(dest)
    stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.new-{os.getpid()}-", dir=dest.parent))
    try:
        stage.chmod(0o777 & ~_umask())
        for p in kept:
            shutil.copy2(p, stage / p.name)
        yield stage
        with signals_held():
            if not dest.exists():
                os.rename(stage, dest)
            elif _exchange(stage, dest):
                pass  # stage now holds the previous report
            else:
                old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-{os.getpid()}-", dir=dest.parent))
                os.rename(dest, old / "r")
                os.rename(stage, dest)
                shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


LEGACY_STALE_SECONDS = 3600  # staging folders named without a process id: older ones are stale


def clean_stale(dest: Path) -> list[Path]:
    """Remove the staging folders of earlier runs on `dest` that were killed while writing
    (SIGKILL leaves no chance to clean up). A folder names the process that made it; it is
    stale when that process is gone. Returns what was removed."""
    gone = []
    for p in dest.parent.glob(f".{glob.escape(dest.name)}.[no][el][wd]-*"):
        m = re.fullmatch(rf"\.{re.escape(dest.name)}\.(?:new|old)-(?:(\d+)-)?[^/]*", p.name)
        if m is None or not p.is_dir() or p.is_symlink():
            continue
        if m.group(1) is not None:
            stale = not _alive(int(m.group(1)))
        else:
            try:
                stale = time.time() - p.stat().st_mtime > LEGACY_STALE_SECONDS
            except OSError:
                continue
        if stale:
            shutil.rmtree(p, ignore_errors=True)
            gone.append(p)
    return gone


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process, or a name we cannot judge: leave it
    return True

"""Checkpoints of the explicit search: what the breadth-first driver needs to go on after the
process is gone (SIGKILL included), and the refusal of a checkpoint written for anything else.

A checkpoint folder (one per config) holds `checkpoint.json` and segment files. The store
and the recorded transitions only ever grow, so each write adds one segment with the states
(words, parent, instance) and transitions found since the previous write, then replaces the
JSON header, which names the segments and holds the driver's `Tally` and `Cursor` and what the checkpoint
was written for. Every file is written under a temporary name, flushed to disk and renamed,
and the header last: a kill at any moment leaves the previous checkpoint or the new one.
Segments are numpy's .npy format (read with `allow_pickle=False`: a checkpoint is an
untrusted file too) after a small JSON header with each array's dtype, shape and CRC-32.

A resumed search rebuilds the visited set from the stored states (cheaper to recompute than
to store) and continues at the chunk boundary the checkpoint was written at. States are
numbered by (source, instance) first occurrence whatever the chunks, so the result is the
uninterrupted one: same states, same numbers, same shortest traces, same transitions."""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import secrets
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from model import typed as T
from model.ground import Ground

from .. import __version__
from ..stopping import signals_held
from ..stops import Stop
from .store import Store
from .tally import Cursor, Tally

FORMAT = "plugcheck-checkpoint"
FORMAT_VERSION = 1  # of the files, not of the kernels: any backend resumes any checkpoint
HEADER = "checkpoint.json"
LOCK = "lock"
SEGMENT_MAGIC = b"PLUGCHECK-SEGMENT 1\n"
MAX_SEGMENTS = 64  # then the next write puts everything in one segment again
MAX_JSON = 64 << 20  # a segment's JSON header names six arrays: anything larger is not one of ours
RESTORE_ROWS = 1 << 20  # states re-inserted into the visited set at a time (bounds the temporaries)

EdgePart = tuple[np.ndarray, np.ndarray, np.ndarray]  # per-state counts, successors, instances


class CheckpointError(Exception):
    """A checkpoint that cannot be used or written; the message says why and what to do."""


@dataclass(frozen=True)
class Checkpointing:
    """`--checkpoint DIR` / `--resume DIR`: the folder (one subfolder per config), how often a
    checkpoint is written (seconds), and whether to go on from the one there."""

    folder: Path
    every: float = 60.0
    resume: bool = False

    def at(self, config: str) -> Checkpointing:
        return Checkpointing(self.folder / config, self.every, self.resume)

    def holds(self) -> bool:
        return (self.folder / HEADER).is_file()


def identity(model: T.Model, gm: Ground, words: int) -> dict[str, Any]:
    """What a checkpoint is valid for: the spec chain's text (not its paths: a moved checkout
    still resumes), the config and every constant, the properties searched for, the layout."""
    h = hashlib.sha256()
    for text in model.sources.values():  # the chain in its own order: the file, then what it extends
        data = text.encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return {
        "spec": model.path,
        "spec_sha256": h.hexdigest(),
        "config": model.config.name,
        "constants": {k: int(v) for k, v in sorted(model.config.values.items())},
        "properties": [f"{p.kind} {p.name}" for p, _, _ in gm.properties],
        "instances": len(gm.instances),
        "words": words,
    }


@dataclass
class Resumed:
    """A search as a checkpoint left it, ready for the driver."""

    store: Store
    tally: Tally
    cursor: Cursor
    edge_parts: list[EdgePart]
    complete: bool
    segments: list[dict[str, Any]] = field(default_factory=list)


class Lock:
    """Only one run writes a checkpoint folder; the kernel drops the lock when a run dies."""

    def __init__(self, folder: Path) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise CheckpointError(f"cannot write checkpoints to {folder}: {e.strerror or e}") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            raise CheckpointError(f"checkpoint folder {folder} is in use by another plugcheck run") from None

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Saver:
    """Told every chunk boundary of the driver; writes a checkpoint when `every` seconds have
    passed since the last one, and at the end (complete, stopped or interrupted)."""

    def __init__(self, opts: Checkpointing, ident: dict[str, Any], resumed: Resumed | None, lock: Lock) -> None:
        self.folder, self.every, self.ident, self.lock = opts.folder, opts.every, ident, lock
        self.segments: list[dict[str, Any]] = list(resumed.segments) if resumed else []
        self.saved_states = resumed.store.n if resumed else 0
        self.saved_parts = len(resumed.edge_parts) if resumed else 0
        self.last = time.monotonic()
        self.wait = opts.every
        self.mark: tuple[Tally, Cursor, int, int] | None = None
        self.store: Store | None = None
        self.parts: list[EdgePart] = []
        self.writes = 0
        if resumed is None:  # a new search: a header left here would name segments deleted next
            (self.folder / HEADER).unlink(missing_ok=True)
        named = {s["file"] for s in self.segments}
        for f in [*self.folder.glob("seg-*"), *self.folder.glob(".*.tmp")]:
            if f.name not in named:  # a run killed between a segment and its header left it
                f.unlink(missing_ok=True)

    def boundary(self, store: Store, t: Tally, at: Cursor, parts: list[EdgePart]) -> None:
        """A consistent point: the store up to `store.n`, `t`, `at` and the transitions in `parts`."""
        self.store, self.parts = store, parts
        self.mark = (t.copy(), at, store.n, len(parts))
        if time.monotonic() - self.last >= self.wait:
            self.write(None, complete=False)

    def close(self, stop: Stop | None) -> None:
        """The last checkpoint: at the last boundary (a chunk a signal cut short is left out)."""
        try:
            if self.mark is not None:
                self.write(stop, complete=stop is None)
        finally:
            self.lock.release()

    def write(self, stop: Stop | None, complete: bool) -> None:
        assert self.mark is not None and self.store is not None
        t0 = time.monotonic()
        t, at, n, nparts = self.mark
        whole = len(self.segments) >= MAX_SEGMENTS
        lo, plo = (0, 0) if whole else (self.saved_states, self.saved_parts)
        segments = [] if whole else list(self.segments)
        if n > lo or nparts > plo or not self.segments:
            segments.append(self._segment(lo, n, self.parts[plo:nparts]))
        header = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "plugcheck": __version__,
            "identity": self.ident,
            "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "complete": complete,
            "stopped": str(stop) if stop is not None else None,
            "record": self.store.numbered,
            "states": n,
            "tally": _tally_json(t, at),
            "segments": segments,
        }
        with signals_held():  # the header on disk and what this run believes it names stay one
            write_atomic(self.folder / HEADER, [json.dumps(header, indent=1).encode()])
            old = {s["file"] for s in self.segments} - {s["file"] for s in segments}
            self.segments, self.saved_states, self.saved_parts = segments, n, nparts
        for name in old:  # what the new header no longer names
            (self.folder / name).unlink(missing_ok=True)
        self.writes += 1
        self.last = time.monotonic()
        # a slow disk must not turn the search into writing: at most a fifth of the time
        self.wait = max(self.every, 4 * (self.last - t0))

    def _segment(self, lo: int, hi: int, parts: list[EdgePart]) -> dict[str, Any]:
        st = self.store
        assert st is not None
        cols: list[tuple[str, list[np.ndarray]]] = [
            ("states", [st.states[lo:hi]]),
            ("parent", [st.parent[lo:hi]]),
            ("action", [st.action[lo:hi]]),
        ]
        if st.numbered:
            cols += [(name, [p[j] for p in parts]) for j, name in enumerate(("counts", "succ", "inst"))]
        token = secrets.token_hex(8)
        name = f"seg-{len(self.segments) + 1:06d}-{token}.npys"
        arrays = [_array_meta(name_, ps) for name_, ps in cols]
        head = json.dumps({"token": token, "arrays": arrays}).encode()
        chunks: list[bytes | memoryview] = [SEGMENT_MAGIC, len(head).to_bytes(8, "little"), head]
        for (_, ps), m in zip(cols, arrays, strict=True):
            chunks += _npy_chunks(ps, m)
        write_atomic(self.folder / name, chunks)
        counts = sum(p[0].shape[0] for p in parts) if st.numbered else 0
        edges = sum(p[1].shape[0] for p in parts) if st.numbered else 0
        return {"file": name, "token": token, "states": hi - lo, "expanded": counts, "edges": edges}


def _array_meta(name: str, parts: list[np.ndarray]) -> dict[str, Any]:
    dtype = parts[0].dtype if parts else DTYPES[name]
    rows = sum(p.shape[0] for p in parts)
    shape = [rows, *parts[0].shape[1:]] if parts else [0]
    crc = 0
    for p in parts:
        crc = zlib.crc32(np.ascontiguousarray(p).data, crc)
    return {"name": name, "dtype": np.dtype(dtype).str, "shape": shape, "crc32": crc}


def _npy_chunks(parts: list[np.ndarray], meta: dict[str, Any]) -> Iterator[bytes | memoryview]:
    """One .npy array (numpy's own header, then the rows) written from consecutive pieces."""
    buf = io.BytesIO()
    d = {"descr": meta["dtype"], "fortran_order": False, "shape": tuple(meta["shape"])}
    np.lib.format.write_array_header_1_0(buf, d)
    yield buf.getvalue()  # the magic string, the header's length, the header
    for p in parts:
        yield np.ascontiguousarray(p).data


def write_atomic(path: Path, chunks: Any) -> None:
    """Write under a temporary name in the same folder, fsync, rename, fsync the folder."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise CheckpointError(f"cannot write the checkpoint {path}: {e.strerror or e}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)  # the rename itself reaches the disk
    except OSError:
        pass
    finally:
        os.close(dfd)


def _tally_json(t: Tally, at: Cursor) -> dict[str, Any]:
    return {
        "depth": at.depth,
        "level_start": at.level_start,
        "level_end": at.level_end,
        "pos": at.pos,
        "transitions": t.transitions,
        "dead_at": t.dead_at,
        "range_err": list(t.range_err) if t.range_err is not None else None,
        "inv_found": {str(k): v for k, v in sorted(t.inv_found.items())},
        "reach_found": {str(k): v for k, v in sorted(t.reach_found.items())},
        "fired": list(t.fired),
        "inst_trans": t.inst_trans.tolist(),
        "act_total": t.act_total.tolist(),
    }


DTYPES: dict[str, np.dtype[Any]] = {
    "states": np.dtype(np.uint64),
    "parent": np.dtype(np.int64),
    "action": np.dtype(np.int32),
    "counts": np.dtype(np.int64),
    "succ": np.dtype(np.int64),
    "inst": np.dtype(np.int32),
}

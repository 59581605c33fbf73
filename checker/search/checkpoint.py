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
import signal
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from model import typed as T
from model.ground import Ground

from .. import __version__
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


# --- writing ---------------------------------------------------------------------------


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
        with _signals_held():  # the header on disk and what this run believes it names stay one
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
    dtype = parts[0].dtype if parts else _DTYPES[name]
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


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait for the few system calls inside (main thread only)."""
    sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    except (AttributeError, OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


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


_DTYPES: dict[str, np.dtype[Any]] = {
    "states": np.dtype(np.uint64),
    "parent": np.dtype(np.int64),
    "action": np.dtype(np.int32),
    "counts": np.dtype(np.int64),
    "succ": np.dtype(np.int64),
    "inst": np.dtype(np.int32),
}


# --- reading ---------------------------------------------------------------------------


def load(opts: Checkpointing, ident: dict[str, Any], gm: Ground) -> Resumed:
    """The search a checkpoint holds, after checking it was written for this very search and
    that every file is whole (CRC-32) and consistent; a CheckpointError says what is wrong."""
    folder = opts.folder
    h = read_header(folder)
    refuse_other(folder, h, ident)
    try:
        return _restore(folder, h, ident, gm)
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, OverflowError, MemoryError, EOFError, OSError) as e:
        raise _damaged(folder, f"{type(e).__name__}: {e}") from None


def read_header(folder: Path) -> dict[str, Any]:
    path = folder / HEADER
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{folder} holds no checkpoint (no {HEADER})") from None
    except OSError as e:
        raise CheckpointError(f"cannot read the checkpoint {path}: {e.strerror or e}") from None
    try:
        h = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _damaged(folder, f"{HEADER} is not JSON: {e}") from None
    if not isinstance(h, dict) or h.get("format") != FORMAT:
        raise _damaged(folder, f"{HEADER} is not a plugcheck checkpoint header")
    return h


def summary(folder: Path) -> str:
    """One line on the checkpoint in `folder` (it must hold one): what it reached and when."""
    h = read_header(folder)
    tally = h.get("tally")
    t: dict[str, Any] = tally if isinstance(tally, dict) else {}
    how = "complete" if h.get("complete") else (h.get("stopped") or "cut short")
    return f"{h.get('states', '?'):,} states, depth {t.get('depth', '?')}, {how}, written {h.get('written', '?')}"


def refuse_other(folder: Path, h: dict[str, Any], ident: dict[str, Any]) -> None:
    """A checkpoint of another spec, config, property selection, version or format is refused."""
    if h.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{folder}: the checkpoint has format version {h.get('format_version')}; this plugcheck reads version"
            f" {FORMAT_VERSION}: check from the start without --resume"
        )
    if h.get("plugcheck") != __version__:
        raise CheckpointError(
            f"{folder}: the checkpoint was written by plugcheck {h.get('plugcheck')}; this is plugcheck {__version__},"
            " and a checkpoint resumes only in the version that wrote it: check from the start without --resume"
        )
    got = h.get("identity")
    if not isinstance(got, dict):
        raise _damaged(folder, "the header names no spec")
    if got.get("spec_sha256") != ident["spec_sha256"]:
        was = str(got.get("spec_sha256"))[:12]
        raise CheckpointError(
            f"{folder}: the checkpoint was written for another spec: {got.get('spec')} (sha256 {was}…); this run"
            f" checks {ident['spec']} (sha256 {ident['spec_sha256'][:12]}…). A changed spec (or a file it extends)"
            " is another spec: check it from the start without --resume"
        )
    if got.get("config") != ident["config"] or got.get("constants") != ident["constants"]:
        raise CheckpointError(
            f"{folder}: the checkpoint was written for config {got.get('config')} with"
            f" {_constants(got.get('constants'))}; this run checks config {ident['config']} with"
            f" {_constants(ident['constants'])} (-D and --config must be the same as when it was written)"
        )
    if got.get("properties") != ident["properties"]:
        raise CheckpointError(
            f"{folder}: the checkpoint searched for other properties ({_names(got.get('properties'))}); this run"
            f" decides {_names(ident['properties'])}: give the same --property and --kind as when it was written"
        )
    if got != ident | {"spec": got.get("spec")}:
        raise CheckpointError(f"{folder}: the checkpoint does not match this model's layout: check from the start")


def _constants(c: Any) -> str:
    return " ".join(f"{k}={v}" for k, v in c.items()) if isinstance(c, dict) and c else "no constants"


def _names(props: Any) -> str:
    return ", ".join(p.split(" ", 1)[-1] for p in props) if isinstance(props, list) and props else "none"


def _damaged(folder: Path, why: str) -> CheckpointError:
    return CheckpointError(
        f"{folder}: the checkpoint is damaged ({why}); check from the start without --resume, or into another folder"
    )


def _restore(folder: Path, h: dict[str, Any], ident: dict[str, Any], gm: Ground) -> Resumed:
    n, record, k = _int(h["states"], 1), h["record"], ident["words"]
    if not isinstance(record, bool) or not isinstance(h["complete"], bool):
        raise _damaged(folder, "the header's flags are not true/false")
    segs = h["segments"]
    if not isinstance(segs, list) or not segs:
        raise _damaged(folder, "the header names no segment")
    cols: dict[str, list[np.ndarray]] = {name: [] for name in _DTYPES}
    for s in segs:
        for name, arr in _read_segment(folder, s, k, record).items():
            cols[name].append(arr)
    states, parent, action = (np.concatenate(cols[c]) for c in ("states", "parent", "action"))
    if states.shape[0] != n:
        raise _damaged(folder, f"the segments hold {states.shape[0]} states, the header says {n}")
    ninst = len(gm.instances)
    idx = np.arange(n, dtype=np.int64)
    initial = parent < 0
    if not (
        ((parent >= -1) & (parent < idx)).all()
        and ((action >= -1) & (action < ninst)).all()
        and ((action < 0) == initial).all()
    ):
        raise _damaged(folder, "a parent or an action is out of range")
    t, at = _tally(h["tally"], gm, n)
    parts: list[EdgePart] = []
    if record:
        counts, succ, inst = (np.concatenate(cols[c]) for c in ("counts", "succ", "inst"))
        if counts.shape[0] != at.pos or int(counts.sum()) != succ.shape[0] or succ.shape[0] != t.transitions:
            raise _damaged(folder, "the recorded transitions do not match the states expanded")
        if (counts < 0).any() or (succ < 0).any() or (succ >= n).any() or (inst < 0).any() or (inst >= ninst).any():
            raise _damaged(folder, "a recorded transition is out of range")
        parts.append((counts, succ, inst))
    store = Store(k, record)
    for lo in range(0, n, RESTORE_ROWS):
        hi = min(n, lo + RESTORE_ROWS)
        store.append(states[lo:hi], parent[lo:hi], action[lo:hi])
    return Resumed(store, t, at, parts, h["complete"], segs)


def _read_segment(folder: Path, s: Any, k: int, record: bool) -> dict[str, np.ndarray]:
    if not isinstance(s, dict) or not isinstance(s.get("file"), str) or "/" in s["file"] or s["file"].startswith("."):
        raise _damaged(folder, "the header names a segment badly")
    path = folder / s["file"]
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise _damaged(folder, f"segment {s['file']} is missing") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        if f.read(len(SEGMENT_MAGIC)) != SEGMENT_MAGIC:
            raise _damaged(folder, f"{s['file']} is not a checkpoint segment")
        hlen = int.from_bytes(f.read(8), "little")
        if hlen > min(MAX_JSON, size):
            raise _damaged(folder, f"{s['file']} is truncated")
        try:
            meta = json.loads(f.read(hlen).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise _damaged(folder, f"{s['file']}: its header is not JSON") from None
        if meta.get("token") != s.get("token"):
            raise _damaged(folder, f"{s['file']} is not the segment the header names")
        names = ["states", "parent", "action"] + (["counts", "succ", "inst"] if record else [])
        arrays = meta.get("arrays")
        if not isinstance(arrays, list) or [a.get("name") for a in arrays] != names:
            raise _damaged(folder, f"{s['file']} holds other arrays than a checkpoint segment")
        rows = {"states": s["states"], "parent": s["states"], "action": s["states"]}
        rows |= {"counts": s["expanded"], "succ": s["edges"], "inst": s["edges"]}
        out: dict[str, np.ndarray] = {}
        for a in arrays:
            name = a["name"]
            shape = (_int(rows[name], 0), k) if name == "states" else (_int(rows[name], 0),)
            out[name] = _read_array(folder, f, s["file"], name, shape, a, size)
        if f.tell() != size:
            raise _damaged(folder, f"{s['file']} has bytes after its last array")
    return out


def _read_array(
    folder: Path, f: IO[bytes], file: str, name: str, shape: tuple[int, ...], a: Any, size: int
) -> np.ndarray:
    """One array, its numpy header checked against what the segment header says before
    anything is allocated (a lying header cannot ask for terabytes), then its CRC-32."""
    dtype = _DTYPES[name]
    where = f.tell()
    try:
        if np.lib.format.read_magic(f) != (1, 0):  # the version the writer uses
            raise ValueError("not a version 1.0 array")
        hdr = np.lib.format.read_array_header_1_0(f)  # shape, fortran order, dtype
    except ValueError as e:
        raise _damaged(folder, f"{file}: {name}: {e}") from None
    if hdr != (shape, False, dtype) or list(shape) != a.get("shape") or np.dtype(a.get("dtype")) != dtype:
        raise _damaged(folder, f"{file}: {name} is not the array the header says")
    if f.tell() + int(np.prod(shape)) * dtype.itemsize > size:
        raise _damaged(folder, f"{file} is truncated")
    f.seek(where)
    arr = np.load(f, allow_pickle=False)
    if zlib.crc32(np.ascontiguousarray(arr).data) != a.get("crc32"):
        raise _damaged(folder, f"{file}: {name} fails its CRC-32 check")
    return arr  # type: ignore[no-any-return]


def _int(v: Any, lo: int, hi: int | None = None) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < lo or (hi is not None and v >= hi):
        raise ValueError(f"{v!r} is out of range")
    return v


def _tally(d: Any, gm: Ground, n: int) -> tuple[Tally, Cursor]:
    """The driver's counters and position from the header, each checked against the store
    and the model."""
    ninst = len(gm.instances)
    t = Tally(gm)
    at = Cursor(
        _int(d["depth"], 0), _int(d["level_start"], 0, n + 1), _int(d["level_end"], 0, n + 1), _int(d["pos"], 0, n + 1)
    )
    if not at.level_start <= at.pos <= at.level_end:
        raise ValueError("the search's position is not inside its level")
    t.transitions = _int(d["transitions"], 0)
    t.dead_at = _int(d["dead_at"], -1, n)
    t.inv_found = {_int(int(key), 0, t.inv_n): _int(v, 0, n) for key, v in d["inv_found"].items()}
    t.reach_found = {_int(int(key), 0, t.reach_n): _int(v, 0, n) for key, v in d["reach_found"].items()}
    fired, inst_trans, act_total = d["fired"], d["inst_trans"], d["act_total"]
    if not len(fired) == len(inst_trans) == ninst or len(act_total) != len(t.actions):
        raise ValueError("the per-instance or per-action counts do not fit the model")
    t.fired = bytearray(_int(v, 0, 2) for v in fired)
    t.inst_trans = np.array([_int(v, 0) for v in inst_trans], dtype=np.int64)
    t.act_total = np.array([_int(v, 0) for v in act_total], dtype=np.int64)
    if d["range_err"] is not None:
        state, inst, msg = d["range_err"]
        if not isinstance(msg, str):
            raise ValueError("a range error's message is not text")
        t.range_err = (_int(state, 0, n), _int(inst, 0, ninst), msg)
    return t, at

"""Resuming from a checkpoint (see `checkpoint` for what one holds): the refusal of one
written for another spec, config, property selection, version or format, and loading with
every file checked whole (its CRC-32) and every index checked against the model, so that a
damaged checkpoint is named instead of failing somewhere later."""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np

from model.ground import Ground

from .. import __version__
from .checkpoint import (
    DTYPES,
    FORMAT,
    FORMAT_VERSION,
    HEADER,
    MAX_JSON,
    RESTORE_ROWS,
    SEGMENT_MAGIC,
    CheckpointError,
    Checkpointing,
    EdgePart,
    Resumed,
)
from .store import Store
from .tally import Cursor, Tally


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
    except (Exception, MemoryError) as e:  # whatever a damaged file leads to is named, never a traceback
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
    n = h.get("states")
    states = f"{n:,}" if isinstance(n, int) else "?"  # a damaged header is named when it is loaded
    return f"{states} states, depth {t.get('depth', '?')}, {how}, written {h.get('written', '?')}"


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
    return ", ".join(str(p).split(" ", 1)[-1] for p in props) if isinstance(props, list) and props else "none"


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
    cols: dict[str, list[np.ndarray]] = {name: [] for name in DTYPES}
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
    dtype = DTYPES[name]
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

"""Build and load a model's C kernels (`native_gen.py`): gcc compiles them into a shared
library in a private temporary folder, in the background while the search goes on, and
ctypes calls them over whole chunks of packed states.

The library is loaded once and its file removed (a loaded library stays mapped), so
nothing is left behind and nothing is cached between runs: a library is always the one
this run generated."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from model.budget import check_time
from model.ground import Ground

from .layout import Layout
from .native_gen import c_source

if TYPE_CHECKING:
    from .search.store import Visited

# -O2 compiles 3.6 times slower (2.8 s on virtio_mem_2020 bench5m) for no faster a search
FLAGS = ["-O1", "-shared", "-fPIC", "-w"]


class NativeError(Exception):
    """The C kernels could not be built here (no compiler, or the compiler failed)."""


def compiler() -> str | None:
    return shutil.which("gcc") or shutil.which("cc")


def _cleanup(proc: subprocess.Popen[bytes], folder: str) -> None:
    if proc.poll() is None:  # gcc and the compiler passes it started: its own process group
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    shutil.rmtree(folder, ignore_errors=True)


class Build:
    """gcc compiling one model's kernels: `ready()` polls, `wait()` blocks; both give the
    loaded `Native` once it is built."""

    def __init__(self, gm: Ground, layout: Layout, nwords: int, mul: int) -> None:
        """`mul`: the visited set's hash multiplier (`store.row_hash`)."""
        cc = compiler()
        if cc is None:
            raise NativeError("no C compiler (gcc or cc) on the PATH")
        source = c_source(gm, layout, nwords, mul)  # raises Unsupported before anything is started
        self.folder = tempfile.mkdtemp(prefix="plugcheck-native-")
        self.c, self.so = os.path.join(self.folder, "kernels.c"), os.path.join(self.folder, "kernels.so")
        with open(self.c, "w", encoding="ascii") as f:
            f.write(source)
        self.log = open(os.path.join(self.folder, "gcc.log"), "wb")  # noqa: SIM115 - closed when gcc ends
        self.proc = subprocess.Popen(
            [cc, *FLAGS, "-o", self.so, self.c],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a search that ends first kills the whole group (`_cleanup`)
        )
        self._final = weakref.finalize(self, _cleanup, self.proc, self.folder)
        self.gm, self.nwords = gm, nwords
        self.native: Native | None = None

    def ready(self) -> Native | None:
        if self.native is None and self.proc.poll() is not None:
            self._load()
        return self.native

    def wait(self) -> Native:
        """Block until gcc is done (the run's time budget is checked meanwhile: `Stopped`)."""
        while self.native is None:
            try:
                self.proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                check_time("building the C kernels")
                continue
            self._load()
        return self.native

    def _load(self) -> None:
        self.log.close()
        try:
            if self.proc.returncode != 0:
                with open(os.path.join(self.folder, "gcc.log"), encoding="utf-8", errors="replace") as f:
                    tail = f.read()[-2000:]
                raise NativeError(f"the C compiler failed (exit {self.proc.returncode}): {tail}")
            self.native = Native(ctypes.CDLL(self.so), self.gm, self.nwords)
        finally:
            self._final()  # the folder goes; a loaded library stays mapped


_P = ctypes.c_void_p
_N = ctypes.c_int64


def _ptr(a: np.ndarray) -> int:
    return a.ctypes.data  # type: ignore[no-any-return]


class Native:
    """The loaded kernels over (n, k) uint64 arrays of packed states."""

    def __init__(self, lib: ctypes.CDLL, gm: Ground, nwords: int) -> None:
        self.lib, self.k = lib, nwords
        self.ninst = max(len(gm.instances), 1)
        self.nact = max(len(dict.fromkeys(inst.action for inst in gm.instances)), 1)
        self.ninv = sum(1 for p, _, _ in gm.properties if p.kind == "invariant")
        self.nreach = sum(1 for p, _, _ in gm.properties if p.kind == "reachable")
        lib.expand.argtypes = [_P, _N, _N, _N, _P, _P, _P, _P, _P, _P]
        lib.expand.restype = _N
        for fn in (lib.invariants, lib.reached):
            fn.argtypes = [_P, _N, _P, _P]
            fn.restype = None
        lib.visit.argtypes = [_P, _P, _P, _N, _P, _N, _P, _P, _N, _N, _N, _N, _P, _P, _P, _P, _P]
        lib.visit.restype = _N
        lib.place.argtypes = [_P, _P, _N, _P, _P, _N]
        lib.place.restype = None
        lib.split.argtypes = [_P, _P, _P, _N, _P, _N, _P, _N, _N, _N, ctypes.c_uint64, _P, _P, _P]
        lib.split.restype = None
        self._per_lane = 4.0  # successors per lane in the last `expand`
        self._rows = np.empty((0, nwords), dtype=np.uint64)  # `split`'s scratch
        self._keys = np.empty(0, dtype=np.int64)

    def place(self, old: np.ndarray, old_vals: np.ndarray | None, visited: Visited) -> None:
        """The rows of an old table (free slots included) into the visited set's new, empty
        table (`Visited.reserve`)."""
        vals = visited.vals
        self.lib.place(
            _ptr(old), None if old_vals is None else _ptr(old_vals), old.shape[0], _ptr(visited.table),
            None if vals is None else _ptr(vals), visited.bits,
        )  # fmt: skip

    def visit(
        self,
        S: np.ndarray | None,
        src: np.ndarray,
        iid: np.ndarray | None,
        nxt: np.ndarray,
        visited: Visited,
        base: int,
        lo: int,
        limit: int | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, int | None] | None:
        """A chunk's transitions (lanes of S, in (lane, instance) order) into the visited set,
        which gets room for all of them first: (new states in order of first occurrence, their
        parents, their instances, with `visited.values` each transition's successor number,
        and the first lane left out when the `limit`-th new state was reached, else None).
        Parents and numbers count from `lo` and `base`. Without S (the sources are
        elsewhere), self-loops are not looked for; without `iid`, `src` holds keys lane *
        instances + instance. None, and nothing done, when a row's last word is all ones: the
        visited set keeps such rows aside, the numpy way."""
        if visited.kept_aside(nxt):
            return None
        S = None if S is None else np.ascontiguousarray(S, dtype=np.uint64)
        src = np.ascontiguousarray(src, dtype=np.int64)
        iid = None if iid is None else np.ascontiguousarray(iid, dtype=np.int64)
        nxt = np.ascontiguousarray(nxt, dtype=np.uint64)
        m = src.shape[0]
        visited.reserve(m, self.place)
        rows = np.empty((m, self.k), dtype=np.uint64)
        nsrc = np.empty(m, dtype=np.int64)
        niid = np.empty(m, dtype=np.int32)
        target = np.empty(m, dtype=np.int64) if visited.vals is not None else None
        cut = np.zeros(1, dtype=np.int64)
        c = self.lib.visit(
            None if S is None else _ptr(S), _ptr(src), None if iid is None else _ptr(iid),
            0 if iid is not None else self.ninst, _ptr(nxt), m, _ptr(visited.table),
            None if visited.vals is None else _ptr(visited.vals), visited.bits, base, lo,
            (1 << 62) if limit is None else limit, _ptr(rows), _ptr(nsrc), _ptr(niid),
            None if target is None else _ptr(target), _ptr(cut),
        )  # fmt: skip
        visited.count += c
        return rows[:c], nsrc[:c], niid[:c], target, None if cut[0] < 0 else int(cut[0])

    def split(
        self,
        S: np.ndarray,
        src: np.ndarray,
        iid: np.ndarray,
        nxt: np.ndarray,
        visited: Visited,
        parts: int,
        index: int,
        mul: int,
        key_type: type[np.signedinteger[Any]] = np.int64,
    ) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """A chunk's transitions (lanes of S) per owner partition, in one call: per partition
        j, the successors whose hash with multiplier `mul` picks j (`partition.owners`) and
        their keys lane * instances + instance (as `key_type`), in transition order; self-loops
        are dropped, and so are partition `index`'s successors that `visited` holds. None, and
        nothing done, when a row's last word is all ones (the visited set keeps such rows aside)."""
        if visited.kept_aside(nxt):
            return None
        S = np.ascontiguousarray(S, dtype=np.uint64)
        src = np.ascontiguousarray(src, dtype=np.int64)
        iid = np.ascontiguousarray(iid, dtype=np.int64)
        nxt = np.ascontiguousarray(nxt, dtype=np.uint64)
        m = src.shape[0]
        rows, keys = self._scratch(parts * m)  # a region per owner
        counts = np.zeros(parts, dtype=np.int64)
        self.lib.split(
            _ptr(S), _ptr(src), _ptr(iid), self.ninst, _ptr(nxt), m, _ptr(visited.table), visited.bits, parts,
            index, mul, _ptr(rows), _ptr(keys), _ptr(counts),
        )  # fmt: skip
        # copies (the scratch regions serve the next chunk), the keys straight into the type they travel in
        return [
            (rows[j * m : j * m + c].copy(), keys[j * m : j * m + c].astype(key_type))
            for j, c in enumerate(counts.tolist())
        ]

    def _scratch(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and keys for `split` to write n of, kept from call to call: fresh arrays each
        chunk cost a page fault per 4 KiB written (a fifth of the routing pass on ref_sbm)."""
        if self._rows.shape[0] < n:
            self._rows = np.empty((n, self.k), dtype=np.uint64)
            self._keys = np.empty(n, dtype=np.int64)
        return self._rows, self._keys

    def expand(self, S: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(src, iid, nxt, lane_err, act): every transition of the lanes without an error, in
        (lane, instance) order; per lane whether it met an error; per action, the lanes
        (without an error) where it has a successor."""
        S = np.ascontiguousarray(S, dtype=np.uint64)
        n = S.shape[0]
        lane_err = np.zeros(n, dtype=np.uint8)
        act = np.zeros(self.nact, dtype=np.int64)
        done = np.zeros(1, dtype=np.int64)
        # room for as many successors per lane as the last chunk had, and a quarter more: a
        # chunk that overflows is finished in another call and joined (a fifth more time)
        cap = max(int(n * self._per_lane * 1.25), 2 * self.ninst, 1024)
        pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        start = 0
        while True:
            src = np.empty(cap, dtype=np.int64)
            iid = np.empty(cap, dtype=np.int64)
            nxt = np.empty((cap, self.k), dtype=np.uint64)
            m = self.lib.expand(
                _ptr(S), n, start, cap, _ptr(src), _ptr(iid), _ptr(nxt), _ptr(lane_err), _ptr(act), _ptr(done)
            )
            pieces.append((src[:m], iid[:m], nxt[:m]))
            start = int(done[0])
            if start >= n:
                break
            cap *= 2  # the lanes had more successors than room: the rest in a bigger buffer
        self._per_lane = max(sum(p[0].shape[0] for p in pieces) / max(n, 1), 4.0)
        if len(pieces) == 1:
            src, iid, nxt = pieces[0]
        else:
            src = np.concatenate([p[0] for p in pieces])
            iid = np.concatenate([p[1] for p in pieces])
            nxt = np.concatenate([p[2] for p in pieces])
        return src, iid, np.ascontiguousarray(nxt), lane_err.view(np.bool_), act

    def invariants(self, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._props(self.lib.invariants, S, self.ninv)

    def reached(self, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._props(self.lib.reached, S, self.nreach)

    def _props(self, fn: ctypes._NamedFuncPointer, S: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(value per expression and lane, lane_err): an expression's value where its lane has
        no error."""
        S = np.ascontiguousarray(S, dtype=np.uint64)
        n = S.shape[0]
        val = np.zeros((count, n), dtype=np.uint8)
        lane_err = np.zeros(n, dtype=np.uint8)
        if count:
            fn(_ptr(S), n, _ptr(val), _ptr(lane_err))
        return val.view(np.bool_), lane_err.view(np.bool_)

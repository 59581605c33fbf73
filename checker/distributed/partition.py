"""One partition of the distributed search: the states whose hash picks it, their parents and
instances, and the level it expands. A plain class (tests use it in process); `runtime` runs
it as a Ray actor.

State numbers are global and dense: level by level, partition 0's new states first, then
partition 1's, ...; inside a partition a level's states are in the order of their smallest
(parent, instance) key (`search.driver.first_occurrences`). With one partition that is the
single-process numbering exactly. Parents are stored as global numbers, so a trace is rebuilt
by asking each partition for the states on it."""

from __future__ import annotations

import os
import resource
import threading
from typing import Any

import numpy as np

from model import typed as T
from model.ground import ground

from ..codegen import compile_model
from ..kernels import words
from ..memory import rss_bytes
from ..search.backends import Backend, Expansion, choose
from ..search.driver import first_occurrences, rows_differ
from ..search.store import Store, row_hash
from ..search.tally import Tally

_OWNER_MUL = np.uint64(0xD6E8FEB86659FD93)  # not the visited set's multiplier: its slots stay spread
_NO_KEY = np.iinfo(np.int64).max
MAX_SENT_BITS = 24  # 16 M slots: 272 MB for one-word states


Piece = tuple[np.ndarray, np.ndarray, int]  # successors, their keys from the chunk's first state, its number


def owners(rows: np.ndarray, parts: int) -> np.ndarray:
    """The partition of each row of k words: a hash of all its words modulo the partitions."""
    h = row_hash(rows, _OWNER_MUL)
    # the top 32 bits scaled to [0, parts): a multiply and a shift, no 64-bit division
    return (((h >> np.uint64(32)) * np.uint64(parts)) >> np.uint64(32)).astype(np.intp)  # type: ignore[no-any-return]


class Sent:
    """A lossy memory of the states this partition expanded into lately, own and others':
    one state per slot, the last written wins. A successor found here was sent before (its
    owner has it, with a smaller key), so it does not travel again; one that a collision
    pushed out is sent again and its owner drops it. In ref_sbm most successors are states
    reached before: on ref_sbm b3s3 two workers send 3.4 times less with it. Used on a
    cluster only: on one machine its hashing costs more CPU than sending the states and
    looking them up at the owner (ref_sbm b3s4, two partitions in one process: 42.7 CPU s
    with it, 35.4 s without, before the other changes of that day)."""

    def __init__(self, k: int, bits: int = 18) -> None:
        self.k = k
        self._alloc(bits)

    def _alloc(self, bits: int) -> None:
        self.bits = bits
        self.mask = np.uint64((1 << bits) - 1)
        # an empty slot holds zeros: a row whose first word is 0 is never taken as seen (it is sent)
        self.keys = [np.zeros(1 << bits, dtype=np.uint64) for _ in range(self.k)]
        self.best = np.full(1 << bits, _NO_KEY, dtype=np.int64)  # per slot, between the two steps of `firsts`

    def fit(self, states: int) -> None:
        """Grow (forgetting everything: it is only a cache) to two slots per stored state, up to MAX_SENT_BITS."""
        bits = min(max(2 * states - 1, 1).bit_length(), MAX_SENT_BITS)
        if bits > self.bits:
            self._alloc(bits)

    def _slot(self, rows: np.ndarray) -> np.ndarray:
        h = row_hash(rows)
        # as intp: numpy converts uint64 indices on every gather and scatter (twice the cost)
        return ((h >> np.uint64(8)) & self.mask).view(np.intp)  # type: ignore[no-any-return]

    def pick(self, rows: np.ndarray, key: np.ndarray) -> np.ndarray:
        """The lanes to send, remembering their rows: none seen before, and per distinct row
        the one with the smallest key (hashing, not sorting); a row whose slot another row of
        this call took is sent all the same, once (sorted: few when the memory is large)."""
        slot = self._slot(rows)
        hit = rows[:, 0] != 0
        for j in range(self.k):
            hit &= self.keys[j][slot] == rows[:, j]
        lanes = np.flatnonzero(~hit)
        slot, key = slot[lanes], key[lanes]
        cols = [rows[lanes, j] for j in range(self.k)]
        for j in range(self.k):
            self.keys[j][slot] = cols[j]
        same = self.keys[0][slot] == cols[0]
        for j in range(1, self.k):
            same &= self.keys[j][slot] == cols[j]
        mine = np.flatnonzero(same)
        s, kk = slot[mine], key[mine]
        np.minimum.at(self.best, s, kk)
        win = mine[self.best[s] == kk]  # keys are distinct: one lane per row
        self.best[s] = _NO_KEY
        lost = np.flatnonzero(~same)
        if lost.size:
            lk = key[lost]
            order = np.argsort(lk)
            smallest = first_occurrences(rows[lanes[lost]], lk).key  # keys are distinct: they name the lanes
            lost = lost[order[np.searchsorted(lk, smallest, sorter=order)]]
        return lanes[np.concatenate([win, lost])]  # type: ignore[no-any-return]


class Partition:
    """Load a model, take initial states, then per level: number and check the newest states
    and expand them (`step`), and take the successors every partition sent here (`absorb`)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._lock = threading.Lock()  # `rows` may run while `step` does (a stopped run's traces)

    def load(self, model: T.Model, kernel: str, index: int, parts: int, remember_sent: bool = False) -> int:
        """Ground and compile the model here (it travels as the typed model, not as code).
        `remember_sent`: keep a `Sent` memory (fewer bytes on a network, more CPU)."""
        gm = ground(model)
        comp = compile_model(gm)
        actions = list(dict.fromkeys(inst.action for inst in gm.instances))
        act_of = np.array([actions.index(i.action) for i in gm.instances], dtype=np.int64)
        self.backend: Backend = choose(gm, comp, kernel, act_of, len(actions))
        self.k = words(comp.layout)
        self.ninst = max(len(gm.instances), 1)
        self.index, self.parts = index, parts
        self.store = Store(self.k, False)
        self.tally = Tally(gm)
        self.sent = Sent(self.k) if remember_sent else None
        self.own: list[Piece] = []
        self.starts: list[int] = [0]  # local index where each level starts
        self.bases: list[int] = []  # global number of each numbered level's first state here
        return self.pid

    def seed(self, rows: np.ndarray) -> int:
        """The initial states this partition owns, distinct, in the order they were enumerated."""
        n = rows.shape[0]
        self.store.append(np.array(rows, dtype=np.uint64), np.full(n, -1, np.int64), np.full(n, -1, np.int32))
        return n

    def step(self, base: int, expand: bool) -> tuple[object, ...]:
        """Number the newest level from `base` and check its properties; with `expand`, its
        successors (self-loops dropped) as one list of pieces per owner partition, a piece per
        chunk: (rows, keys, first), each key (parent, instance) as one number counted from the
        chunk's first state `first` (int32 when it fits: a quarter less to send for one-word
        states). Pieces travel as they are (Ray sends lists of arrays without copying them into
        one): joining them here would copy every successor once more. Last: the tally so far,
        bytes per owner, resident memory."""
        lo, hi = self.starts[-1], self.store.n
        self.bases.append(base)
        if self.sent is not None:
            self.sent.fit(hi)
        chunk = self.backend.chunk
        outs: list[list[Piece]] = [[] for _ in range(self.parts)]
        small = chunk * self.ninst < 1 << 31
        for c in range(lo, hi, chunk):
            S = self.store.states[c : min(c + chunk, hi)]
            gid = base + (c - lo)
            self.tally.check(self.backend, S, gid)
            if not expand:
                continue
            exp = self.backend.expand(S)
            self.tally.add(exp, gid)
            for j, (rows, rel) in enumerate(self._split(S, exp, gid, np.int32 if small else np.int64)):
                outs[j].append((rows, rel.astype(np.int32, copy=False) if small else rel, gid))
        self.own = outs[self.index]  # kept here: absorb takes it without the object store
        outs[self.index] = []
        sizes = [sum(r.nbytes + k.nbytes for r, k, _ in o) for o in outs]
        info = (self.tally, sizes, rss_bytes() or 0)
        return (*outs, info)

    def _split(
        self, S: np.ndarray, exp: Expansion, gid: int, key_type: type[np.signedinteger[Any]] = np.int64
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """A chunk's successors per owner with their keys from the chunk's first state,
        self-loops dropped and so are this partition's own successors known here (most
        successors are states reached before: dropped before they are keyed). In one call
        of the C kernels where they run and no `Sent` memory is kept (there the keys come as
        `key_type`, the type they travel in)."""
        native = self.backend.native
        if native is not None and self.sent is None:
            pieces = native.split(
                S, exp.src, exp.iid, exp.nxt, self.store.visited, self.parts, self.index, int(_OWNER_MUL), key_type
            )
            if pieces is not None:
                return pieces
        moved = rows_differ(exp.nxt, S, exp.src)  # self-loops stay here
        if self.sent is not None:  # nor what it sent before (a cluster: the network is dear)
            lanes = np.flatnonzero(moved)
            key = exp.src[lanes] * self.ninst + exp.iid[lanes] + gid * self.ninst
            lanes = lanes[self.sent.pick(np.take(exp.nxt, lanes, axis=0), key)]
            moved = np.zeros_like(moved)
            moved[lanes] = True
        own = owners(exp.nxt, self.parts) if self.parts > 1 else None
        out = []
        for j in range(self.parts):
            lanes = np.flatnonzero(moved if own is None else moved & (own == j))
            rows = np.take(exp.nxt, lanes, axis=0)  # several times faster than nxt[lanes] on (m, k) rows
            if j == self.index:
                fresh = ~self.store.visited.contains(rows)
                lanes, rows = lanes[fresh], np.compress(fresh, rows, axis=0)
            out.append((rows, exp.src[lanes] * self.ninst + exp.iid[lanes]))
        return out

    def absorb(self, *parts: list[Piece]) -> tuple[int, int]:
        """Successors from every partition: the new ones become the next level, each at its
        smallest key. Partition j's keys all lie below partition j+1's (its states were
        numbered first) and a partition's pieces come in key order, so the pieces, taken in
        that order, are in ascending key ranges: a state's first piece holds its smallest key,
        and they are taken one at a time as the one-process driver takes its chunks (no sort
        over the whole level). The count of new states and resident memory."""
        n0 = self.store.n
        with self._lock:
            self.starts.append(n0)
            for j, pieces in enumerate(parts):
                # its own pieces were looked up when made: again, as lower partitions' pieces came first
                for r, rel, first_gid in self.own if j == self.index else pieces:
                    if not r.shape[0]:
                        continue
                    if self._visit(r, rel, first_gid):
                        continue
                    found, end = self.store.visited.probe(r)
                    fresh = np.flatnonzero(~found)
                    key = rel[fresh].astype(np.int64) + first_gid * self.ninst
                    first = first_occurrences(np.take(r, fresh, axis=0), key, carry=end[fresh])
                    src, iid = first.key // self.ninst, (first.key % self.ninst).astype(np.int32)
                    self.store.append(first.states, src, iid, first.carry)
        self.own = []
        return self.store.n - n0, rss_bytes() or 0

    def _visit(self, r: np.ndarray, rel: np.ndarray, first_gid: int) -> bool:
        """One piece through the C kernels' `visit` (one pass, new states in key order), where
        they run, the keys ascend (they do unless `Sent` reordered them) and no row is one the
        visited set keeps aside; False: the piece is left to the numpy way."""
        native = self.backend.native
        if native is None or (rel.shape[0] > 1 and not (rel[1:] > rel[:-1]).all()):
            return False
        visited = native.visit(None, rel, None, r, self.store.visited, 0, first_gid, None)
        if visited is None:
            return False
        new, src, iid, _, _ = visited
        self.store.append(new, src, iid, known=True)
        return True

    def rows(self, local: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """States at local positions: their words, parents (global numbers) and instances."""
        with self._lock:
            st = self.store
            return st.states[local].copy(), st.parent[local].copy(), st.action[local].copy()

    def usage(self) -> tuple[float, int, int]:
        """This worker's CPU seconds, resident and peak resident bytes (the bench reads them)."""
        t = os.times()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return t.user + t.system, rss_bytes() or 0, peak

    def numbered(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every numbered state: global numbers, words, parents, instances (gathering the graph)."""
        with self._lock:
            n = self.starts[len(self.bases)] if len(self.bases) < len(self.starts) else self.store.n
            gids = np.concatenate(
                [
                    np.arange(b, b + (self.starts[i + 1] if i + 1 < len(self.starts) else n) - self.starts[i])
                    for i, b in enumerate(self.bases)
                ]
                or [np.zeros(0, np.int64)]
            ).astype(np.int64)
            st = self.store
            return gids, st.states[:n].copy(), st.parent[:n].copy(), st.action[:n].copy()

"""Graph algorithms over `Edges` arrays: strongly connected components of induced subgraphs
(scipy's csgraph), reachability, first-occurrence breadth-first levels, and per-state
bitsets of the fair instances enabled. Everything is a whole-array numpy operation or a
scipy call; nothing loops over states in Python."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..edges import Edges

ROWS = 1 << 18  # states per chunk where an edge-sized temporary would otherwise be made
EDGE_CHUNK = 1 << 22  # transitions expanded at once by the breadth-first searches


def degrees(e: Edges) -> np.ndarray:
    return np.diff(e.offsets)


def gather(offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(entry positions, the index into `rows` each comes from) for the CSR rows `rows`, in
    the order of `rows`, then CSR order."""
    lo = offsets[rows]
    deg = offsets[rows + 1] - lo
    total = int(deg.sum())
    owner = np.repeat(np.arange(rows.shape[0], dtype=np.int64), deg)
    if total == 0:
        return np.zeros(0, dtype=np.int64), owner
    starts = np.cumsum(deg) - deg
    pos = np.arange(total, dtype=np.int64) - np.repeat(starts - lo, deg)
    return pos, owner


def pieces(offsets: np.ndarray, rows: np.ndarray, limit: int | None = None) -> list[tuple[int, int]]:
    """Bounds [a, b) cutting `rows` into consecutive pieces of about `limit` transitions at
    most (a row with more is a piece of its own): expanding a piece keeps temporaries bounded."""
    if rows.shape[0] == 0:
        return []
    limit = limit or EDGE_CHUNK
    cum = np.cumsum(offsets[rows + 1] - offsets[rows])
    if int(cum[-1]) <= limit:
        return [(0, rows.shape[0])]
    cuts = np.searchsorted(cum, np.arange(limit, int(cum[-1]), limit), side="right")
    bounds = np.unique(np.concatenate(([0], cuts, [rows.shape[0]]))).tolist()
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def first_occurrence(x: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each distinct value of x, in order of position
    (the order a FIFO queue that skips seen values would keep)."""
    if x.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    by = np.argsort(x, kind="stable")
    sx = x[by]
    head = np.empty(sx.shape[0], dtype=np.bool_)
    head[0] = True
    np.not_equal(sx[1:], sx[:-1], out=head[1:])
    return np.sort(by[head])


@dataclass
class Simple:
    """The transition relation without duplicate (source, successor) pairs, as a scipy CSR
    matrix with int32 indices where they fit: what csgraph gets. Duplicates must go: with
    float64 data, scipy's strong components give wrong answers or never return on them."""

    indptr: np.ndarray
    indices: np.ndarray
    self_loop: np.ndarray  # bool per state
    deadlock: np.ndarray  # bool per state: no transition at all (it stutters)

    @classmethod
    def of(cls, e: Edges) -> Simple:
        """Deduplicated a chunk of rows at a time into one preallocated index array: no
        edge-sized temporary beyond the result."""
        import scipy.sparse as sp

        n = e.states
        idx_t = np.int32 if n < 2**31 - 1 and e.transitions < 2**31 - 1 else np.int64
        indptr = np.zeros(n + 1, dtype=idx_t)
        indices = np.empty(e.transitions, dtype=idx_t)
        loop = np.zeros(n, dtype=np.bool_)
        filled = 0
        for lo in range(0, n, ROWS):
            hi = min(lo + ROWS, n)
            a, b = int(e.offsets[lo]), int(e.offsets[hi])
            part = sp.csr_array(
                (np.ones(b - a, dtype=np.int8), e.succ[a:b].astype(idx_t), (e.offsets[lo : hi + 1] - a).astype(idx_t)),
                shape=(hi - lo, n),
            )
            part.sum_duplicates()  # per-row sort in C: cheaper than a global sort of the keys
            k = part.indices.shape[0]
            indices[filled : filled + k] = part.indices
            indptr[lo + 1 : hi + 1] = filled + part.indptr[1:]
            rows = np.repeat(np.arange(lo, hi, dtype=idx_t), np.diff(part.indptr))
            loop[rows[part.indices == rows]] = True
            filled += k
        return cls(indptr, indices[:filled], loop, degrees(e) == 0)

    @property
    def states(self) -> int:
        return self.indptr.shape[0] - 1

    def induced(self, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(indptr, indices) of the subgraph induced by the states where keep is true (the
        others keep their numbers and lose their edges)."""
        n = self.states
        indptr, indices = self.indptr, self.indices
        out_ptr = np.zeros(n + 1, dtype=indptr.dtype)
        kept = np.empty(indices.shape[0], dtype=indices.dtype)  # filled in place: no concatenation
        filled = 0
        for lo in range(0, n, ROWS):
            hi = min(lo + ROWS, n)
            a, b = int(indptr[lo]), int(indptr[hi])
            tgt = indices[a:b]
            m = keep[tgt] & np.repeat(keep[lo:hi], np.diff(indptr[lo : hi + 1]))
            cs = np.concatenate(([0], np.cumsum(m, dtype=np.int64)))
            out_ptr[lo + 1 : hi + 1] = filled + cs[indptr[lo + 1 : hi + 1] - a]
            k = int(cs[-1])
            kept[filled : filled + k] = tgt[m]
            filled += k
        return out_ptr, kept[:filled]

    def components(self, keep: np.ndarray) -> np.ndarray:
        """Strong component labels of the subgraph induced by `keep` (states outside it are
        singletons)."""
        import scipy.sparse as sp
        from scipy.sparse.csgraph import connected_components

        n = self.states
        ptr, idx = self.induced(keep)
        ones = np.broadcast_to(np.float64(1.0), (idx.shape[0],))  # no float64 copy of the data
        g = sp.csr_array((ones, idx, ptr), shape=(n, n))
        _, labels = connected_components(g, directed=True, connection="strong")
        return labels.astype(np.int64, copy=False)


def reach(e: Edges, start: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """bool per state: reachable from `start` (states in `allowed`) through `allowed` states."""
    seen = np.zeros(e.states, dtype=np.bool_)
    front = start[allowed[start]]
    seen[front] = True
    while front.shape[0]:
        new = []
        for a, b in pieces(e.offsets, front):
            pos, _ = gather(e.offsets, front[a:b])
            v = e.succ[pos]
            v = v[allowed[v] & ~seen[v]]
            seen[v] = True
            new.append(v)
        v = np.concatenate(new)
        front = np.flatnonzero(_mark(e.states, v)) if v.shape[0] > e.states // 64 else np.unique(v)
    return seen


def _mark(n: int, v: np.ndarray) -> np.ndarray:
    m = np.zeros(n, dtype=np.bool_)
    m[v] = True
    return m


@dataclass
class FairBits:
    """Fair instances as bit positions, and per state the fair instances with a transition
    out of it (an instance that fails with a runtime error counts as disabled: the search
    reports the error as a `range` violation)."""

    bit: np.ndarray  # per instance: its bit, or -1 when it is not fair
    weak: np.ndarray  # words: the weakly fair instances
    strong: np.ndarray  # words: the strongly fair instances
    enabled: np.ndarray  # (states, words) uint64
    ids: list[int] = field(default_factory=list)  # bit -> instance id

    @property
    def words(self) -> int:
        return int(self.weak.shape[0])

    @classmethod
    def of(cls, e: Edges, fairness: list[str | None]) -> FairBits:
        ids = [i for i, f in enumerate(fairness) if f in ("weak", "strong")]
        words = max(1, (len(ids) + 63) // 64)
        bit = np.full(len(fairness), -1, dtype=np.int64)
        bit[ids] = np.arange(len(ids))
        weak = np.zeros(words, dtype=np.uint64)
        strong = np.zeros(words, dtype=np.uint64)
        for b, i in enumerate(ids):
            (weak if fairness[i] == "weak" else strong)[b // 64] |= np.uint64(1 << (b % 64))
        enabled = np.zeros((e.states, words), dtype=np.uint64)
        if ids:
            deg = degrees(e)
            for lo in range(0, e.states, ROWS):
                hi = min(lo + ROWS, e.states)
                a, b = int(e.offsets[lo]), int(e.offsets[hi])
                rows = np.repeat(np.arange(lo, hi, dtype=np.int64), deg[lo:hi])
                fb = bit[e.inst[a:b]]
                f = fb >= 0
                rows, fb = rows[f], fb[f]
                for w in range(words):
                    inw = fb // 64 == w
                    np.bitwise_or.at(
                        enabled[:, w], rows[inw], np.left_shift(np.uint64(1), (fb[inw] % 64).astype(np.uint64))
                    )
        return cls(bit, weak, strong, enabled, ids)

    def edge_bits(self, inst: np.ndarray) -> np.ndarray:
        """(edges, words) uint64: the bit of each edge's instance (0 when not fair)."""
        out = np.zeros((inst.shape[0], self.words), dtype=np.uint64)
        fb = self.bit[inst]
        f = np.flatnonzero(fb >= 0)
        out[f, fb[f] // 64] = np.left_shift(np.uint64(1), (fb[f] % 64).astype(np.uint64))
        return out

    def instances(self, words: np.ndarray) -> set[int]:
        """The instance ids of the bits set in `words`."""
        return {i for b, i in enumerate(self.ids) if int(words[b // 64]) >> (b % 64) & 1}

    def mask(self, insts: set[int]) -> np.ndarray:
        out = np.zeros(self.words, dtype=np.uint64)
        for i in insts:
            b = int(self.bit[i])
            out[b // 64] |= np.uint64(1 << (b % 64))
        return out

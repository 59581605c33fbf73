"""The state store of a search: k-word packed states in numpy columns with each state's
parent and action instance, and the hash set that tells which states are known. Read-only
views present the store as the Python ints traces, liveness and pictures read."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np

_WORD = (1 << 64) - 1
HASH_MUL = np.uint64(0x9E3779B97F4A7C15)  # the visited set's (the C kernels' `visit` copies row_hash)
EMPTY = np.uint64(_WORD)  # a free slot: its last word is all ones


def row_hash(x: np.ndarray, mul: np.uint64 = HASH_MUL) -> np.ndarray:
    """A 64-bit hash of each row of words, multiply and xor a word at a time (collisions are
    allowed: every user checks equality or only spreads rows). The visited set takes its top
    bits as a slot; other users pass their own multiplier, so their spread is independent."""
    h = x[:, 0] * mul
    for j in range(1, x.shape[1]):  # in place: no temporaries on millions of rows
        h ^= x[:, j]
        h *= mul
    return h  # type: ignore[no-any-return]


class Visited:
    """An open-addressing hash set of k-word states (rows of a (n, k) uint64 array), probed
    and filled a whole array at a time; with `values`, a map from each state to its BFS index
    (what recorded transitions need).

    A slot holds a whole row, so a probe fetches one cache line rather than one per word
    (a third less time on two words than a column per word). A free slot's last word is all
    ones, so a row whose last word is all ones cannot live in the table: such rows are kept
    aside in a dict (a packed state seldom fills its last word), and with one word and no
    values (the search's own set, 8 bytes a slot) the all-ones state is a flag."""

    def __init__(self, bits: int = 16, k: int = 1, values: bool = False) -> None:
        self.k, self.values = k, values
        self.last = k - 1
        self.flag_only = k == 1 and not values  # the fast path: the all-ones state is a flag
        self.has_empty = False
        self.aside: dict[tuple[int, ...], int] = {}  # rows whose last word is all ones -> value
        self._alloc(bits)
        self.count = 0

    def _alloc(self, bits: int) -> None:
        self.bits = bits
        self.mask = np.intp((1 << bits) - 1)
        self.table = np.zeros((1 << bits, self.k), dtype=np.uint64)
        self.table[:, self.last] = EMPTY
        self.vals = np.zeros(1 << bits, dtype=np.int64) if self.values else None
        # several words: which lane claims a free slot is decided in one 1-D write
        self.owner = np.zeros(1 << bits, dtype=np.int32) if self.k > 1 else None

    def _hash(self, x: np.ndarray) -> np.ndarray:
        """Each row's home slot, as intp: numpy gathers and scatters through uint64 indices
        about twice as slowly (it converts them on every use)."""
        h = row_hash(x)
        h >>= np.uint64(64 - self.bits)
        return h.view(np.intp)  # under 2^63 after the shift: the same numbers, no copy

    def _slots(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's slot, -1 where the row is not in the table; and where each probe ended
        (for a row not in the table: the free slot where `insert` would put it). No row's
        last word may be all ones."""
        h = self._hash(x)
        end = h.copy()
        t = np.take(self.table, h, axis=0)
        occ = t[:, self.last] != EMPTY
        eq = _rows_equal(t, x)  # a row is never all-ones at the end: equal means occupied
        res = np.where(eq, h, -1)
        go = occ & ~eq
        if go.any():  # collisions: probe on, for the few lanes that need it
            pend = np.flatnonzero(go)
            xs, h = np.take(x, pend, axis=0), (h[pend] + 1) & self.mask
            while pend.size:
                end[pend] = h
                t = np.take(self.table, h, axis=0)
                eq = _rows_equal(t, xs)
                res[pend[eq]] = h[eq]
                go = (t[:, self.last] != EMPTY) & ~eq
                pend, h = pend[go], (h[go] + 1) & self.mask
                xs = np.compress(go, xs, axis=0)
        return res, end

    def contains(self, x: np.ndarray) -> np.ndarray:
        return self.probe(x)[0]

    def probe(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether each row is in the set, and for a row that is not, the free slot its probe
        ended at: a hint for `insert` (it saves hashing and probing again), good until the
        next insert."""
        if self.flag_only:
            return self._contains1(np.ascontiguousarray(x[:, 0]))
        slot, end = self._split(x)
        return slot != -1, end

    def lookup(self, x: np.ndarray) -> np.ndarray:
        """Each row's value (a map with `values`), -1 where the row is not in it."""
        return self.probe_values(x)[0]

    def probe_values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`lookup`, and where each probe ended (as `probe`)."""
        assert self.vals is not None
        slot, end = self._split(x)
        vals = np.where(slot >= 0, self.vals[np.maximum(slot, 0)], -1)
        aside = np.flatnonzero(slot == -2)
        if aside.size:
            vals[aside] = [self.aside[tuple(r)] for r in x[aside].tolist()]
        return vals, end

    def _split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`_slots` for the rows the table can hold; -2 for a row kept aside, -1 if absent."""
        side = x[:, self.last] == EMPTY
        if not side.any():
            return self._slots(x)
        slot = np.full(x.shape[0], -1, dtype=np.intp)
        end = np.zeros(x.shape[0], dtype=np.intp)
        inside = np.flatnonzero(~side)
        slot[inside], end[inside] = self._slots(np.take(x, inside, axis=0))
        outside = np.flatnonzero(side)
        slot[outside] = [-2 if tuple(r) in self.aside else -1 for r in x[outside].tolist()]
        return slot, end

    def _contains1(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keys = self.table[:, 0]
        h = self._hash(x[:, None])
        end = h.copy()
        t = keys[h]
        res = t == x
        go = ~res & (t != EMPTY)
        if go.any():  # collisions: probe on, for the few lanes that need it
            pend = np.flatnonzero(go)
            xs, h = x[pend], (h[pend] + 1) & self.mask
            while pend.size:
                end[pend] = h
                t = keys[h]
                hit = t == xs
                res[pend[hit]] = True
                go = ~(hit | (t == EMPTY))
                pend, xs, h = pend[go], xs[go], (h[go] + 1) & self.mask
        if self.has_empty:
            res |= x == EMPTY
        else:
            res &= x != EMPTY  # an empty slot "holds" the all-ones word
        return res, end

    def insert(self, x: np.ndarray, vals: np.ndarray | None = None, at: np.ndarray | None = None) -> None:
        """Add distinct rows that are not in the set yet (with their values, for a map). `at`:
        where each row's probe ended (`probe`), when nothing was inserted since."""
        if self.values:
            assert vals is not None
        if not self.flag_only:
            side = x[:, self.last] == EMPTY
            if side.any():
                out = np.flatnonzero(side)
                vs = vals[out].tolist() if vals is not None else [0] * out.size
                self.aside.update(zip(map(tuple, x[out].tolist()), vs, strict=True))
                self.count += out.size
                keep = np.flatnonzero(~side)
                x = np.take(x, keep, axis=0)
                vals = None if vals is None else vals[keep]
                at = None if at is None else at[keep]
        self._insert(x, vals, at)

    def kept_aside(self, x: np.ndarray) -> bool:
        """Is a row among these one the table cannot hold (its last word all ones)?"""
        return bool(x.shape[0]) and bool((x[:, self.last] == EMPTY).any())

    def reserve(self, m: int, place: Callable[[np.ndarray, np.ndarray | None, Visited], None]) -> None:
        """Grow the table now if m more rows would fill it past half (for `Native.visit`,
        which inserts without growing); `place(old table, old values, self)` moves the old
        table's rows into the new one."""
        if (self.count + m) * 2 <= 1 << self.bits:
            return
        old, old_vals = self.table, self.vals
        self._alloc(self._bits_for(self.count + m))
        place(old, old_vals, self)

    def _insert(self, x: np.ndarray, vals: np.ndarray | None, at: np.ndarray | None = None) -> None:
        n = x.shape[0]
        if (self.count + n) * 2 > 1 << self.bits:
            return self._grow(x, vals)  # the hints were for the old table
        self.count += n
        # a row's probe ended at a free slot, so it starts there: only rows that claim the
        # same slot probe on
        self._claim(x, vals, at)
        return None

    def _claim(self, x: np.ndarray, vals: np.ndarray | None, h: np.ndarray | None) -> None:
        """Put distinct rows, each probing from slot h on (its home when None), into the table."""
        if self.flag_only:
            return self._insert1(np.ascontiguousarray(x[:, 0]), h)
        if h is None:
            h = self._hash(x)
        lanes = np.arange(x.shape[0], dtype=np.int32)
        lastcol = self.table[:, self.last]
        while h.size:
            free = np.flatnonzero(lastcol[h] == EMPTY)
            hf = h[free]
            if self.owner is None:  # one word: the key that lands in the slot is the owner
                lastcol[hf] = x[free, 0]
                won = free[lastcol[hf] == x[free, 0]]
            else:  # one owner per slot gets the whole row; the others probe on
                self.owner[hf] = lanes[free]
                won = free[self.owner[hf] == lanes[free]]
                np.put(_as_void(self.table), h[won], _as_void(np.take(x, won, axis=0)))
            if self.vals is not None and vals is not None:
                self.vals[h[won]] = vals[won]
            lost = np.ones(h.shape[0], dtype=np.bool_)
            lost[won] = False
            go = np.flatnonzero(lost)
            x, h, lanes = np.take(x, go, axis=0), (h[go] + 1) & self.mask, lanes[go]
            if vals is not None:
                vals = vals[go]
        return None

    def _insert1(self, x: np.ndarray, at: np.ndarray | None = None) -> None:
        ones = x == EMPTY
        if ones.any():
            self.has_empty = True
            x = x[~ones]
            at = None if at is None else at[~ones]
        keys = self.table[:, 0]
        h = self._hash(x[:, None]) if at is None else at
        while x.size:
            free = keys[h] == EMPTY
            keys[h[free]] = x[free]  # several may claim one slot: one wins, the others probe on
            go = keys[h] != x
            x, h = x[go], (h[go] + 1) & self.mask

    def _bits_for(self, rows: int) -> int:
        """The table size (bits) that holds `rows` at most half full, never smaller than now."""
        bits = self.bits
        while rows * 2 > 1 << bits:
            bits += 1
        return bits

    def _grow(self, x: np.ndarray, vals: np.ndarray | None) -> None:
        occ = self.table[:, self.last] != EMPTY
        old = np.compress(occ, self.table, axis=0)
        old_vals = self.vals[occ] if self.vals is not None else None
        count = self.count
        bits = self._bits_for(count + x.shape[0])
        # free the old table before the new one is filled with free slots (which touches all
        # of it): only the copies of its rows remain
        del occ
        self.table, self.vals, self.owner = np.zeros((0, self.k), dtype=np.uint64), None, None
        self._alloc(bits)
        if self.flag_only:  # one word: claims cost less than sorting (one scatter, one check)
            self._claim(old, None, None)
        else:
            self._place(old, old_vals)
        self.count = count  # the rows aside and the all-ones flag stay as they were
        del old, old_vals
        self._insert(x, vals)

    def _place(self, x: np.ndarray, vals: np.ndarray | None) -> None:
        """Put distinct rows into the empty new table at once, where inserting them one by one
        in the order of their home slots would: the i-th of them (in that order) lands at
        max(its home, where the one before landed + 1), a running maximum. Rows pushed past the
        table's end wrap around through the claim loop. Growing a table of several words (or
        values) this way costs a sort of nearly sorted homes instead of rounds of claims,
        which took a quarter of a two-word search's time."""
        h = self._hash(x)
        order = np.argsort(h, kind="stable")  # the old table's order: nearly sorted already
        hs = h[order]
        del h
        i = np.arange(hs.shape[0], dtype=np.intp)
        pos = hs - i
        np.maximum.accumulate(pos, out=pos)
        pos += i
        del i
        fit = int(np.searchsorted(pos, self.mask, side="right"))  # pos is increasing
        put = order[:fit]
        np.put(_as_void(self.table), pos[:fit], _as_void(np.take(x, put, axis=0)))
        if self.vals is not None and vals is not None:
            self.vals[pos[:fit]] = vals[put]
        if fit < order.shape[0]:
            rest = order[fit:]
            self._claim(np.take(x, rest, axis=0), None if vals is None else vals[rest], hs[fit:])


def _as_void(rows: np.ndarray) -> np.ndarray:
    """(n, k) words as n opaque k-word items: numpy scatters those several times faster than
    it assigns rows through an index array."""
    rows = np.ascontiguousarray(rows)
    return rows.view(np.dtype((np.void, 8 * rows.shape[1]))).reshape(rows.shape[0])


def _rows_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    eq = a[:, 0] == b[:, 0]
    for j in range(1, a.shape[1]):
        eq &= a[:, j] == b[:, j]
    return eq  # type: ignore[no-any-return]


def to_words(states: list[int], k: int) -> np.ndarray:
    """Packed states (Python ints) as rows of k 64-bit words, least significant word first."""
    if k == 1:
        return np.array(states, dtype=np.uint64).reshape(len(states), 1)
    out = np.zeros((len(states), k), dtype=np.uint64)
    for j in range(k):
        out[:, j] = [(s >> (64 * j)) & _WORD for s in states]
    return out


def ints_of(S: np.ndarray) -> list[int]:
    """Rows of words as packed states (Python ints)."""
    if S.shape[1] == 1:
        return S[:, 0].tolist()  # type: ignore[no-any-return]
    out = S[:, 0].tolist()
    for j in range(1, S.shape[1]):
        out = [a | (b << (64 * j)) for a, b in zip(out, S[:, j].tolist(), strict=True)]
    return out  # type: ignore[no-any-return]


def to_int(row: np.ndarray) -> int:
    """One row of words as the packed state (a Python int)."""
    v = 0
    for j, w in enumerate(row.tolist()):
        v |= int(w) << (64 * j)
    return v


class Ints:
    """A read-only view of the first `n` entries of a numpy array as Python ints."""

    def __init__(self, arr: np.ndarray, n: int) -> None:
        self.arr, self.n = arr, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(i)
        return self._at(i)

    def _at(self, i: int) -> int:
        return int(self.arr[i])

    def __iter__(self) -> Iterator[int]:
        return iter(self.arr[: self.n].tolist())


class Packed(Ints):
    """The first `n` rows of a (cap, k) word array as packed states (Python ints)."""

    def _at(self, i: int) -> int:
        return to_int(self.arr[i])

    def __iter__(self) -> Iterator[int]:
        return iter(ints_of(self.arr[: self.n]))


class Index(Mapping[int, int]):
    """state -> BFS position: a binary search in a sorted copy (one word), a dict (more),
    built on first use."""

    def __init__(self, states: np.ndarray) -> None:
        self.states = states  # (n, k)
        self._order: np.ndarray | None = None
        self._dict: dict[int, int] | None = None

    def _lookup(self, s: int) -> int:
        if self.states.shape[1] > 1:
            if self._dict is None:
                self._dict = {v: i for i, v in enumerate(Packed(self.states, self.states.shape[0]))}
            return self._dict.get(s, -1)
        if self._order is None:
            self._order = np.argsort(self.states[:, 0], kind="stable")
            self._sorted = self.states[self._order, 0]
        if not 0 <= s < 1 << 64:
            return -1
        k = int(np.searchsorted(self._sorted, np.uint64(s)))
        if k < self._sorted.shape[0] and int(self._sorted[k]) == s:
            return int(self._order[k])
        return -1

    def __getitem__(self, s: int) -> int:
        i = self._lookup(s)
        if i < 0:
            raise KeyError(s)
        return i

    def __contains__(self, s: object) -> bool:
        return isinstance(s, int) and self._lookup(s) >= 0

    def __len__(self) -> int:
        return int(self.states.shape[0])

    def __iter__(self) -> Iterator[int]:
        return iter(Packed(self.states, self.states.shape[0]))


class Store:
    """States in discovery (BFS) order: an (n, k) word array, parent index and instance id
    per state (-1 for initial states), grown by doubling; `visited` knows every stored state
    (and its number, when transitions are recorded)."""

    def __init__(self, k: int, numbered: bool) -> None:
        self.k, self.numbered = k, numbered
        self.cap = 1 << 16
        self.states = np.zeros((self.cap, k), dtype=np.uint64)
        self.parent = np.zeros(self.cap, dtype=np.int64)
        self.action = np.zeros(self.cap, dtype=np.int32)
        self.n = 0
        self.visited = Visited(k=k, values=numbered)

    def append(
        self, new: np.ndarray, src: np.ndarray, iid: np.ndarray, at: np.ndarray | None = None, known: bool = False
    ) -> None:
        """Add distinct states that are not stored yet (`at`: as `Visited.insert`; `known`:
        the visited set has them already, with their numbers)."""
        m = new.shape[0]
        if self.n + m > self.cap:
            while self.n + m > self.cap:
                self.cap *= 2
            for name in ("states", "parent", "action"):
                old = getattr(self, name)
                arr = np.zeros((self.cap, *old.shape[1:]), dtype=old.dtype)
                arr[: self.n] = old[: self.n]
                setattr(self, name, arr)
        self.states[self.n : self.n + m] = new
        self.parent[self.n : self.n + m] = src
        self.action[self.n : self.n + m] = iid
        self.n += m
        if not known:
            self.visited.insert(new, np.arange(self.n - m, self.n, dtype=np.int64) if self.numbered else None, at)

    def views(self) -> tuple[Ints, Ints, Ints, Index]:
        """states, parents, instances and the state -> number map, as the readers want them;
        one word: a 1-D array of the states, as readers of `states.arr` (liveness) expect."""
        states = self.states[: self.n]
        as_ints = Ints(states[:, 0], self.n) if self.k == 1 else Packed(states, self.n)
        return as_ints, Ints(self.parent, self.n), Ints(self.action, self.n), Index(states)

"""What the driver takes back from the partitions after a search: the states on the
counterexample traces (walking parent pointers from partition to partition), or, where the
graph must be whole (liveness, the report's pictures), every numbered state in global order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from model.ground import Ground

from ..codegen import Compiled
from ..search.exploration import Exploration
from ..search.store import Index, Ints, Packed, to_int
from .levels import Book, get


class Known:
    """The few states a trace needs, by global number, with the count of every state (what
    the verdicts report) as its length."""

    def __init__(self, values: dict[int, int], total: int) -> None:
        self.values, self.total = values, total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, i: int) -> int:
        return self.values[i]

    def __iter__(self) -> Iterator[int]:
        raise TypeError("a distributed search keeps its states in the partitions")


def traces(ray: Any, actors: list[Any], book: Book, gm: Ground, comp: Compiled, targets: list[int]) -> Exploration:
    """An exploration that knows the states on the paths from the initial states to `targets`:
    one round of calls per step back, each partition asked for the states it holds."""
    states: dict[int, int] = {}
    parent: dict[int, int] = {}
    action: dict[int, int] = {}
    todo = sorted({t for t in targets if t >= 0})
    while todo:
        where: dict[int, list[tuple[int, int]]] = {}
        for gid in todo:
            p, local = book.locate(gid)
            where.setdefault(p, []).append((gid, local))
        asked = {p: actors[p].rows.remote(np.array([lo for _, lo in xs], dtype=np.int64)) for p, xs in where.items()}
        nxt: set[int] = set()
        for p, ref in asked.items():
            words, par, act = get(ray, ref)
            for (gid, _), w, pa, a in zip(where[p], words, par.tolist(), act.tolist(), strict=True):
                states[gid], parent[gid], action[gid] = to_int(w), int(pa), int(a)
                if pa >= 0 and pa not in states:
                    nxt.add(int(pa))
        todo = sorted(nxt)
    ex = Exploration(gm, comp)
    ex.states = Known(states, book.total)  # type: ignore[assignment]
    ex.parent, ex.action = parent, action  # type: ignore[assignment]
    return ex


def gather(ray: Any, actors: list[Any], book: Book, gm: Ground, comp: Compiled, k: int) -> Exploration:
    """Every numbered state in global (BFS) order, with parents and instances: the exploration
    a single-process search would hold, on this machine."""
    n = book.total
    words = np.zeros((n, k), dtype=np.uint64)
    parent = np.zeros(n, dtype=np.int64)
    action = np.zeros(n, dtype=np.int32)
    for ref in [a.numbered.remote() for a in actors]:
        gids, w, pa, ac = get(ray, ref)
        words[gids], parent[gids], action[gids] = w, pa, ac
    ex = Exploration(gm, comp)
    ex.states = Ints(words[:, 0], n) if k == 1 else Packed(words, n)  # type: ignore[assignment]
    ex.parent, ex.action, ex.index = Ints(parent, n), Ints(action, n), Index(words)  # type: ignore[assignment]
    return ex

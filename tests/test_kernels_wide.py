"""Bitmaps wider than 62 bits in the numpy kernels (checker/kernels_wide.py): the limb
helpers against Python integers, and whole searches on 100- and 130-bit specs against the
single-state path (state counts, verdicts, traces, runtime errors), with the kernels
deciding every lane that cannot fail themselves."""

from __future__ import annotations

import random

import numpy as np
import pytest

from checker import kernels_wide as kw
from checker.kernels import compile_kernels, words
from checker.search import explore
from checker.search.backends import successors_and_error
from checker.search.store import ints_of, to_words
from model import build_model, spec_from_text
from model.typed import Model
from tests.test_frontier import assert_same

WIDTHS = [63, 64, 65, 100, 128, 130, 300]


def values(w: int, seed: int) -> list[int]:
    """Bitmaps of width w: empty, full, single bits at limb edges, random ones."""
    rng = random.Random(seed)
    edges = [b for b in (0, 1, 62, 63, 64, 65, 127, 128, 129, w - 1) if b < w]
    out = [0, (1 << w) - 1, *(1 << b for b in edges)]
    out += [rng.getrandbits(w) for _ in range(20)]
    out += [rng.getrandbits(w) & ~((1 << rng.randrange(w)) - 1) for _ in range(10)]  # high bits only
    return out


def as_limbs(xs: list[int], w: int) -> np.ndarray:
    return np.array([kw.limbs_of(x, w) for x in xs], dtype=np.uint64).reshape(len(xs), kw.limbs(w))


def as_ints(a: np.ndarray) -> list[int]:
    return [sum(int(v) << (64 * k) for k, v in enumerate(row)) for row in np.atleast_2d(a)]


@pytest.mark.parametrize("w", WIDTHS)
def test_helpers_match_python_integers(w: int) -> None:
    xs = values(w, w)
    m = as_limbs(xs, w)
    assert kw._wpopcount(m).tolist() == [x.bit_count() for x in xs]
    assert kw._wlowest(m, w).tolist() == [(x & -x).bit_length() - 1 if x else w for x in xs]
    assert kw._whighest(m).tolist() == [x.bit_length() - 1 for x in xs]  # -1 for the empty bitmap
    ks = np.array([(7 * j) % (w + 1) for j in range(len(xs))] + [0, w], dtype=np.int64)
    assert as_ints(kw._wlowbits(ks, kw.limbs(w))) == [(1 << int(k)) - 1 for k in ks]
    bits = np.array([(13 * j + 5) % w for j in range(len(xs))], dtype=np.int64)
    assert as_ints(kw._wbit(bits, kw.limbs(w))) == [1 << int(b) for b in bits]
    assert kw._wtest(m, bits).tolist() == [(x >> int(b)) & 1 == 1 for x, b in zip(xs, bits, strict=True)]
    # a constant row against lane indices, and lanes against one index
    row = m[len(xs) - 1]
    assert kw._wtest(row, bits).tolist() == [(xs[-1] >> int(b)) & 1 == 1 for b in bits]
    assert kw._wtest(m, np.int64(w - 1)).tolist() == [(x >> (w - 1)) & 1 == 1 for x in xs]
    assert as_ints(kw._wlowbits(np.int64(w), kw.limbs(w))) == [(1 << w) - 1]


@pytest.mark.parametrize(("offset", "w"), [(0, 100), (3, 100), (61, 130), (64, 64), (5, 63), (1, 300)])
def test_decode_and_encode_across_words(offset: int, w: int) -> None:
    k = (offset + w + 63) // 64 + 1  # one spare word after the field
    rng = random.Random(offset * 1000 + w)
    states = [rng.getrandbits(64 * k) for _ in range(50)]
    S = to_words(states, k)
    env = {f"W{j}": S[:, j] for j in range(k)}
    got = eval(kw.decode_field(offset, w), {"np": np}, env)  # the generated code under test
    assert as_ints(got) == [(s >> offset) & ((1 << w) - 1) for s in states]
    # the new value as pieces of at most 64 bits at their state offsets (the word writes place them)
    new = [rng.getrandbits(w) for _ in states]
    pieces = kw.field_pieces(offset, w, "n")
    assert sum(bits for _, bits, _ in pieces) == w and pieces[0][0] == offset
    for pos, bits, code in pieces:
        val = eval(code, {"np": np}, {"n": as_limbs(new, w)})
        assert val.tolist() == [(v >> (pos - offset)) & ((1 << bits) - 1) for v in new]


# bits set through indices across the limb edge (61..65 of 0..63 | 64..99), empty bitmaps
# again after drops; two rare runtime errors (bit 102, a bit test at 100): the kernels decide
# every other lane
WIDE100 = """
protocol wide100
var x : 0 .. 4 = 0
var m : bitmap(100) = {}
var n : bitmap(100) = {99}
var h : -1 .. 99 = -1
var l : 0 .. 100 = 100
action put(d : 0 .. 2) when x < 4 {
  x := x + 1
  m := m | {d * 32 + x + 29}
}
action over when x == 3 and popcount(m) == 3 { m := m | {x * 34} }
action drop(b : 0 .. 1) when m[b * 32 + x + 29] or popcount(m) > 3 {
  m[lowest(m)] := false
}
action snap when h != highest(m) {
  h := highest(m)
  l := lowest(m)
  n := ~m & lowbits(popcount(m) * 20)
}
action probe when n[h + 3] and m != {} and l < 100 { l := 100 }
invariant few: popcount(m) <= 3
invariant apart: m & n == {} or h == -1
reachable top: highest(m) >= 96
reachable edge: m[63] and m[64]
reachable empty: m == {} and h == -1 and l == 100 and x > 0
allow deadlock
"""

# an array of 130-bit bitmaps read and written through dynamic indices, if statements,
# whole-value selects, lowbits past the width
WIDE130 = """
protocol wide130
var j : 0 .. 2 = 0
var k : 0 .. 132 = 0
var bm : [0 .. 1] bitmap(130)
var z : bool = false
action bump(s : 1 .. 3) when k + s * 44 <= 132 and not z { k := k + s * 44 }
action back when k > 0 { k := k - 44 }
action setbit(v : 0 .. 1) when j < 2 and popcount(bm[v]) < 2 {
  bm[v][(k + v * 85) % 135] := not bm[v][(k + v * 85) % 135]
  j := j + 1
}
action copy when j == 2 {
  if bm[0] subseteq bm[1] {
    bm[0] := lowbits(k) & bm[1]
  } else {
    bm[1] := if z then bm[0] else ~bm[1]
  }
  j := 0
}
action pick(v : 0 .. 1) when bm[v] != {} and not z {
  z := popcount(bm[v]) + highest(bm[(v + 1) % 2]) > 129
}
invariant same: bm[0] == bm[1] or j > 0 or k > 0
reachable full: popcount(bm[1]) > 125
allow deadlock
"""


def kernels_agree(model: Model) -> tuple[int, int]:
    """Every reachable state through the kernels at once: the lanes they decide themselves
    give exactly the compiled successors; returns (lanes, lanes sent to the exact path)."""
    res, ex = explore(model, kernel="single")
    comp = ex.compiled
    kern = compile_kernels(ex.ground, comp.layout)
    S = to_words(ex.states, words(comp.layout))
    lane_err, _, _, outs = kern.successors(S)
    got: dict[int, list[tuple[int, int]]] = {lane: [] for lane in range(len(ex.states))}
    for iid, idx, nxt in outs:
        for lane, s in zip(idx.tolist(), ints_of(nxt), strict=True):
            got[lane].append((iid, s))
    for lane, s in enumerate(ex.states):
        succ, err = successors_and_error(comp, s)
        if err is not None:
            assert lane_err[lane], f"lane {lane}: {err} not flagged"
        if not lane_err[lane]:
            assert sorted(got[lane]) == sorted(succ), lane
    return len(ex.states), int(lane_err.sum())


def test_wide100_same_as_single() -> None:
    model = build_model(spec_from_text(WIDE100, "wide100.plug"))
    got = assert_same(model)
    assert got[0] == 2187 == explore(model, kernel="reference")[0].states
    props = {p[0]: (p[2], len(p[3].steps) - 1 if p[3] is not None else None) for p in got[6]}
    assert props == {
        "few": ("violated", 4),
        "apart": ("violated", 4),
        "top": ("holds", 3),
        "edge": ("holds", 3),
        "empty": ("holds", 2),
        "range": ("violated", 4),  # `over` sets bit 102 of a 100-bit bitmap
    }
    lanes, deferred = kernels_agree(model)
    assert lanes == 2187 and 0 < deferred < lanes // 10


def test_wide130_same_as_single() -> None:
    model = build_model(spec_from_text(WIDE130, "wide130.plug"))
    got = assert_same(model)
    assert got[0] == 1556 == explore(model, kernel="reference")[0].states
    props = {p[0]: (p[2], len(p[3].steps) - 1 if p[3] is not None else None) for p in got[6]}
    assert props == {"same": ("violated", 3), "full": ("holds", 3), "range": ("violated", 2)}
    lanes, deferred = kernels_agree(model)
    assert lanes == 1556 and 0 < deferred < lanes // 5

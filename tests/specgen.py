"""The one random-spec generator the tests share.

`generate(seed)` (plain `random`, for seeded loops) and `random_spec()` (a hypothesis
strategy, for shrinking) build the same language: integer ranges, bools, enums, bitmaps of
1-300 bits, arrays of integers and of bitmaps, dynamic array and bit indices in and out of
range (negative and past the top, in every word of a wide bitmap), `/` and `%` by values that
may be zero and by powers of two, `lowest`/`highest`/`popcount`/`lowbits`, lets with
parameters, action-local lets, `if` statements, invariants and reachables. The packed state
takes 1 to 6 64-bit words. The reachable state spaces stay small (bits are set through small
indices), so every backend explores them completely in milliseconds.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st

X = TypeVar("X")

WIDTHS = (1, 2, 3, 4, 5, 8, 31, 62, 63, 64, 65, 100, 127, 128, 129, 200, 255, 300)


class Chooser:
    """Where the choices come from: a seeded `random.Random` or a hypothesis draw."""

    def __init__(self, rng: random.Random | None = None, draw: Callable[[Any], Any] | None = None) -> None:
        self.rng, self.draw = rng, draw

    def pick(self, xs: Sequence[X]) -> X:
        if self.draw is not None:
            return self.draw(st.sampled_from(list(xs)))  # type: ignore[no-any-return]
        assert self.rng is not None
        return self.rng.choice(list(xs))

    def int(self, lo: int, hi: int) -> int:
        if self.draw is not None:
            return self.draw(st.integers(lo, hi))  # type: ignore[no-any-return]
        assert self.rng is not None
        return self.rng.randint(lo, hi)

    def coin(self, p: float = 0.5) -> bool:
        if self.draw is not None:
            return self.draw(st.integers(0, 99)) < int(p * 100)  # type: ignore[no-any-return]
        assert self.rng is not None
        return self.rng.random() < p


class _Spec:
    """One spec's declarations, and expressions over them."""

    def __init__(self, c: Chooser) -> None:
        self.c = c
        self.xmax = c.int(2, 4)
        self.w = c.pick(WIDTHS)  # the width of `m`
        room = 6 * 64 - self.w - 16
        self.arrays = c.coin(0.5)  # a : [0 .. 1] 0 .. 2
        self.bm_n = c.pick([0, 0, 1, 2])  # bm : [0 .. bm_n - 1] bitmap(v)
        self.v = c.pick([w for w in WIDTHS if w * max(self.bm_n, 1) <= room]) if self.bm_n else 0
        self.enum = c.coin(0.6)
        self.has_y = c.coin(0.5)
        self.has_f = c.coin(0.5)
        self.lets: list[str] = []
        self.n_lets = 0  # action-local lets, numbered so that no name is defined twice

    # ---- leaves
    def small(self) -> str:
        """A small integer that may be negative or just past a bound."""
        opts = ["0", "1", "2", "x", "(x - 1)", "(x + 1)", "$p"]
        if self.has_y:
            opts += ["y", "(x + y)", "(y - x)"]
        return self.c.pick(opts)

    def bit_index(self, w: int) -> str:
        """An index into a w-bit bitmap: in range mostly, out of range (below 0, past the top) at times,
        near the top of wide bitmaps too (bits in the last word)."""
        base = self.small()
        k = self.c.pick([0, 0, 0, w - 2, w // 2, 63, 64])
        if k <= 0 or k >= w + 2:
            return base
        return f"({base} + {k})"

    def array_index(self) -> str:
        return self.c.pick(["0", "1", "x", "(x - 1)", "(x - 2)", "$p", "(x / 2)"] + (["y"] if self.has_y else []))

    # ---- expressions
    def int_e(self, d: int) -> str:
        c = self.c
        leaves = [self.small(), "popcount(m)", "lowest(m)", "highest(m)", "lowest(~m)"]
        if self.arrays:
            leaves.append(f"a[{self.array_index()}]")
        if self.bm_n:
            leaves += [f"popcount(bm[{self.array_index()}])", f"highest(bm[{self.array_index()}])"]
        if self.lets:
            leaves += [f"lp({c.pick(['0', '1', '2', '$p'])})"]
        if d <= 0 or c.coin(0.35):
            return c.pick(leaves)
        kind = c.pick([0, 0, 0, 1, 2, 2, 3, 3, 4, 4, 5, 6])  # a divider by a variable is costly for z3: rarer
        if kind == 0:
            return f"({self.int_e(d - 1)} {c.pick(['+', '-', '*'])} {self.int_e(d - 1)})"
        if kind == 1:  # by a value that may be zero
            return f"({self.int_e(d - 1)} {c.pick(['/', '%'])} {self.small()})"
        if kind == 2:  # by a power of two (a shift and a mask in the symbolic encoding)
            return f"({self.int_e(d - 1)} {c.pick(['/', '%'])} {c.pick(['1', '2', '4', '8', '64'])})"
        if kind == 3:
            return f"{c.pick(['min', 'max'])}({self.int_e(d - 1)}, {self.int_e(d - 1)})"
        if kind == 4:
            return f"(if {self.bool_e(d - 1)} then {self.int_e(d - 1)} else {self.int_e(d - 1)})"
        if kind == 5:
            body = self.bool_e(d - 1).replace("$p", "i")
            return f"count(i : 0 .. 2. {body})"
        return f"sum(i : 0 .. 1. {self.int_e(d - 1).replace('$p', 'i')})"

    def bool_e(self, d: int) -> str:
        c = self.c
        leaves = [
            "true",
            f"m[{self.bit_index(self.w)}]",
            f"{self.bit_index(self.w)} in m",
            f"x in {{{c.pick(['0', '1, 3', '2'])}}}",
            "m subseteq lowbits(3)" if self.w >= 3 else "m == {}",
        ]
        if self.enum:
            leaves += [f"e == {c.pick('ABC')}", "e in {B, C}"]
        if self.has_f:
            leaves.append("f")
        if self.bm_n:
            leaves.append(f"bm[{self.array_index()}][{self.bit_index(self.v)}]")
        if self.lets:
            leaves.append(f"lb({c.pick(['0', '1', '2', '$p'])})")
        if d <= 0 or c.coin(0.3):
            return c.pick(leaves)
        kind = c.int(0, 3)
        if kind == 0:
            return f"{self.int_e(d - 1)} {c.pick(['==', '!=', '<', '<=', '>', '>='])} {self.int_e(d - 1)}"
        if kind == 1:
            return f"not ({self.bool_e(d - 1)})"
        if kind == 2:
            return f"({self.bool_e(d - 1)} {c.pick(['and', 'or', 'implies'])} {self.bool_e(d - 1)})"
        return f"m[{self.int_e(d - 1)}]"

    def bits_e(self, target: str, w: int) -> str:
        c = self.c
        i = self.bit_index(w)
        return c.pick(
            [
                target,
                "{}",
                f"{{{i}}}",
                f"({target} | {{{i}}})",
                f"({target} & ~{{{i}}})",
                f"lowbits({self.small()})",
                f"({target} & lowbits({self.int_e(1)}))",
                f"~{target}",
            ]
        )

    # ---- statements
    def stmt(self, d: int) -> str:
        c = self.c
        kind = c.int(0, 9)
        if kind == 0:
            return f"x := {self.int_e(2)}"
        if kind == 1 and self.has_y:
            return f"y := {self.int_e(1)}"
        if kind == 2:
            return f"m := {self.bits_e('m', self.w)}"
        if kind == 3:
            return f"m[{self.bit_index(self.w)}] := {self.bool_e(1)}"
        if kind == 4 and self.arrays:
            return f"a[{self.array_index()}] := {self.int_e(1)}"
        if kind == 5 and self.bm_n:
            k = self.array_index()
            return c.pick(
                [
                    f"bm[{k}] := {self.bits_e(f'bm[{k}]', self.v)}",
                    f"bm[{k}][{self.bit_index(self.v)}] := {self.bool_e(1)}",
                ]
            )
        if kind == 6 and self.enum:
            return f"e := {c.pick('ABC')}"
        if kind == 7 and self.has_f:
            return f"f := {self.bool_e(2)}"
        if kind == 8 and d > 0:
            return f"if {self.bool_e(1)} {{ {self.stmt(d - 1)} }} else {{ {self.stmt(d - 1)} }}"
        if kind == 9:
            self.n_lets += 1
            return f"let k{self.n_lets} = {self.int_e(1)}\n  x := k{self.n_lets}"
        return c.pick(["x := x + 1", "x := x - 1", "m := m | {x}"])

    def text(self) -> str:
        c = self.c
        lines = ["protocol random"]
        if self.enum:
            lines.append("enum E { A, B, C }")
        lines.append(f"var x : 0 .. {self.xmax}" + c.pick(["", " = any", " = 1"]))
        if self.has_y:
            lines.append("var y : -1 .. 2 = " + c.pick(["0", "any"]))
        lines.append(f"var m : bitmap({self.w})" + c.pick(["", " = {}", " = {0}"]))
        if self.enum:
            lines.append("var e : E" + c.pick(["", " = any"]))
        if self.has_f:
            lines.append("var f : bool" + c.pick(["", " = any"]))
        if self.arrays:
            lines.append("var a : [0 .. 1] 0 .. 2")
        if self.bm_n:
            lines.append(f"var bm : [0 .. {self.bm_n - 1}] bitmap({self.v})")
        if c.coin(0.4):
            lb = self.bool_e(1).replace("$p", "i")
            lp = self.int_e(1).replace("$p", "i")
            lines += [f"let lb(i : 0 .. 2) = {lb}", f"let lp(i : 0 .. 2) = {lp}"]
            self.lets = ["lb", "lp"]
        for k in range(c.int(1, 4)):
            params = c.pick(["", "", "(p : 0 .. 2)"])
            guard = c.pick(["true", f"x < {self.xmax}", self.bool_e(2)])
            body = "\n  ".join(self.stmt(1) for _ in range(c.int(1, 3)))
            sub = "p" if params else "0"
            lines.append(f"action act{k}{params} when {guard.replace('$p', sub)} {{\n  {body.replace('$p', sub)}\n}}")
        for k in range(c.int(0, 2)):
            lines.append(f"invariant inv{k}: {self.bool_e(2).replace('$p', '1')}")
        if c.coin(0.4):
            lines.append(f"reachable goal: {self.bool_e(2).replace('$p', '2')}")
        if c.coin(0.5):
            lines.append("allow deadlock")
        return "\n".join(lines) + "\n"


def generate(seed: int) -> str:
    """The spec text for one seed (the same text on every run and machine)."""
    return _Spec(Chooser(rng=random.Random(seed))).text()


@st.composite
def random_spec(draw: st.DrawFn) -> str:
    """The same specs as a hypothesis strategy (shrinks towards simpler choices)."""
    return _Spec(Chooser(draw=draw)).text()

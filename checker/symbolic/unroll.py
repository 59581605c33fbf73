"""What BMC, k-induction and Spacer share: options and budgets, the unrolled path of
symbolic states with one instance selector per step, and the safety properties as
"bad state" formulas over one symbolic state."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import z3

from model import typed as T

from ..search import Progress
from ..search.budget import Clock as SearchClock
from ..stops import INTERRUPTED as STOP_INTERRUPTED
from .encode import Encoded, Encoder, Key
from .env import Env

DEFAULT_BMC_DEPTH = 10  # --engine bmc / kind / spacer's traces without --depth
RLIMIT_PER_SECOND = 4_000_000  # z3 resource units per second of --timeout (machine-independent budget)


@dataclass
class SymOptions:
    depth: int | None = None  # BMC / k-induction bound (None: each engine's default)
    timeout: float | None = None  # seconds for the whole engine run
    deadlock: bool = True
    progress: Callable[[Progress], None] | None = None  # told what the engine works on
    only: frozenset[str] | None = None  # the properties to decide (None: all); others may be skipped
    jobs: int = 1  # induction: worker processes for the action groups

    def wants(self, name: str) -> bool:
        return self.only is None or name in self.only


class Clock(SearchClock):
    """The search's clock for z3: the time budget handed to each check as a resource limit
    derived from `--timeout` alone (the same for every check, so a verdict does not depend
    on the machine's load or on how long earlier checks took) with the wall time left as a
    backstop, and Ctrl-C deferred to the next step."""

    def __init__(self, timeout: float | None, progress: Callable[[Progress], None] | None = None) -> None:
        super().__init__(time.perf_counter(), timeout, progress)

    def over(self) -> bool:
        """The time budget is spent. Raises KeyboardInterrupt when a deferred Ctrl-C arrived."""
        stop = _INTERRUPT.get()
        if stop is not None and stop.is_set():
            raise KeyboardInterrupt
        left = self.left()
        return left is not None and left <= 0

    def rlimit(self) -> int | None:
        """Resource units one z3 check may use: a function of `--timeout` only."""
        return None if self.timeout is None else max(1, int(self.timeout * RLIMIT_PER_SECOND))

    def limit(self, s: Any) -> None:
        left, units = self.left(), self.rlimit()
        if left is not None and units is not None:
            s.set("timeout", max(1, int(left * 1000)))
            s.set("rlimit", units)


INTERRUPTED = STOP_INTERRUPTED  # re-exported: every engine says "interrupted" with this one value
_INTERRUPT: ContextVar[threading.Event | None] = ContextVar("plugcheck_interrupt", default=None)


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Ctrl-C during a symbolic run sets a flag that `Clock.over()` turns into
    KeyboardInterrupt at the next step. Raised anywhere else it could land inside one of the
    z3 API's ctypes calls, which turn it into ctypes.ArgumentError. (While z3 searches, its
    own handler takes SIGINT and answers unknown; `gave_up` raises it again.) A second
    Ctrl-C raises at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stop = threading.Event()
    token = _INTERRUPT.set(stop)

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():  # pressed again: the user will not wait for the next step
            raise KeyboardInterrupt
        stop.set()

    old = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        _INTERRUPT.reset(token)


def gave_up(solver: Any) -> str:
    """Why z3 answered unknown. z3 catches Ctrl-C itself while it searches (the answer is
    then unknown, "interrupted from keyboard"), so the interrupt is raised again here: every
    engine then stops as the explicit one does, instead of asking its next query."""
    why = str(solver.reason_unknown())
    if is_interrupt(why):
        raise KeyboardInterrupt
    return why


def is_interrupt(why: str) -> bool:
    """Does z3's reason for giving up (or a Z3Exception's text) mean Ctrl-C? "canceled" is
    also what z3 says when a time or resource limit ends a query: an interrupt only when a
    Ctrl-C was seen."""
    stop = _INTERRUPT.get()
    return "interrupted from keyboard" in why or ("canceled" in why and stop is not None and stop.is_set())


@dataclass
class Prop:
    """A safety property of one state: `bad` is violation (or, for `reachable`, the goal)."""

    name: str
    kind: str  # invariant, reachable, deadlock, range
    prop: T.PropT | None
    expr: Any  # the ground expression (invariant / reachable), else None


def safety_props(enc: Encoder, deadlock: bool) -> list[Prop]:
    """Properties in the order the explicit engine reports them."""
    out = []
    for p, g, _ in enc.gm.properties:
        if p.kind == "invariant":
            out.append(Prop(p.name, "invariant", p, g))
    for p, g, _ in enc.gm.properties:
        if p.kind == "reachable":
            out.append(Prop(p.name, "reachable", p, g))
    if deadlock and not enc.model.allow_deadlock:
        out.append(Prop("deadlock", "deadlock", None, None))
    out.append(Prop("range", "range", None, None))
    return out


def bad_state(enc: Encoder, prop: Prop, env: Env, insts: list[Encoded]) -> Any:
    if prop.kind == "invariant":
        return enc.bad(prop.expr, env)
    if prop.kind == "reachable":
        return enc.holds(prop.expr, env)
    if prop.kind == "deadlock":
        return z3.And([z3.Not(e.ok) for e in insts]) if insts else z3.BoolVal(True)
    return z3.Or([e.err for e in insts]) if insts else z3.BoolVal(False)


class Unrolling:
    """States s0..sk of a path in one solver; step j is one instance chosen by `act{j}`."""

    def __init__(self, enc: Encoder, solver: Any, prefix: str = "") -> None:
        self.enc = enc
        self.solver = solver
        self.prefix = prefix
        self.states: list[dict[Key, Any]] = []
        self.envs: list[Env] = []
        self.selectors: list[Any] = []
        self._insts: dict[int, list[Encoded]] = {}
        n = len(enc.gm.instances)
        self.bits = max(1, (n - 1).bit_length())

    def add_state(self) -> int:
        k = len(self.states)
        st = self.enc.state(f"{self.prefix}s{k}.")
        self.states.append(st)
        self.envs.append(Env(st))
        self.solver.add(self.enc.domain(st))
        if k > 0:
            self.solver.add(self.transition(k - 1, st))
        return k

    def instances(self, k: int) -> list[Encoded]:
        if k not in self._insts:
            self._insts[k] = [self.enc.instance(i, self.envs[k]) for i in self.enc.gm.instances]
        return self._insts[k]

    def transition(self, k: int, nxt: dict[Key, Any]) -> list[Any]:
        """s_k -> nxt by exactly one instance that is enabled and runs without error."""
        insts = self.instances(k)
        a = z3.BitVec(f"{self.prefix}act{k}", self.bits)
        self.selectors.append(a)
        out: list[Any] = [z3.ULT(a, len(insts))] if len(insts) < (1 << self.bits) else []
        writers: dict[Key, list[Encoded]] = {}
        for e in insts:
            out.append(z3.Implies(a == e.inst.id, e.ok))
            for key in e.post:
                writers.setdefault(key, []).append(e)
        if not insts:
            out.append(z3.BoolVal(False))
        pre = self.states[k]
        for key, v in nxt.items():
            val = pre[key]
            for e in reversed(writers.get(key, [])):
                val = z3.If(a == e.inst.id, e.post[key], val)
            out.append(v == val)
        return out

    def picks(self, zm: Any, k: int) -> list[int]:
        return [zm.eval(self.selectors[j], model_completion=True).as_long() for j in range(k)]

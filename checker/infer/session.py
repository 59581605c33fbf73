"""What every phase of `plugcheck infer` shares: the one time budget of the command, the
progress lines (named after the phase, timed from the command's start), and induction runs
that end promptly on Ctrl-C, SIGTERM or the budget.

An interrupt must end the command wherever it lands. Inside an induction run z3 catches
SIGINT itself and answers unknown, which without the deferral below reads as a query that ran
out of its own budget (the prover then tries a smaller query and goes on); so each run is made
with Ctrl-C deferred to the prover's next step, and it comes back stopped, "interrupted". Between
runs (the explicit search, building a model with the candidates, evaluating them in
counterexample states) Ctrl-C raises KeyboardInterrupt, which `infer` turns into the same
report."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from model import typed as T

from ..results import RunResult
from ..search import Progress
from ..stops import StopKind
from ..symbolic.induction import induction
from ..symbolic.unroll import SymOptions, deferred_interrupts

MIN_RUN = 0.1  # seconds: less budget than this left and no induction run is started


@dataclass
class Session:
    timeout: float | None
    jobs: int
    progress: Callable[[Progress], None] | None
    t0: float = field(default_factory=time.perf_counter)
    phase: str = ""  # the step an interrupt's report names
    label: str = ""  # the same, short, for the progress lines
    phase_t0: float = 0.0

    def start(self, phase: str, label: str = "") -> float:
        """A new phase; its start time (perf_counter)."""
        self.phase, self.label, self.phase_t0 = phase, label or phase, time.perf_counter()
        self.note("started")
        return self.phase_t0

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float | None:
        return None if self.timeout is None else max(0.0, self.timeout - self.elapsed())

    def over(self) -> str:
        """Why no further run can start ("" while the budget lasts)."""
        left = self.left()
        return f"time budget {self.timeout:g} s reached" if left is not None and left < MIN_RUN else ""

    def note(self, what: str) -> None:
        if self.progress is not None:
            self.progress(Progress(0, 0, 0, 0, self.elapsed(), f"infer, {self.label}: {what}"))

    def relay(self, p: Progress) -> None:
        if self.progress is not None and p.note:
            self.progress(replace(p, seconds=self.elapsed(), note=f"infer, {self.label}: {p.note}"))

    def induct(self, model: T.Model, only: Iterable[str]) -> tuple[RunResult, str]:
        """Induction over `model` within what is left of the budget: (its result, why it
        stopped early or ""). A run the budget ended names the command's budget, not the
        part of it this run had."""
        left = self.left()
        opts = SymOptions(timeout=left, deadlock=False, progress=self.relay, jobs=self.jobs, only=frozenset(only))
        with deferred_interrupts():
            r = induction(model, opts)
        if r.stopped is None:
            return r, ""
        stop = r.stopped
        if stop.kind is StopKind.TIME and self.timeout is not None:
            stop = replace(stop, limit=self.timeout)
        return r, str(stop)

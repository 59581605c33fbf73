"""Running SPIN on an exported model: `spin -a -o2`, gcc, pan, and pan's report parsed
(shared by the tests and the SPIN benchmark)."""

from __future__ import annotations

import math
import os
import re
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class SpinRun:
    stored: int  # "states, stored"
    nominal: int  # stored minus the "atomic steps" (links) BFS stores inside atomic sequences
    errors: int
    assertion: bool  # an assertion violated (invariant or range)
    invalid_end: bool  # a deadlock
    seconds: float  # pan's own run, wall clock
    peak_mb: float  # pan's peak resident memory
    output: str
    cpu_seconds: float = 0.0  # pan's user + system time
    compile_cpu: float = 0.0  # `spin -a` and gcc, user + system time
    vector_bytes: int = 0  # pan's "State-vector N byte"


class SpinError(Exception):
    """spin, gcc or pan failed (the message holds their output)."""


def spin_missing() -> str | None:
    """Why SPIN cannot run here, or None."""
    for tool in ("spin", "gcc"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (Debian/Ubuntu: apt-get install spin gcc)"
    return None


def hash_arg(states: int) -> str:
    """pan's -w (log2 of its hash table slots) for about `states` states: the default (2^24
    slots) costs seconds of allocation on a model of a few hundred states."""
    return f"-w{min(30, max(16, math.ceil(math.log2(max(states, 1))) + 1))}"


def run_spin(
    pml: str,
    workdir: Path,
    cflags: tuple[str, ...] = ("-O2",),
    vectorsz: int = 1024,
    pan_args: tuple[str, ...] = ("-c0",),
    timeout: float | None = None,
) -> SpinRun:
    """Verify `pml` with an exhaustive breadth-first safety search."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "model.pml").write_text(pml, encoding="ascii")
    flags = [*cflags, "-DBFS", "-DSAFETY", "-DNOCLAIM", f"-DVECTORSZ={vectorsz}", "-DMEMLIM=64000"]
    compile_cpu = _call(["spin", "-a", "-o2", "model.pml"], workdir, "spin -a")
    compile_cpu += _call(["gcc", *flags, "-o", "pan", "pan.c"], workdir, "gcc")
    t0 = time.perf_counter()
    log = workdir / "pan.out"
    with log.open("wb") as fh:
        proc = subprocess.Popen(["./pan", *pan_args], cwd=workdir, stdout=fh, stderr=subprocess.STDOUT)
        while True:  # wait4: the child's own peak memory
            pid, _, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = 0  # reaped here; Popen must not wait for it again
                break
            if timeout is not None and time.perf_counter() - t0 > timeout:
                proc.kill()
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                raise SpinError(f"pan did not finish in {timeout:g} s")
            time.sleep(0.02)
    secs = time.perf_counter() - t0
    text = log.read_text(encoding="utf-8", errors="replace")
    stored, links = _count(r"states, stored", text), _count(r"atomic steps", text)
    e = re.search(r"errors: (\d+)", text)
    rss = usage.ru_maxrss / 1024.0
    vec = re.search(r"State-vector (\d+) byte", text)
    return SpinRun(
        stored,
        stored - links,
        int(e.group(1)) if e else 0,
        re.search(r"pan:\d+: assertion violated", text) is not None,
        re.search(r"pan:\d+: invalid end state", text) is not None,
        secs,
        rss,
        text,
        usage.ru_utime + usage.ru_stime,
        compile_cpu,
        int(vec.group(1)) if vec else 0,
    )


def _count(what: str, text: str) -> int:
    """A count pan prints with %9.8g: exact up to 99,999,999."""
    m = re.search(r"([\d.e+]+) " + what, text)
    if m is None:
        raise SpinError(f"pan reported no `{what}`:\n{text[-2000:]}")
    v = float(m.group(1))
    if v >= 1e8:
        raise SpinError(f"pan's count `{what}` ({m.group(1)}) is beyond the 8 digits it prints exactly")
    return int(v)


def _call(cmd: list[str], cwd: Path, what: str) -> float:
    """Run one tool; its user + system time (children of this process are waited for one at a
    time, so the difference in RUSAGE_CHILDREN is this command's)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SpinError(f"{what} failed ({p.returncode}):\n{(p.stdout + p.stderr)[-3000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

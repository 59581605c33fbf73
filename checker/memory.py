"""How much memory a run may use and how much it uses: the one place the search's memory
budget, liveness and the graph command read it from.

The default budget is what this process could really get, the smallest of: what is available
on the machine plus what the process already holds, the address-space and data rlimits, and
the cgroup's memory limit (a container or a CI job often has less than the machine shows).
A search stops at the budget with an inconclusive verdict and the numbers it reached, before
the kernel's OOM killer ends it with nothing."""

from __future__ import annotations

import os
import resource
from pathlib import Path

DEFAULT_SHARE = 0.9  # of what the process could get: room for the report and liveness after the search


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (None where there is no such file)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def rss_bytes() -> int | None:
    """The resident memory of this process now (/proc/self/statm), None where unknown."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _rlimits() -> list[int]:
    out = []
    for which in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
        soft, _ = resource.getrlimit(which)
        if soft != resource.RLIM_INFINITY and soft > 0:
            out.append(int(soft))
    return out


def _cgroup_limit(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """cgroup v2 `memory.max` or v1 `memory.limit_in_bytes` of this process's group."""
    for name in ("memory.max", "memory/memory.limit_in_bytes"):
        try:
            text = (root / name).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:  # v1 says "no limit" with a huge number
            return int(text)
    return None


def default_limit() -> int | None:
    """The memory budget when none is given (None: nothing to go by)."""
    bounds = _rlimits()
    avail, rss = available_bytes(), rss_bytes()
    if avail is not None:
        bounds.append(avail + (rss or 0))
    cg = _cgroup_limit()
    if cg is not None:
        bounds.append(cg)
    return int(min(bounds) * DEFAULT_SHARE) if bounds else None


def size_text(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"

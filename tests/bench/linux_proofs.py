"""The per-spec proofs at `linux` geometry that specs/README.md documents, run as their
documented commands and timed (wall and CPU time of the command and its workers).

    python tests/bench/linux_proofs.py [--timeout SECONDS] [--jobs N] [SPEC...]
    python tests/bench/linux_proofs.py --infer [--timeout SECONDS] [--limit N] SPEC...

Without `--infer`: `plugcheck check SPEC --config linux --engine induction` for each spec
(default: every spec with a documented induction proof, below), its exit code (0: every
safety property proved; 3: inconclusive) and times. With `--infer`: `plugcheck infer SPEC
--config linux -q` instead, with the step lines it prints. The CPU time is the steadier
number on a shared machine. Each command runs under `nice -n 10`.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

SPECS = Path(__file__).resolve().parents[2] / "specs"
# the specs whose `check --config linux --engine induction` is documented to exit 0
PROVED = [
    "ref_sbm.plug",
    "virtio_mem_guest_reads.plug",
    "virtio_mem_device.plug",
    "virtio_mem_qemu.plug",
    "virtio_mem_sbm_pagerefs.plug",
    "virtio_mem_sbm.plug",
    "virtio_mem_sbm_pm.plug",
    "virtio_mem_sbm_errors.plug",
    "virtio_mem_sbm_2dev.plug",
    "virtio_mem_2020.plug",
    "virtio_mem_bbm.plug",
]


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(cmd: list[str]) -> tuple[int, float, float, str]:
    """(exit code, wall seconds, CPU seconds of the command and its workers, stdout)."""
    t, c = time.perf_counter(), children_cpu()
    p = subprocess.run(["nice", "-n", "10", *cmd], capture_output=True, text=True, check=False)
    return p.returncode, time.perf_counter() - t, children_cpu() - c, p.stdout


def main() -> None:
    args = sys.argv[1:]
    opts: dict[str, str] = {}
    infer = "--infer" in args
    args = [a for a in args if a != "--infer"]
    while args and args[0] in ("--timeout", "--jobs", "--limit"):
        opts[args[0]] = args[1]
        args = args[2:]
    specs = args or PROVED
    rows = []
    for name in specs:
        path = Path(name) if Path(name).exists() else SPECS / name
        if infer:
            cmd = ["plugcheck", "infer", str(path), "--config", "linux", "-q"]
            cmd += [x for k in ("--timeout", "--jobs", "--limit") if k in opts for x in (k, opts[k])]
        else:
            cmd = ["plugcheck", "check", str(path), "--config", "linux", "--engine", "induction", "-q"]
            cmd += [x for k in ("--timeout", "--jobs") if k in opts for x in (k, opts[k])]
        code, wall, cpu, out = run(cmd)
        lines = [ln for ln in out.splitlines() if ln.startswith("#") or "configuration" in ln]
        print(f"$ {' '.join(cmd)}")
        for ln in lines:
            print(f"  {ln}")
        print(f"  exit {code}, {wall:.1f} s wall, {cpu:.1f} s CPU\n", flush=True)
        rows.append((path.name, code, wall, cpu))
    print("| spec | exit | wall | CPU |\n|---|---|---|---|")
    for n, code, wall, cpu in rows:
        print(f"| `{n}` | {code} | {wall:.0f} s | {cpu:.0f} s |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""plugcheck against SPIN on the shipped specs: each spec exported with `plugcheck export --to
promela`, then `spin -a -o2`, `gcc -O2 -DBFS -DSAFETY`, pan; one table of states, CPU and wall
seconds, peak memory, the states-per-CPU-second ratio, and how plugcheck explored.

Usage: python tests/bench/spec_vs_spin.py [SPEC[:CONFIG][:NAME=V,NAME=V] ...] [--benchmark]
                                          [--config NAME] [--no-spin] [--timeout S]
                                          [--pan-cflags FLAGS] [--markdown]
Without arguments: every shipped spec (specs/, bugs and findings included) and every config
meant for the explicit engine (`--benchmark` adds the benchmark configs). `--config NAME`
without targets: the real specs (specs/*.plug, not bugs/ or findings/) that have a config
NAME, in that config, or in their config NAME_SOMETHING where they have one (a spec that
extends another inherits its NAME and cannot replace it): `--config bench5m` runs every real
spec at its documented size of at least 5 million states. An
argument names one spec (a path, or the stem of a shipped spec), optionally a config, and
-D overrides: `virtio_mem_sbm::B=3,S=4` is the default config with B=3 and S=4.

Both sides check the same safety properties (invariants, range errors, deadlocks); temporal
properties are left out of plugcheck's run, as SPIN does not get them.
- CPU seconds are user + system time, the comparison that holds on a shared, loaded machine
  (wall seconds are shown beside them). plugcheck's is its whole `explore` in its own
  process: grounding and compiling the model (shown apart as "prep"), the search, the
  verdicts, and gcc building the C kernels (a child process; plugcheck builds them on every
  run, past 131,072 states). SPIN's is pan's run (a child process, from wait4); `spin -a` and gcc are shown
  apart ("compile") and not counted, as a user compiles once and runs many times.
- Peak memory is each process's ru_maxrss (plugcheck's includes the Python interpreter,
  numpy and the parsed model).
- pan: `-O2 -DBFS -DSAFETY -DNOCLAIM -DVECTORSZ=... -DMEMLIM=64000` (plus --pan-cflags, e.g.
  `-DCOLLAPSE`), run with `-c0` and a hash table sized from the state count (-w, as one would
  tune it). SPIN's states are its nominal count minus the documented extra start state (specs
  with `= any`); a count different from plugcheck's is printed as STATE COUNTS DIFFER.
- "path": plugcheck's successor backend at the end (`native`: the C kernels, which `auto`
  switched to; `frontier`: numpy kernels over k-word states, with
  the share of states whose possible runtime error sent them to the compiled path; `single`:
  the compiled one-state-at-a-time path, with the construct the kernels refused).
- "rate x" is plugcheck's states per CPU second over SPIN's; "mem x" SPIN's peak over
  plugcheck's. "target": the search-core issue's, rate x >= 2 with mem x > 1 and equal state
  counts. "load": the 1-minute load average when the row was printed.
Never run from the test suite; needs `spin` and `gcc` for the SPIN columns.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from checker.export import safety_part, to_promela  # noqa: E402
from checker.export.spin import SpinError, hash_arg, run_spin, spin_missing  # noqa: E402
from model import build_model, config_names, load_spec  # noqa: E402


def _cpu() -> float:
    """This process's CPU seconds and its children's: gcc building the C kernels counts."""
    r, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


def worker(path: str, config: str, defines: dict[str, int]) -> None:
    """Explore one configuration in this process and print one JSON line. `choose` is wrapped
    to see what the engine picked and to count the states the kernels handed to the compiled
    path, without changing what runs."""
    import checker.search.engine as engine
    from checker.kernels import Unsupported, compile_kernels, words
    from checker.search.backends import KernelBackend, NativeBackend, Upgrading

    info: dict[str, Any] = {"fallback_states": 0}
    c0, w0 = _cpu(), time.perf_counter()
    chosen = engine.choose

    def spy(gm: Any, comp: Any, kind: str, act_of: Any, actions: int) -> Any:
        info["prep_cpu"] = _cpu() - c0
        b = chosen(gm, comp, kind, act_of, actions)
        info.update(chosen=b, bits=comp.layout.bits, words=words(comp.layout), gm=gm, comp=comp)
        if isinstance(b, (KernelBackend, NativeBackend, Upgrading)):
            ex = b.exact
            for name in ("expand", "violated", "reached"):
                fn = getattr(ex, name)

                def counted(S: Any, fn: Any = fn, name: str = name) -> Any:
                    if name == "expand":
                        info["fallback_states"] += int(S.shape[0])
                    return fn(S)

                setattr(ex, name, counted)
        return b

    engine.choose = spy  # type: ignore[assignment]
    model = safety_part(build_model(load_spec(path), config, defines))
    res, _ = engine.explore(model)
    cpu, wall = _cpu() - c0, time.perf_counter() - w0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    info["backend"] = info["chosen"].name  # after the search: `auto` may have switched to the C kernels
    why = ""
    if info["backend"] not in ("frontier", "native"):  # after the timing: what the kernels refused
        try:
            compile_kernels(info["gm"], info["comp"].layout)
        except Unsupported as exc:
            why = str(exc)
    bad = [p.name for p in res.properties if p.kind in ("invariant", "range", "deadlock") and p.status == "violated"]
    out = {
        "states": res.states,
        "cpu": cpu,
        "wall": wall,
        "prep_cpu": info["prep_cpu"],
        "peak_mb": peak,
        "violated": bad,
        "backend": info["backend"],
        "bits": info["bits"],
        "words": info["words"],
        "fallback_states": info["fallback_states"],
        "why": why,
    }
    print(json.dumps(out))


def run_plugcheck(path: str, config: str, defines: dict[str, int], timeout: float) -> dict[str, Any] | str:
    """The worker's JSON line, or why there is none (the next configuration still runs)."""
    args = [sys.executable, __file__, "--worker", json.dumps([path, config, defines])]
    try:
        p = subprocess.run(args, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"plugcheck did not finish in {timeout:g} s"
    if p.returncode != 0:
        return f"plugcheck failed (exit {p.returncode}): {p.stderr[-2000:]}"
    return json.loads(p.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def targets(args: list[str], benchmark: bool, only: str | None) -> list[tuple[str, str, dict[str, int]]]:
    shipped = {p.stem: p for p in sorted((ROOT / "specs").rglob("*.plug"))}
    out: list[tuple[str, str, dict[str, int]]] = []
    if not args and only:
        for p in sorted((ROOT / "specs").glob("*.plug")):
            names = config_names(load_spec(str(p)))
            own = [c for c in names if c.startswith(only + "_")]  # e.g. bench5m_qemu: the inherited one does not fit
            if own or only in names:
                out.append((str(p), own[0] if own else only, {}))
        return out
    if not args:
        for p in shipped.values():
            spec = load_spec(str(p))
            for cfg in config_names(spec):
                c = build_model(spec, cfg, {}).config
                if "explicit" in c.engines and (benchmark or not c.benchmark):
                    out.append((str(p), cfg, {}))
        return out
    for a in args:
        name, _, rest = a.partition(":")
        cfg, _, defs = rest.partition(":")
        path = str(shipped[name]) if name in shipped else name
        d = {k: int(v) for k, v in (x.split("=") for x in defs.split(",") if x)}
        out.append((path, cfg or only or "default", d))
    return out


def _path(pc: dict[str, Any]) -> str:
    if pc["backend"] in ("frontier", "native"):
        share = 100.0 * pc["fallback_states"] / max(1, pc["states"])
        return str(pc["backend"]) + (f" ({share:.2g}% fb)" if pc["fallback_states"] else "")
    return f"{pc['backend']}: {pc['why']}" if pc["why"] else str(pc["backend"])


COLS = (
    "spec [config] constants",
    "states",
    "SPIN states",
    "width",
    "path",
    "ours CPU s (prep)",
    "ours wall s",
    "ours MB",
    "SPIN CPU s (compile)",
    "SPIN wall s",
    "SPIN MB",
    "rate x",
    "mem x",
    "target",
    "verdicts",
    "load",
)


def row(label: str, pc: dict[str, Any], sp: Any, spin_n: int | None) -> list[str]:
    n = int(pc["states"])
    cells = [
        label,
        f"{n:,}",
        "-" if spin_n is None else f"{spin_n:,}",
        f"{pc['bits']} b / {pc['words']} w" + (f" ({sp.vector_bytes} B)" if sp else ""),
        _path(pc),
        f"{pc['cpu']:.1f} ({pc['prep_cpu']:.1f})",
        f"{pc['wall']:.1f}",
        f"{pc['peak_mb']:.0f}",
    ]
    if sp is None:
        return cells + ["-"] * (len(COLS) - len(cells) - 1)
    ours_rate = n / max(pc["cpu"], 1e-3)
    spin_rate = (spin_n or 0) / max(sp.cpu_seconds, 1e-3)
    same = bool(pc["violated"]) == (sp.errors > 0)
    verdict = ("violated" if pc["violated"] else "hold") + (" (same)" if same else " (SPIN DIFFERS)")
    if spin_n != n and "range" not in pc["violated"]:
        verdict += " STATE COUNTS DIFFER"
    rate_x, mem_x = ours_rate / max(spin_rate, 1e-9), sp.peak_mb / pc["peak_mb"]
    met = rate_x >= 2 and mem_x > 1 and spin_n == n
    return cells + [
        f"{sp.cpu_seconds:.1f} ({sp.compile_cpu:.1f})",
        f"{sp.seconds:.1f}",
        f"{sp.peak_mb:.0f}",
        f"{rate_x:.2f}",
        f"{mem_x:.2f}",
        "met" if met else "not met",
        verdict,
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("targets", nargs="*", help="SPEC[:CONFIG][:NAME=V,...] (default: every shipped spec and config)")
    ap.add_argument("--benchmark", action="store_true", help="also the configs marked benchmark")
    ap.add_argument("--config", default=None, help="without targets: the real specs having this config, in it")
    ap.add_argument("--no-spin", action="store_true", help="only plugcheck")
    ap.add_argument("--timeout", type=float, default=600.0, help="per checker and configuration (default 600 s)")
    ap.add_argument("--pan-cflags", default="", help="more gcc flags for pan, e.g. -DCOLLAPSE")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        path, config, defines = json.loads(args.worker)
        return worker(path, config, defines)
    missing = "--no-spin" if args.no_spin else spin_missing()
    if missing:
        print(f"SPIN columns left out: {missing}", file=sys.stderr)
    cflags = ("-O2", *shlex.split(args.pan_cflags))
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    print(f"pan: gcc {' '.join(cflags)} -DBFS -DSAFETY -DNOCLAIM; ./pan -c0 -wN", flush=True)
    widths = [max(14, len(c)) for c in COLS]
    widths[0] = 44
    if args.markdown:
        print("| " + " | ".join(COLS) + " |")
        print("|" + "---|" * len(COLS), flush=True)
    else:
        print(" | ".join(c.ljust(w) for c, w in zip(COLS, widths, strict=True)), flush=True)
    for path, config, defines in targets(args.targets, args.benchmark, args.config):
        model = build_model(load_spec(path), config, defines)
        consts = " ".join(f"{k}={v}" for k, v in model.consts.items())
        label = f"{Path(path).stem} [{config}] {consts}"
        pc = run_plugcheck(path, config, defines, args.timeout)
        if isinstance(pc, str):
            print(f"{label}: {pc}", flush=True)
            continue
        sp, spin_n = None, None
        if not missing:
            ex = to_promela(model)
            with tempfile.TemporaryDirectory() as d:
                try:
                    pan_args = ("-c0", hash_arg(int(pc["states"])))
                    sp = run_spin(ex.text, Path(d), cflags, ex.vectorsz, pan_args, args.timeout)
                    spin_n = sp.nominal - ex.extra_states
                except SpinError as e:
                    print(f"{label}: SPIN failed: {str(e).splitlines()[0]}", flush=True)
        cells = [*row(label, pc, sp, spin_n), f"{os.getloadavg()[0]:.1f}"]
        if args.markdown:
            print("| " + " | ".join(c.replace("|", "/") for c in cells) + " |", flush=True)
        else:
            print(" | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)), flush=True)
        if spin_n is not None and spin_n != int(pc["states"]):
            print(f"  !!! STATE COUNTS DIFFER: plugcheck {pc['states']:,}, SPIN {spin_n:,}", flush=True)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("rate x: plugcheck's states per CPU second over SPIN's; mem x: SPIN's peak memory over plugcheck's;")
    print("target: rate x >= 2 and mem x > 1 with equal state counts")


if __name__ == "__main__":
    main()

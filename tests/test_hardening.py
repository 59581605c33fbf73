"""What a hostile or unlucky user meets at the edges of the command: internal errors have
their own exit code, signals end a run with what was reached, spec files are untrusted
(no FIFO blocks a run, no `extends` reads or quotes a file that is not a spec, the parser
cache is never loaded from a place others can write), and killed report runs leave nothing
behind for good."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checker import cli
from checker.report.atomic import clean_stale, staged_folder
from model.grammar_cache import cache_file

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
TOY = (
    "protocol toy\nvar x : 0 .. 3 = 0\naction inc when x < 3 { x := x + 1 }\ninvariant small: x <= 3\nallow deadlock\n"
)


def _boom(args: object) -> int:
    raise RuntimeError("engine fell over")


def test_an_internal_error_has_its_own_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "toy.plug"
    spec.write_text(TOY)
    monkeypatch.setattr(cli, "_check", _boom)
    monkeypatch.delenv(cli.TRACEBACK_ENV, raising=False)
    assert cli.main(["check", str(spec)]) == cli.EXIT_INTERNAL == 4
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: engine fell over" in err
    assert "not a verdict" in err and "Traceback" not in err
    monkeypatch.setenv(cli.TRACEBACK_ENV, "1")
    assert cli.main(["check", str(spec)]) == 4
    assert "Traceback (most recent call last)" in capsys.readouterr().err
    monkeypatch.delenv(cli.TRACEBACK_ENV)
    assert cli.main(["check", str(spec), "-v"]) == 4
    assert "Traceback (most recent call last)" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_a_timeout_must_be_finite_and_positive(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["check", "--timeout", value])
    assert exc.value.code == 2
    assert "--timeout" in capsys.readouterr().err


def test_a_fifo_named_like_a_spec_is_refused_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.plug"
    os.mkfifo(fifo)
    r = subprocess.run(
        [sys.executable, "-m", "checker.cli", "check", str(fifo)], capture_output=True, text=True, timeout=60, env=ENV
    )
    assert r.returncode == 2
    assert f"{fifo}: error: cannot read the spec: not a regular file" in r.stderr


def test_extends_reads_and_quotes_only_spec_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:the first line of a file that is not a spec\n")
    spec = tmp_path / "child.plug"
    spec.write_text(f'protocol child\nextends "{secret}"\n')
    assert cli.main(["check", str(spec)]) == 2
    err = capsys.readouterr().err
    assert f"{spec}:2:1: error: `extends` takes a spec file ending in .plug" in err
    assert "root:x" not in err


def test_an_error_from_an_override_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", str(ROOT / "specs" / "ref_sbm.plug"), "-D", "B=0", "-q"]) == 2
    err = capsys.readouterr().err
    assert "empty range 0..-1" in err
    assert "note: with the constants overridden on the command line: -D B=0" in err


def test_the_parser_cache_lives_in_a_private_folder(tmp_path: Path) -> None:
    got = cache_file(tmp_path)
    assert isinstance(got, str) and Path(got).parent == tmp_path / ".cache" / "plugcheck"
    assert (tmp_path / ".cache" / "plugcheck").stat().st_mode & 0o777 == 0o700
    Path(got).write_bytes(b"not a pickle anyone may write")
    Path(got).chmod(0o666)  # a cache file others could have written: never loaded
    assert cache_file(tmp_path) is False
    Path(got).chmod(0o600)
    assert cache_file(tmp_path) == got
    (tmp_path / ".cache" / "plugcheck").chmod(0o777)  # a folder others can write into
    assert cache_file(tmp_path) is False


def test_stale_report_staging_folders_are_cleaned(tmp_path: Path) -> None:
    dest = tmp_path / "reports"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".reports.new-{dead.pid}-abc123"
    live = tmp_path / f".reports.new-{os.getppid()}-def456"  # a process that is still running
    old_style = tmp_path / ".reports.new-xyz789"
    other = tmp_path / ".other.new-1-abc"
    for p in (stale, live, old_style, other):
        p.mkdir()
    past = time.time() - 2 * 3600
    os.utime(old_style, (past, past))
    with staged_folder(dest) as stage:
        (stage / "summary.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["reports", live.name, other.name])
    assert clean_stale(dest) == []


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "checker.cli", "check", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_term_and_hup_end_a_search_with_its_verdicts(sig: int) -> None:
    """Without --report too: the run prints what it reached and exits 3."""
    proc = _start(["specs/ref_sbm.plug", "-D", "B=3", "-D", "S=4", "-D", "L=2"])
    assert proc.stderr is not None
    line = proc.stderr.readline()  # the first progress line: the search is running
    assert "states" in line, line
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 3, out
    assert "the search stopped: interrupted" in out.replace("\n", " ").replace("  ", " ") or "interrupted" in out
    assert "1 configuration of 1 spec checked: 0 pass, 0 fail, 1 inconclusive" in out


def test_sigterm_ends_a_run_started_with_sigint_ignored() -> None:
    """A shell without job control starts `plugcheck ... &` with SIGINT ignored; SIGTERM,
    forwarded as SIGINT, must still end the run with its verdicts (it used to be lost)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "checker.cli", "check", "specs/ref_sbm.plug", "-D", "B=3", "-D", "S=4", "-D", "L=2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # the first progress line: the search is running
    assert "states" in line, line
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 3, out
    assert "1 configuration of 1 spec checked: 0 pass, 0 fail, 1 inconclusive" in out


def test_ctrl_c_stops_induction_inside_z3() -> None:
    """z3 catches SIGINT itself and answers `unknown`; the prover must stop there, not ask
    its next query."""
    proc = _start(["specs/virtio_mem_sbm.plug", "--config", "linux", "--engine", "induction", "--jobs", "1"])
    assert proc.stderr is not None
    t0 = time.time()
    while "induction: action" not in proc.stderr.readline():  # progress once the proof runs (after 5 s)
        assert time.time() - t0 < 300 and proc.poll() is None
    proc.send_signal(signal.SIGINT)
    t1 = time.time()
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 3
    assert time.time() - t1 < 60
    assert "interrupted (" in out and "instance groups preserve every invariant" in out


@pytest.mark.parametrize("kernel", ["frontier", "single"])
def test_a_memory_budget_ends_the_search_with_what_was_reached(kernel: str) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "checker.cli", "check", "specs/ref_sbm.plug", "-D", "B=3", "-D", "S=4", "-D", "L=2"]
        + ["--kernel", kernel, "--max-memory", "150M"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
    )
    assert r.returncode == 3, r.stdout + r.stderr
    assert "stopped: memory budget 150 MB reached (" in r.stdout
    assert "Traceback" not in r.stderr


def test_the_default_memory_budget_takes_the_smallest_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from checker import memory

    (tmp_path / "memory.max").write_text("1073741824\n")
    assert memory._cgroup_limit(tmp_path) == 2**30
    (tmp_path / "memory.max").write_text("max\n")
    assert memory._cgroup_limit(tmp_path) is None
    monkeypatch.setattr(memory, "_cgroup_limit", lambda: 2**30)
    monkeypatch.setattr(memory, "available_bytes", lambda: 2**40)
    assert memory.default_limit() == int(2**30 * memory.DEFAULT_SHARE)
    monkeypatch.setattr(memory, "_rlimits", lambda: [2**29])
    assert memory.default_limit() == int(2**29 * memory.DEFAULT_SHARE)

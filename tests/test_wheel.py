"""The built wheel is complete: built from a copy of the sources, installed (without the
source tree on the path) into a fresh virtual environment, it runs a symbolic check.
Takes ~15-25 s (a wheel build in an isolated environment), so it names its cost."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import lark
import networkx
import numpy
import rich
import z3

ROOT = Path(__file__).resolve().parent.parent
SPEC = """protocol counter
var x : 0 .. 3 = 0
action inc when x < 3 { x := x + 1 }
action reset when x == 3 { x := 0 }
invariant bounded: x <= 3
"""


def run(*cmd: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, (cmd, out.stdout, out.stderr)
    return out


def test_wheel_installs_and_runs_induction(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for pkg in ("model", "checker"):
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", src, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("plugcheck-*.whl")

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    py = venv / "bin" / "python"
    site = Path(run(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).stdout.strip())
    # the dependencies come from this interpreter's folders; a .pth line adds a folder to the
    # path without running the .pth files in it (no editable install of this clone leaks in)
    deps = {str(Path(m.__file__).resolve().parent.parent) for m in (lark, networkx, numpy, rich, z3)}  # type: ignore[type-var, arg-type]
    (site / "plugcheck-test-deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    run(sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "-q", wheel, cwd=tmp_path)

    where = run(py, "-c", "import checker.symbolic.induction as m; print(m.__file__)", cwd=tmp_path).stdout
    assert Path(where.strip()).is_relative_to(venv)
    (tmp_path / "counter.plug").write_text(SPEC)
    out = run(venv / "bin" / "plugcheck", "check", "counter.plug", "--engine", "induction", "--json", cwd=tmp_path)
    (res,) = json.loads(out.stdout)["results"]
    assert (res["engine"], res["verdict"]) == ("induction", "pass")
    assert {p["name"]: p["status"] for p in res["properties"]} == {
        "bounded": "proved",
        "deadlock": "proved",
        "range": "proved",
    }

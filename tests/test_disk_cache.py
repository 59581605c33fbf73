"""What is kept between runs: compiled generated code (a hit is the code a fresh compile
gives, under this run's unit name) and parsed specs (a hit is the AST a fresh parse gives,
with its spans). A bad file is made again, only a private folder is used, it stays bounded,
and a checked spec gives the same result from a cold and a warm cache."""

from __future__ import annotations

import builtins
import os
from pathlib import Path
from typing import Any

import pytest

from checker import code_cache
from checker.search import explore
from model import build_model, disk_cache, load_spec, parse, spec_files

ROOT = Path(__file__).resolve().parents[1]
SRC = "def f(x):\n    return x * 3 + 1\n\nassert f(2) == 7\n"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(disk_cache, "_folders", {})
    return tmp_path / ".cache" / "plugcheck" / "code"


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The file names `compile` was called with."""
    seen: list[str] = []
    real = builtins.compile

    def counting(src: Any, filename: str, *args: Any, **kw: Any) -> Any:
        seen.append(filename)
        return real(src, filename, *args, **kw)

    monkeypatch.setattr(builtins, "compile", counting)
    return seen


def _run(code: Any) -> Any:
    ns: dict[str, Any] = {}
    exec(code, ns)
    return ns["f"]


def test_a_source_compiled_once_is_loaded_with_this_runs_name(home: Path, compiles: list[str]) -> None:
    first = code_cache.compiled(SRC, "<unit:1>")
    assert compiles == ["<unit:1>"] and len(list(home.glob("*.code"))) == 1
    again = code_cache.compiled(SRC, "<unit:7>")
    assert compiles == ["<unit:1>"]  # not compiled again
    f = _run(again)
    assert f(5) == 16 and _run(first)(5) == 16
    assert again.co_filename == "<unit:7>" and f.__code__.co_filename == "<unit:7>"  # nested code too
    code_cache.compiled(SRC + "\n# another source\n", "<unit:8>")
    assert compiles == ["<unit:1>", "<unit:8>"]


def test_a_file_that_does_not_load_is_compiled_again_and_replaced(home: Path, compiles: list[str]) -> None:
    code_cache.compiled(SRC, "<a>")
    (path,) = home.glob("*.code")
    path.write_bytes(path.read_bytes()[:20])  # a truncated write
    assert _run(code_cache.compiled(SRC, "<b>"))(1) == 4
    path.write_bytes(b"\x00\x01another python's magic")
    assert _run(code_cache.compiled(SRC, "<c>"))(1) == 4
    assert compiles == ["<a>", "<b>", "<c>"]
    assert _run(code_cache.compiled(SRC, "<d>"))(1) == 4 and compiles == ["<a>", "<b>", "<c>"]


def test_a_folder_others_can_write_into_is_not_used(home: Path, compiles: list[str]) -> None:
    home.mkdir(parents=True)
    home.chmod(0o777)
    code_cache.compiled(SRC, "<a>")
    code_cache.compiled(SRC, "<b>")
    assert compiles == ["<a>", "<b>"] and not list(home.iterdir())


def test_past_its_limit_the_folder_keeps_the_newest_half(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(10):
        code_cache.compiled(f"x = {n}\n", "<n>")
    files = sorted(home.glob("*.code"))
    assert len(files) == 10
    for age, p in enumerate(files):  # the first written longest ago
        os.utime(p, (1_000_000 + age, 1_000_000 + age))
    monkeypatch.setattr(disk_cache, "MAX_FILES", 10)
    disk_cache.prune(home, "code")
    assert len(list(home.glob("*.code"))) == 10  # at the limit: nothing removed
    monkeypatch.setattr(disk_cache, "MAX_FILES", 8)
    disk_cache.prune(home, "code")
    assert sorted(home.glob("*.code")) == files[6:]
    monkeypatch.setattr(disk_cache, "MAX_BYTES", 1)  # too many bytes: halved again
    disk_cache.prune(home, "code")
    assert len(list(home.glob("*.code"))) <= 1


def test_a_spec_checks_alike_from_a_cold_and_a_warm_cache(home: Path, compiles: list[str]) -> None:
    model = build_model(load_spec(ROOT / "specs" / "bugs" / "C1.plug"))
    cold, _ = explore(model)
    generated = [f for f in compiles if f.startswith("<plugcheck")]
    assert generated and len(list(home.glob("*.code"))) == len(generated)
    warm, _ = explore(model)
    assert [f for f in compiles if f.startswith("<plugcheck")] == generated  # nothing compiled again
    assert (warm.states, warm.depth) == (cold.states, cold.depth) == (965, 38)
    verdicts = [(p.name, p.status, len(p.trace.steps) if p.trace else None) for p in warm.properties]
    assert verdicts == [(p.name, p.status, len(p.trace.steps) if p.trace else None) for p in cold.properties]
    assert ("never_broken", "violated", 14) in verdicts
    assert os.stat(home).st_mode & 0o777 == 0o700


SPEC = """protocol cached
var x : 0 .. 3 = 0
action step when x < 3 { x := x + 1 }
invariant small: x <= 3
"""


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths lark was asked to parse."""
    seen: list[str] = []
    real = parse.parse_text

    def counting(source: str, path: str) -> Any:
        seen.append(Path(path).name)
        parse.parse_text.cache_clear()  # lark parses it
        return real(source, path)

    monkeypatch.setattr(spec_files, "parse_text", counting)
    spec_files._parsed.cache_clear()  # this process's memory of parsed files
    return seen


def _file(folder: Path, name: str, text: str) -> Path:
    (folder / name).write_text(text)
    return folder / name


def _asts(home: Path) -> list[Path]:
    return sorted((home.parent / "ast").glob("*.ast"))


def test_a_file_parsed_before_is_read_back_with_its_spans(home: Path, parses: list[str], tmp_path: Path) -> None:
    a = _file(tmp_path, "a.plug", SPEC)
    first = spec_files.parse_file(a)
    spec_files._parsed.cache_clear()  # as a new process would
    again = spec_files.parse_file(a)
    assert parses == ["a.plug"] and len(_asts(home)) == 1
    assert again == first and again is not first
    assert [d.span for d in again.decls] == [d.span for d in first.decls]  # spans are not in ==
    assert again.decls[2].span.line == 3 and again.decls[2].span.file == str(a)
    spec_files.parse_file(_file(tmp_path, "b.plug", SPEC))  # the same text elsewhere: its errors name that file
    spec_files.parse_file(_file(tmp_path, "a.plug", SPEC + "\n"))
    assert parses == ["a.plug", "b.plug", "a.plug"] and len(_asts(home)) == 3
    parse.parse_text(SPEC + "# an editor's buffer\n", str(a))
    assert parses[-1] == "a.plug" and len(_asts(home)) == 3  # parsed, not kept


def test_a_damaged_or_stale_ast_is_parsed_again(
    home: Path, parses: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = _file(tmp_path, "a.plug", SPEC)
    spec_files.parse_file(a)
    (path,) = _asts(home)
    path.write_bytes(path.read_bytes()[:-40])  # a truncated write
    spec_files._parsed.cache_clear()
    assert spec_files.parse_file(a).decls[0].name == "cached"
    assert parses == ["a.plug", "a.plug"]
    spec_files._parsed.cache_clear()
    monkeypatch.setattr(spec_files, "_ast_stamp", lambda: b"another grammar")
    spec_files.parse_file(a)
    assert parses == ["a.plug", "a.plug", "a.plug"]


def test_a_syntax_error_is_reported_every_time(home: Path, parses: list[str], tmp_path: Path) -> None:
    bad = _file(tmp_path, "bad.plug", "protocol p\nvar x : 0 .. 3 = \n")
    for _ in range(2):
        spec_files._parsed.cache_clear()
        with pytest.raises(parse.SpecError) as err:
            spec_files.parse_file(bad)
        assert (err.value.span.file, err.value.span.line) == (str(bad), 2)
    assert parses == ["bad.plug", "bad.plug"] and not _asts(home)

"""Mutated specs: the front end (load, type check, ground) either accepts the text or raises
SpecError; any other exception, or a hang, is a bug in model/. And the whole command: seeded
mutants of every shipped spec and of unusual but legal specs (huge states, long chains, deep
nesting, long extends chains) go through `plugcheck check` with a budget and must end with
exit 0-3, no traceback, within the budget."""

from __future__ import annotations

import random
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker.cli import main
from model import SpecError, build_model, config_names, spec_from_text
from model.ground import ground
from tests.specgen import generate

ROOT = Path(__file__).resolve().parent.parent
SEEDS = {
    "ref_sbm": (ROOT / "specs" / "ref_sbm.plug").read_text(),
    "constructs": (ROOT / "tests" / "specs" / "lang" / "constructs.plug").read_text(),
    # two of the shared random specs (tests/specgen.py): wide bitmaps, dynamic indices, lets with parameters
    "generated0": generate(3),
    "generated1": generate(13),
}
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+|:=|\.\.|<<|>>|[=!<>]=|\S")
VOCAB = sorted(
    {t for text in SEEDS.values() for t in TOKEN.findall(text)}
    | {"0", "-1", "4096", "99999999999999999999", "any", "strong", "replace", "extends", '"x.plug"', "\x00"}
)
SETTINGS = settings(
    max_examples=60,
    deadline=timedelta(seconds=3),  # per input: the front end must answer quickly, even for junk
    derandomize=True,  # the same inputs on every run: the suite stays deterministic
    suppress_health_check=[HealthCheck.too_slow],
)


def front_end(text: str) -> None:
    """What `plugcheck check` does before an engine runs, for every config of the text."""
    try:
        spec = spec_from_text(text, "fuzz.plug")
        ground(build_model(spec))
        for name in config_names(spec)[1:]:  # every config type-checks; grounding them all is slow
            build_model(spec, name)
    except SpecError as exc:
        exc.render()  # rendering an error must not fail either


@st.composite
def char_mutants(draw: st.DrawFn) -> str:
    text = SEEDS[draw(st.sampled_from(sorted(SEEDS)))]
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["delete", "insert", "replace"]))
        ch = draw(st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from(list("{}[]():=.,;#0 \n")))
        if op == "delete":
            text = text[:i] + text[i + 1 :]
        elif op == "insert":
            text = text[:i] + ch + text[i:]
        else:
            text = text[:i] + ch + text[i + 1 :]
    return text


@st.composite
def token_mutants(draw: st.DrawFn) -> str:
    text = SEEDS[draw(st.sampled_from(sorted(SEEDS)))]
    spans = [m.span() for m in TOKEN.finditer(text)]
    for _ in range(draw(st.integers(1, 3))):
        lo, hi = spans[draw(st.integers(0, len(spans) - 1))]
        op = draw(st.sampled_from(["delete", "insert", "replace", "swap"]))
        tok = draw(st.sampled_from(VOCAB))
        if op == "delete":
            new = text[:lo] + text[hi:]
        elif op == "insert":
            new = text[:lo] + tok + " " + text[lo:]
        elif op == "replace":
            new = text[:lo] + tok + text[hi:]
        else:  # swap with the next token
            j = spans.index((lo, hi))
            if j + 1 >= len(spans):
                continue
            lo2, hi2 = spans[j + 1]
            new = text[:lo] + text[lo2:hi2] + text[hi:lo2] + text[lo:hi] + text[hi2:]
        text = new
        spans = [m.span() for m in TOKEN.finditer(text)] or [(0, 0)]
    return text


def test_seeds_are_valid() -> None:
    for text in SEEDS.values():
        front_end(text)
        assert build_model(spec_from_text(text, "seed.plug")).vars


@SETTINGS
@given(char_mutants())
def test_character_mutations_raise_only_spec_errors(text: str) -> None:
    front_end(text)


@SETTINGS
@given(token_mutants())
def test_token_mutations_raise_only_spec_errors(text: str) -> None:
    front_end(text)


@SETTINGS
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_spec_errors(data: bytes) -> None:
    front_end(data.decode("utf-8", errors="replace"))


# ---- the whole command on seeded mutants

SHIPPED = sorted((ROOT / "specs").rglob("*.plug")) + [ROOT / "tests" / "specs" / "lang" / "constructs.plug"]
EXTREME = [
    "0",
    "-1",
    "4096",
    "4611686018427387903",
    "9" * 30,
    "9" * 4301,
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "and",
    "-",
    "if",
    "sum",
    "let",
    "any",
    "bitmap(4096)",
    "[0 .. 999]",
    "replace",
    'extends "../virtio_mem_sbm.plug"',
    'extends "\x00"',
    'extends "' + "a" * 300 + '.plug"',
    'extends "m.plug"',
]
HEAD = "protocol unusual\nvar x : 0 .. 3 = 0\nvar b : bool\n"


def _chain(r: random.Random, op: str) -> str:
    n = r.randint(1, 3000)
    return HEAD + f"action a {{ x := 0 }}\ninvariant i: (x {op} x" + f" {op} x" * n + ") == x or true\n"


def _nested(r: random.Random) -> str:
    n = r.randint(1, 80)
    kind = r.choice(["if", "ite", "paren", "not", "lets"])
    if kind == "if":
        body = "x := 1"
        for _ in range(n):
            body = f"if x == 0 {{ {body} }}"
        return HEAD + f"action a {{ {body} }}\nallow deadlock\n"
    if kind == "ite":
        e = "x"
        for _ in range(n):
            e = f"if b then {e} else 0"
        return HEAD + f"action a {{ x := {e} }}\n"
    if kind == "paren":
        return HEAD + "action a { x := " + "x - (" * n + "x" + ")" * n + " % 4 }\n"
    if kind == "not":
        return HEAD + "action a { b := " + "not " * n + "b }\n"
    lets = "".join(f"let l{i} = l{i - 1} + l{i - 1}\n" for i in range(1, n))
    return HEAD + "let l0 = x\n" + lets + f"action a when l{n - 1} >= 0 {{ x := 0 }}\nallow deadlock\n"


def _unusual(r: random.Random) -> str:
    """A legal or merely unusual spec of a random size (the shapes that once crashed)."""
    kind = r.randrange(8)
    if kind == 0:  # no actions
        return HEAD + r.choice(["", "allow deadlock\n", "invariant i: x == 0\n"])
    if kind == 1:  # a big state
        n, w = r.randint(1, 8), r.choice([1, 64, 4096])
        return HEAD + f"var m : [0 .. {n - 1}] bitmap({w}) = {{}}\naction a {{ m[0][{w - 1}] := true }}\n"
    if kind == 2:  # an array written through a variable index
        n = r.randint(1, 400)
        return (
            HEAD + f"var a : [0 .. {n - 1}] bool\nvar i : 0 .. {n - 1} = 0\n"
            f"action w {{ a[i] := true; i := (i + 1) % {n} }}\ninvariant first: a[0] or i == 0\n"
        )
    if kind == 3:
        return (
            _chain(r, r.choice(["-", "+", "and", "or", "*"]))
            .replace("(x and x", "(b and b")
            .replace(" and x", " and b")
        )
    if kind == 4:
        return _nested(r)
    if kind == 5:  # a long literal
        return HEAD + f"const K = {'9' * r.randint(1, 5000)}\naction a {{ x := 0 }}\n"
    if kind == 6:  # an enum member used before its declaration
        return "protocol e\nconst K = count(v : E. v == B)\nenum E { A, B }\nvar x : 0 .. 3 = K\naction a { x := 0 }\n"
    return (  # a local let inside a sum
        "protocol s\nvar m : bitmap(4) = {}\nvar x : 0 .. 8 = 0\naction grow(b : 0 .. 3) { m[b] := true }\n"
        "action a { let k = popcount(m)\n x := sum(i : 0 .. 1. k) }\ninvariant i: x <= 1\nallow deadlock\n"
    )


def _mutate(r: random.Random, text: str) -> str:
    for _ in range(r.randint(0, 3)):
        spans = [m.span() for m in TOKEN.finditer(text)]
        if not spans:
            break
        lo, hi = spans[r.randrange(len(spans))]
        op = r.randrange(5)
        tok = r.choice(EXTREME) if r.random() < 0.3 else text[slice(*spans[r.randrange(len(spans))])]
        if op == 0:
            text = text[:lo] + text[hi:]
        elif op == 1:
            text = text[:lo] + tok + " " + text[lo:]
        elif op == 2:
            text = text[:lo] + tok + text[hi:]
        elif op == 3:  # a line repeated
            a = text.rfind("\n", 0, lo) + 1
            b = text.find("\n", hi)
            b = len(text) if b < 0 else b
            text = text[:b] + "\n" + text[a:b] + text[b:]
        else:  # a whole line dropped
            a = text.rfind("\n", 0, lo) + 1
            b = text.find("\n", hi)
            text = text[:a] + (text[b + 1 :] if b >= 0 else "")
    return text


def _case(r: random.Random, root: Path) -> tuple[Path, list[str]]:
    """One mutant written under `root`, and the command line that checks it."""
    if r.random() < 0.35:
        text, name = _unusual(r), "unusual.plug"
    else:
        seed = r.choice(SHIPPED)
        text, name = seed.read_text(), seed.name
    text = _mutate(r, text)
    path = root / "m" / name  # beside copies of the shipped specs, so `extends "../x.plug"` resolves
    if 'extends "m.plug"' in text:  # a long chain ending in this file
        for k in range(r.randint(1, 600)):
            (root / "m" / f"c{k}.plug").write_text(f'extends "{"m.plug" if k == 0 else f"c{k - 1}.plug"}"\n')
        (root / "m" / "m.plug").write_text(text.replace('extends "m.plug"', ""))
        path = root / "m" / "c0.plug"
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    engine = r.choice(["explicit"] * 6 + ["bmc", "induction", "symbolic"])
    argv = ["check", str(path), "-q", "--config", "default", "--engine", engine, "--timeout", str(BUDGET)]
    argv += ["--max-states", str(r.choice([1, 50, 300])), "--depth", "2"]
    return path, argv


CASES = 250  # per CI run: about 30 s on an idle machine; `pytest -m slow` runs 3,000
BUDGET = 2  # seconds a case may take by --timeout
SLACK = 25  # over the budget before a case counts as a hang (the shared CI machine is slow)


def fuzz_cli(cases: int, seed: int, tmp: Path, capsys: pytest.CaptureFixture[str]) -> Counter[int]:
    for f in (ROOT / "specs").glob("*.plug"):
        shutil.copy(f, tmp / f.name)
    counts: Counter[int] = Counter()
    for k in range(cases):
        r = random.Random(seed * 1_000_003 + k)
        (tmp / "m").mkdir(exist_ok=True)
        _, argv = _case(r, tmp)
        t0 = time.perf_counter()
        try:
            code = main(argv)
        except BaseException as exc:  # noqa: BLE001 - any exception escaping the CLI is the bug
            raise AssertionError(f"case {seed}/{k}: {argv} raised {exc!r}") from exc
        secs = time.perf_counter() - t0
        out = capsys.readouterr()
        assert code in (0, 1, 2, 3), (seed, k, argv, code)
        assert "Traceback" not in out.err + out.out, (seed, k, argv, out.err[-2000:])
        assert secs < BUDGET + SLACK, (seed, k, argv, secs)
        counts[code] += 1
        shutil.rmtree(tmp / "m")
    return counts


def _report(counts: Counter[int], cases: int, say: Callable[[str], None]) -> None:
    say(f"{cases} cases: " + ", ".join(f"exit {c}: {n}" for c, n in sorted(counts.items())))


def test_cli_fuzz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    counts = fuzz_cli(CASES, 1, tmp_path, capsys)
    with capsys.disabled():
        _report(counts, CASES, print)
    # the mutants reach the engines, not only the parser: every outcome occurs
    assert counts[2] >= 30 and counts[0] + counts[1] + counts[3] >= 60, counts


@pytest.mark.slow
def test_cli_fuzz_thousands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    counts = fuzz_cli(3000, 2, tmp_path, capsys)
    with capsys.disabled():
        _report(counts, 3000, print)
    assert counts[2] >= 300 and counts[0] + counts[1] + counts[3] >= 600, counts

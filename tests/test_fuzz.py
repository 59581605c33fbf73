"""Mutated specs: the front end (load, type check, ground) either accepts the text or raises
SpecError; any other exception, or a hang, is a bug in model/."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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

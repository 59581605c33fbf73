"""Typing every construct: the typed model carries the types, constants, configs, instance
counts and ground expressions a reader of the spec expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from model import build_model, config_names, load_spec, spec_from_text
from model import typed as T
from model.domains import ArrayT, BitmapT, BoolT, EnumT, IntT
from model.ground import EvalError, Field, Grounder, evaluate, execute, ground

LANG = Path(__file__).parent / "specs" / "lang"
MB = EnumT("Mb", ("UNUSED", "OFFLINE", "ONLINE"))


def model_of(text: str, config: str | None = None, **overrides: int) -> T.Model:
    return build_model(spec_from_text(text, "t.plug"), config, overrides)


def value(text: str, decls: str) -> object:
    """Evaluate an expression, grounded as the engines see it, in the initial state."""
    m = model_of(f"{decls}\nlet probe = {text}\n")
    g = Grounder(m).expr(m.lets["probe"].body, {})
    return evaluate(g, next(iter(ground(m).initial_states())))


@pytest.fixture(scope="module")
def constructs() -> T.Model:
    return build_model(load_spec(LANG / "constructs.plug"))


def test_constants_types_and_vars(constructs: T.Model) -> None:
    m = constructs
    assert (m.name, m.title) == ("constructs", "All constructs")
    assert m.consts == {"N": 3, "W": 4}
    assert m.enums == {"Mb": MB}
    got = {v.name: (v.ty, v.any_init) for v in m.vars}
    assert got == {
        "requested": (IntT(0, 12), False),
        "dev": (ArrayT(IntT(0, 2), BitmapT(4)), False),
        "mb": (ArrayT(IntT(0, 2), MB), False),
        "grid": (ArrayT(IntT(0, 2), ArrayT(MB, BoolT())), False),
        "flag": (BoolT(), False),
        "coin": (BoolT(), True),
        "pick": (MB, True),
    }
    assert m.var("requested").init == T.Lit(2, IntT(2, 2))
    assert m.var("flag").init is None


def test_lets_typed(constructs: T.Model) -> None:
    lets = constructs.lets
    assert lets["full"].ty == BitmapT(None)  # width taken from where it is used
    assert lets["plugged"].ty == IntT(0, 12)  # 3 blocks x popcount 0..4
    assert lets["is_used"].params == (("b", IntT(0, 2)),) and lets["is_used"].ty == BoolT()
    assert lets["nused"].ty == IntT(0, 3)


def test_actions_typed(constructs: T.Model) -> None:
    acts = {a.name: a for a in constructs.actions}
    assert [(a.name, a.fairness) for a in constructs.actions] == [
        ("resize", ""),
        ("plug", ""),
        ("online", "weak"),
        ("clear", "strong"),
        ("wipe", ""),
    ]
    assert acts["plug"].params == (("b", IntT(0, 2)), ("s", IntT(0, 3)))
    body = acts["plug"].body
    assert isinstance(body[0], T.AssignT) and body[0].bit is not None and body[0].target_ty == BoolT()
    assert isinstance(body[1], T.LetT) and body[1].value.ty == IntT(0, 4)
    assert isinstance(body[2], T.IfT) and isinstance(body[2].other[0], T.IfT)
    assert isinstance(body[3], T.AssignT) and len(body[3].path) == 2 and body[3].target_ty == BoolT()
    wipe = acts["wipe"].body
    assert isinstance(wipe[0], T.ForT) and wipe[0].ty == MB
    assert isinstance(acts["clear"].guard, T.Lit) and acts["clear"].guard.value is True


def test_properties_kinds_and_expectations(constructs: T.Model) -> None:
    kinds = [(p.name, p.kind, p.goal is not None) for p in constructs.properties]
    assert kinds == [
        ("bounded", "invariant", False),
        ("owned", "invariant", False),
        ("stays", "always", False),
        ("grows", "eventually", False),
        ("often", "always_eventually", False),
        ("settles", "eventually_always", False),
        ("answered", "leadsto", True),
        ("all_online", "reachable", False),
    ]
    assert constructs.allow_deadlock is True
    assert constructs.expects == {"all_online": "violated"}
    assert [p.name for p in constructs.invariants] == ["bounded", "owned"]
    assert [p.name for p in constructs.reachables] == ["all_online"]


def test_configs_values_engines_benchmark() -> None:
    spec = load_spec(LANG / "constructs.plug")
    assert config_names(spec) == ["default", "small", "wide", "big", "linux"]
    cases = {
        "default": ({"N": 3, "W": 4}, ("explicit",), False),
        "small": ({"N": 1, "W": 2}, ("explicit",), False),
        "wide": ({"N": 2, "W": 3}, ("explicit", "symbolic"), False),  # W = N + 1 follows N
        "big": ({"N": 4, "W": 5}, ("explicit",), True),
        "linux": ({"N": 8, "W": 64}, ("symbolic",), False),
    }
    for name, (consts, engines, bench) in cases.items():
        m = build_model(spec, name)
        assert (m.config.name, m.config.values, m.config.engines, m.config.benchmark) == (
            name,
            consts,
            engines,
            bench,
        )
        assert m.var("dev").ty == ArrayT(IntT(0, consts["N"] - 1), BitmapT(consts["W"]))


def test_overrides_bind_constants() -> None:
    spec = load_spec(LANG / "constructs.plug")
    m = build_model(spec, None, {"W": 2})
    assert m.consts == {"N": 3, "W": 2} and m.config.name == "default"
    m = build_model(spec, "small", {"N": 2})
    assert m.consts == {"N": 2, "W": 2}


def test_instance_counts_and_labels(constructs: T.Model) -> None:
    g = ground(constructs)
    per: dict[str, int] = {}
    for inst in g.instances:
        per[inst.action] = per.get(inst.action, 0) + 1
    assert per == {"resize": 13, "plug": 12, "online": 3, "clear": 1, "wipe": 3}
    assert [inst.id for inst in g.instances] == list(range(32))
    labels = [inst.label for inst in g.instances]
    assert labels[:2] == ["resize(n=0)", "resize(n=1)"]
    assert "plug(b=2, s=3)" in labels and "clear" in labels
    assert {inst.fairness for inst in g.instances if inst.action == "online"} == {"weak"}


def test_leaves_and_initial_states(constructs: T.Model) -> None:
    g = ground(constructs)
    assert len(g.leaves) == 1 + 3 + 3 + 9 + 3
    assert g.leaves[0] == Field("requested", (), IntT(0, 12))
    assert Field("grid", (2, 1), BoolT()) in g.leaves
    inits = list(g.initial_states())
    assert len(inits) == 6  # coin: 2 values x pick: 3 values
    assert {(s[("coin", ())], s[("pick", ())]) for s in inits} == {(c, p) for c in (False, True) for p in range(3)}
    s0 = inits[0]
    assert s0[("requested", ())] == 2 and s0[("dev", (1,))] == 0 and s0[("mb", (2,))] == 0
    assert s0[("grid", (0, 2))] is False and s0[("flag", ())] is False


def test_execute_actions_in_order(constructs: T.Model) -> None:
    g = ground(constructs)
    s = next(iter(g.initial_states()))
    plug = next(i for i in g.instances if i.label == "plug(b=1, s=2)")
    assert evaluate(plug.guard, s) is True
    s1 = execute(plug, s)
    # later statements see earlier assignments: k = popcount(dev[1]) == 1 so flag is set
    assert s1[("dev", (1,))] == 0b100 and s1[("flag", ())] is True and s1[("mb", (1,))] == 0
    assert s1[("grid", (1, 0))] is True
    for bit in (0, 1, 3):
        s1 = execute(next(i for i in g.instances if i.label == f"plug(b=1, s={bit})"), s1)
    assert s1[("dev", (1,))] == 0b1111 and s1[("mb", (1,))] == 2  # ONLINE
    assert s1[("grid", (1, 2))] is True
    wipe = next(i for i in g.instances if i.label == "wipe(b=1)")
    s2 = execute(wipe, s1)
    assert s2[("dev", (1,))] == 0 and s2[("mb", (1,))] == 0 and not any(s2[("grid", (1, j))] for j in range(3))
    clear = next(i for i in g.instances if i.action == "clear")
    s3 = execute(clear, s1)
    assert s3[("dev", (1,))] == 0  # dev & ~full: `~full` takes the width 4 of dev


def test_ground_properties_evaluate(constructs: T.Model) -> None:
    g = ground(constructs)
    s = next(iter(g.initial_states()))
    got = {p.name: evaluate(e, s) for p, e, _ in g.properties}
    assert got == {
        "bounded": True,
        "owned": True,
        "stays": True,
        "grows": False,  # plugged 0 < requested 2
        "often": True,
        "settles": True,  # flag is false
        "answered": True,
        "all_online": False,
    }
    answered = next(goal for p, _, goal in g.properties if p.name == "answered")
    assert answered is not None and evaluate(answered, s) is False


def test_extends_replace(tmp_path: Path) -> None:
    m = build_model(load_spec(LANG / "child.plug"))
    assert (m.name, m.title) == ("child", "a seeded change")
    assert m.consts == {"L": 2}
    assert [a.name for a in m.actions] == ["up", "down"]  # replaced in place, order kept
    assert m.lets["top"].body == T.Lit(2, IntT(2, 2))
    assert [p.name for p in m.properties] == ["small", "even"]
    assert m.expects == {}  # the parent's expectations are its own
    g = ground(m)
    up, down = g.instances
    s = {("x", ()): 1}
    assert evaluate(up.guard, s) is True and execute(up, s) == {("x", ()): 3}
    assert evaluate(down.guard, {("x", ()): 1}) is False and execute(down, {("x", ()): 2}) == {("x", ()): 0}
    assert set(m.sources) == {str(LANG / "child.plug"), str(LANG / "parent.plug")}


@pytest.mark.parametrize(
    "text,expected",
    [
        ("x + 2 * 3", 11),
        ("x / 2 + x % 2", 3),
        ("(0 - x) / 2", -3),  # rounds towards minus infinity
        ("(0 - x) % 3", 1),
        ("1 << 3 >> 1", 4),
        ("min(x, 3, 9)", 3),
        ("max(x, 3)", 5),
        ("popcount(m | {0, 3})", 3),
        ("popcount(m & lowbits(x))", 2),
        ("lowest(m)", 0),
        ("lowest(m & ~{0})", 2),
        ("lowest(m & {})", 8),  # empty: the width
        ("highest(m)", 2),
        ("highest(m & {})", -1),  # empty: -1
        ("lowest(~m) + highest(~m)", 1 + 7),
        ("popcount(run)", 3),  # a declared result type gives `~` its width
        ("if x > 4 then 1 else 2", 1),
        ("count(i : 0 .. 7. i < x)", 5),
        ("sum(i : 0 .. 3. i * i)", 14),
        ("-x", -5),
    ],
)
def test_ground_integer_expressions(text: str, expected: int) -> None:
    decls = "var x : 0 .. 7 = 5\nvar m : bitmap(8) = {0, 2}\nlet run : bitmap(8) = lowbits(x) & ~lowbits(2)"
    assert value(text, decls) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("x in {1, 5}", True),
        ("x in {1, 2}", False),
        ("2 in m and not (1 in m)", True),
        ("m[0] and not m[1]", True),
        ("m subseteq {0, 1, 2}", True),
        ("m & {2, 3} == {2}", True),
        ("m | {1} == {0, 1, 2}", True),
        ("~m == {1, 3, 4, 5, 6, 7}", True),
        ("false implies x == 0", True),
        ("forall i : 0 .. 7. i <= x or m[i] == false", True),
        ("exists e : Mb. e == ONLINE", True),
        ("st == OFFLINE or st != UNUSED", True),
        ("forall b : bool. b or not b", True),
    ],
)
def test_ground_boolean_expressions(text: str, expected: bool) -> None:
    decls = "enum Mb { UNUSED, OFFLINE, ONLINE }\nvar x : 0 .. 7 = 5\nvar m : bitmap(8) = {0, 2}\nvar st : Mb = OFFLINE"
    assert value(text, decls) is expected


def test_array_equality_and_dynamic_index() -> None:
    m = model_of(
        "var a : [0 .. 2] [bool] 0 .. 3 = 1\nvar b : [0 .. 2] [bool] 0 .. 3 = 1\nvar i : 0 .. 3 = 0\n"
        "action set { a[i][true] := 3 }\ninvariant same: a == b\ninvariant row: a[i] == b[i]\n"
    )
    g = ground(m)
    s = next(iter(g.initial_states()))
    props = {p.name: e for p, e, _ in g.properties}
    assert evaluate(props["same"], s) is True
    s1 = execute(g.instances[0], s)
    assert s1[("a", (0, 1))] == 3 and s1[("a", (0, 0))] == 1
    assert evaluate(props["same"], s1) is False and evaluate(props["row"], s1) is False
    assert evaluate(props["row"], {**s1, ("i", ()): 1}) is True
    with pytest.raises(EvalError):  # index 3 of a 0..2 array is a runtime range violation
        execute(g.instances[0], {**s, ("i", ()): 3})


def test_assignment_out_of_range_is_a_runtime_violation() -> None:
    m = model_of("var x : 0 .. 3 = 3\naction inc { x := x + 1 }")
    assert m.actions[0].body[0].value.ty == IntT(1, 4)  # type: ignore[union-attr]
    inst = ground(m).instances[0]
    assert execute(inst, {("x", ()): 3}) == {("x", ()): 4}  # the engines check ranges
    with pytest.raises(EvalError, match="out of its range 0..3"):
        execute(inst, {("x", ()): 3}, check_ranges=True)


def test_enum_indexed_array_and_bool_index() -> None:
    m = model_of("enum E { A, B }\nvar t : [E] bool\nvar u : [bool] E = B\naction f(e : E) { t[e] := u[t[e]] == B }")
    assert m.var("t").ty == ArrayT(EnumT("E", ("A", "B")), BoolT())
    g = ground(m)
    assert [i.label for i in g.instances] == ["f(e=A)", "f(e=B)"]
    s = next(iter(g.initial_states()))
    assert s == {("t", (0,)): False, ("t", (1,)): False, ("u", (0,)): 1, ("u", (1,)): 1}
    assert execute(g.instances[1], s)[("t", (1,))] is True


def test_negative_ranges_and_default_values() -> None:
    m = model_of("var x : -3 .. 2\nvar e : [1 .. 2] bitmap(3)\nvar f : bool")
    s = next(iter(ground(m).initial_states()))
    assert s == {("x", ()): -3, ("e", (0,)): 0, ("e", (1,)): 0, ("f", ()): False}
    assert m.var("x").ty == IntT(-3, 2)

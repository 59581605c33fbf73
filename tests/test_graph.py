"""The networkx state graph, its size limits, and `plugcheck graph` pictures."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main
from checker.explicit import Budget, Exploration, explore
from checker.graph import GraphTooLarge, build_graph, check_size
from checker.picture import PictureError, write_picture
from checker.results import RunResult
from model import build_model, load_spec

SPECS = Path(__file__).parent / "specs" / "liveness"
REF = Path(__file__).parents[1] / "specs" / "ref_sbm.plug"


def explored(path: Path, config: str | None = None) -> tuple[Any, RunResult, Exploration]:
    model = build_model(load_spec(path), config, {})
    res, ex = explore(model, Budget(max_graph_states=1))
    return model, res, ex


def test_graph_has_every_state_and_transition_with_instance_ids() -> None:
    model, res, ex = explored(REF)
    g = build_graph(ex)
    assert g.number_of_nodes() == res.states == 675
    assert sum(len(d["inst"]) for _, _, d in g.edges(data=True)) == res.transitions == 5557
    assert set(g.nodes) == set(ex.states)  # nodes are the packed states
    # every edge label is an instance whose successor is that edge's target
    for u, v, d in list(g.edges(data=True))[:200]:
        for iid in d["inst"]:
            assert (iid, v) in ex.compiled.successors(u)
    assert g.pred[ex.states[1]]  # predecessors are filled too


def test_graph_refuses_above_the_limit_before_building() -> None:
    _, res, ex = explored(REF)
    with pytest.raises(GraphTooLarge, match="675 states, above the limit of 100"):
        build_graph(ex, 100, res.transitions)
    with pytest.raises(GraphTooLarge, match="needs about .* of memory but only"):
        check_size(10**9, 10**11, 10**10)


def test_dot_labels_changed_variables_and_highlights_the_lasso(tmp_path: Path) -> None:
    model = build_model(load_spec(SPECS / "counter_unfair.plug"), None, {})
    out = tmp_path / "c.dot"
    pic = write_picture(model, out)
    text = out.read_text()
    assert (pic.states, pic.edges) == (8, 14)
    assert pic.highlighted == ["done", "settles", "reacts"]
    assert 's0 [label="#0 (initial)\\nx=0\\nflag=false", color=red' in text  # full initial state
    assert 's1 [label="#1\\nx=1", color=red' in text  # only what changed from its parent
    assert 's2 -> s0 [label="toggle", color=red' in text  # the cycle back to the loop state
    assert 's3 -> s5 [label="inc"];' in text  # not on any counterexample


def test_dot_fills_violating_and_deadlocked_states(tmp_path: Path) -> None:
    f = tmp_path / "d.plug"
    f.write_text("protocol d\nvar x : 0 .. 3 = 0\naction inc when x < 2 { x := x + 1 }\ninvariant low: x < 2\n")
    pic = write_picture(build_model(load_spec(f), None, {}), tmp_path / "d.dot")
    text = (tmp_path / "d.dot").read_text()
    assert pic.bad_states == 1
    assert 's2 [label="#2\\nx=2", style=filled, fillcolor="#f4a6a6", color=red' in text
    assert "low" in pic.highlighted and "deadlock" in pic.highlighted


def test_picture_refuses_large_models_and_bad_names(tmp_path: Path) -> None:
    model = build_model(load_spec(REF), None, {})
    with pytest.raises(PictureError, match="more than 100 states: too many to draw"):
        write_picture(model, tmp_path / "r.dot", 100)
    with pytest.raises(PictureError, match="must end in .dot or .svg"):
        write_picture(model, tmp_path / "r.png")


@pytest.mark.skipif(shutil.which("dot") is not None, reason="graphviz is installed")
def test_svg_without_graphviz_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(SPECS / "counter.plug"), "--out", str(tmp_path / "c.svg")]) == 2
    assert "SVG needs graphviz's `dot`, which is not installed" in capsys.readouterr().err
    assert not (tmp_path / "c.svg").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed")
def test_svg_with_graphviz(tmp_path: Path) -> None:
    assert main(["graph", str(SPECS / "counter_unfair.plug"), "--out", str(tmp_path / "c.svg")]) == 0
    assert (tmp_path / "c.svg").read_text().lstrip().startswith("<?xml")


def test_graph_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.dot"
    assert main(["graph", str(REF), "--config", "tiny", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out and out.read_text().startswith("digraph")
    assert main(["graph", str(REF), "--out", str(out), "--max-graph-states", "50"]) == 2
    assert "too many to draw" in capsys.readouterr().err
    assert main(["graph", str(REF), "--config", "nosuch", "--out", str(out)]) == 2
    assert main(["graph", str(tmp_path / "missing.plug"), "--out", str(out)]) == 2


def test_check_max_graph_states_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(SPECS / "counter.plug"), "--max-graph-states", "3", "--json"])
    assert code == 3
    out = capsys.readouterr().out
    assert '"status": "inconclusive"' in out and "above the limit of 3" in out


def test_tarjan_agrees_with_networkx_on_random_subgraphs() -> None:
    import random

    import networkx as nx

    from checker.liveness import strongly_connected

    rng = random.Random(7)
    for _ in range(50):
        n = rng.randint(1, 30)
        g = nx.gnp_random_graph(n, rng.choice([0.05, 0.1, 0.2]), directed=True, seed=rng.randint(0, 10**6))
        nodes = {v for v in g.nodes if rng.random() < 0.8}
        ours = sorted(sorted(c) for c in strongly_connected(g._adj, nodes))
        theirs = sorted(sorted(c) for c in nx.strongly_connected_components(g.subgraph(nodes)))
        assert ours == theirs

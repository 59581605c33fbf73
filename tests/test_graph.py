"""The networkx state graph (the liveness oracle), its size limits, and `plugcheck graph` pictures:
projections, counterexamples, whole small graphs; SVG checked with an XML parser."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main
from checker.graph import GraphTooLarge, build_graph, check_size
from checker.picture import PictureError, write_picture
from checker.results import RunResult
from checker.search import Budget, Exploration, explore
from model import build_model, load_spec

SPECS = Path(__file__).parent / "specs" / "liveness"
REF = Path(__file__).parents[1] / "specs" / "ref_sbm.plug"
SBM = Path(__file__).parents[1] / "specs" / "virtio_mem_sbm.plug"


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


def test_dot_names_small_states_fully_and_highlights_the_lasso(tmp_path: Path) -> None:
    model = build_model(load_spec(SPECS / "counter_unfair.plug"), None, {})
    out = tmp_path / "c.dot"
    pic = write_picture(model, out)
    text = out.read_text()
    assert (pic.states, pic.nodes, pic.edges) == (8, 8, 14)
    assert pic.highlighted == ["done", "settles", "reacts"]
    # two leaves: every state is named in full, so no two boxes read the same
    assert 'n0 [label="#0 (initial)\\nx=0\\nflag=false", color="#c62828", penwidth=2, peripheries=2];' in text
    assert 'n1 [label="#1\\nx=1\\nflag=false", color="#c62828"' in text
    assert 'n2 -> n0 [label="toggle", color="#c62828"' in text  # the cycle back to the loop state
    assert 'n3 -> n5 [label="inc"];' in text  # not on any counterexample


def test_dot_fills_violating_and_deadlocked_states(tmp_path: Path) -> None:
    f = tmp_path / "d.plug"
    f.write_text("protocol d\nvar x : 0 .. 3 = 0\naction inc when x < 2 { x := x + 1 }\ninvariant low: x < 2\n")
    pic = write_picture(build_model(load_spec(f), None, {}), tmp_path / "d.dot")
    text = (tmp_path / "d.dot").read_text()
    assert pic.bad_states == 1
    assert 'n2 [label="#2\\nx=2", style=filled, fillcolor="#f4a6a6", color="#c62828"' in text
    assert "low" in pic.highlighted and "deadlock" in pic.highlighted


def test_picture_refuses_large_whole_graphs_and_bad_names(tmp_path: Path) -> None:
    model = build_model(load_spec(REF), None, {})
    with pytest.raises(PictureError, match="more than 100 states: too many to draw .*--project EXPR"):
        write_picture(model, tmp_path / "r.dot", 100)
    with pytest.raises(PictureError, match="must end in .dot or .svg"):
        write_picture(model, tmp_path / "r.png")
    with pytest.raises(
        PictureError, match="`mb\\[7\\]` names no state variable or element of ref_sbm .*variables: requested"
    ):
        write_picture(model, tmp_path / "r.svg", project=["mb[7]"])
    with pytest.raises(PictureError, match="no property `nosuch`"):
        write_picture(model, tmp_path / "r.svg", trace="nosuch")


def boxes(svg: str) -> list[tuple[float, float, float, float]]:
    """The outer rectangle of every node in an SVG the project wrote, parsed as XML."""
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    out = []
    for g in root.iter(f"{ns}g"):
        if g.get("class") == "node":
            r = g.find(f"{ns}rect")
            assert r is not None
            out.append(tuple(float(r.get(k, "nan")) for k in ("x", "y", "width", "height")))
    return out  # type: ignore[return-value]


def assert_no_overlap(svg: str, count: int) -> None:
    bs = boxes(svg)
    assert len(bs) == count
    for i, (x, y, w, h) in enumerate(bs):
        assert w > 0 and h > 0
        for x2, y2, w2, h2 in bs[i + 1 :]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y, "node boxes overlap"


def test_projection_of_sbm_on_a_memory_block_is_its_state_machine(tmp_path: Path) -> None:
    from checker.liveness.record import search_edges
    from checker.picture.svg import to_svg
    from checker.picture.views import projection

    model = build_model(load_spec(SBM), None, {})
    res, ex = explore(model, Budget(max_graph_states=0))
    d = projection(model, ex, search_edges(ex, res.transitions), ["mb[0]"])
    assert res.states == 68518 and len(d.nodes) == 8  # every MbState value is reached
    assert_no_overlap(to_svg(d), 8)
    text = d.to_dot()
    assert 'n0 [label="mb[0] = UNUSED\\n5,695 states", peripheries=2];' in text  # the initial value first
    assert "210,616 transitions that keep the value are not drawn" in text
    # the transitions drawn and the ones that keep the value add up to every transition
    drawn = sum(int(c.replace(",", "")) for c in re.findall(r"\((\d[\d,]*)\)", text))
    assert drawn + 210616 == 351385
    assert 'label="online_pages (2,406)"' in text  # OFFLINE -> KERNEL / MOVABLE


def test_projection_onto_two_values_and_a_whole_variable(tmp_path: Path) -> None:
    model = build_model(load_spec(REF), "tiny", {})
    pic = write_picture(model, tmp_path / "a.dot", project=["mb[0]", "requested"])
    text = (tmp_path / "a.dot").read_text()
    assert '"mb[0] = UNUSED\\nrequested = 0\\n' in text and pic.nodes > 4
    pic2 = write_picture(model, tmp_path / "b.dot", project=["mb"])  # B = 1: mb is mb[0]
    assert pic2.nodes <= 8 and "mb[0] = " in (tmp_path / "b.dot").read_text()


def test_counterexample_picture_is_the_trace_and_its_neighbours(tmp_path: Path) -> None:
    out = tmp_path / "cx.svg"
    model = build_model(load_spec(SPECS / "ref_sbm_live.plug"), None, {})
    pic = write_picture(model, out, trace="offline_gets_onlined", layout="builtin")
    svg = out.read_text()
    assert pic.highlighted == ["offline_gets_onlined"]
    # 4 steps, the last one back to the state of step 2: 3 trace states, 3 red arrows
    assert svg.count('stroke="#c62828" stroke-width="2" marker-end') == 3
    assert "step 2: plug_new / step 3: resize" in svg
    assert_no_overlap(svg, pic.nodes)
    assert pic.nodes > 3  # states one step off the trace are drawn too
    with pytest.raises(PictureError, match="`no_online_unplugged` is holds: there is no counterexample"):
        write_picture(model, tmp_path / "x.svg", trace="no_online_unplugged")


def test_svg_without_graphviz(tmp_path: Path) -> None:
    assert (
        main(["graph", str(SPECS / "counter_unfair.plug"), "--out", str(tmp_path / "c.svg"), "--layout", "builtin"])
        == 0
    )
    svg = (tmp_path / "c.svg").read_text()
    assert svg.startswith("<?xml")
    assert_no_overlap(svg, 8)


@pytest.mark.skipif(shutil.which("dot") is not None, reason="graphviz is installed")
def test_dot_layout_without_graphviz_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c.svg"
    assert main(["graph", str(SPECS / "counter.plug"), "--out", str(out), "--layout", "dot"]) == 2
    assert "graphviz's `dot` is not installed" in capsys.readouterr().err
    assert not out.exists()


def test_graph_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.dot"
    assert main(["graph", str(REF), "--config", "tiny", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out and out.read_text().startswith("digraph")
    assert main(["graph", str(REF), "--project", "mb[0]", "--out", str(out)]) == 0
    assert "8 boxes" in capsys.readouterr().out or out.read_text().count("mb[0] = ") >= 4
    assert main(["graph", str(REF), "--project", "nosuch", "--out", str(out)]) == 2
    assert "`nosuch` names no state variable" in capsys.readouterr().err
    assert main(["graph", str(REF), "--out", str(out), "--max-graph-states", "50"]) == 2
    assert "too many to draw" in capsys.readouterr().err
    assert main(["graph", str(REF), "--config", "nosuch", "--out", str(out)]) == 2
    assert main(["graph", str(tmp_path / "missing.plug"), "--out", str(out)]) == 2


def test_check_max_graph_states_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(SPECS / "counter.plug"), "--max-graph-states", "3", "--json"])
    assert code == 3
    cap = capsys.readouterr()
    assert '"status": "inconclusive"' in cap.out and "above the limit of 3" in cap.out
    assert "--max-graph-states is deprecated; use --max-graph-memory" in cap.err

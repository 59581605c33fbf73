"""The two findings in specs/findings/ and their proposed fixes: each finding reproduces with
its exact shortest counterexample in its realistic form, and each fix holds where the finding
fails (specs/findings/README.md tells the stories). The larger configs of the fixes are
`benchmark` configs (minutes each) and are not run here. The lost wake-up and its fix take
about 10 s each (209,000 states with liveness): three memory blocks are the least that shows
it at Linux's smallest offline threshold, and the checks are cached for the whole session."""

from __future__ import annotations

from pathlib import Path

from checker.replay import replay
from checker.results import HOLDS, PROVED, VIOLATED, PropertyResult
from model import build_model, load_spec
from tests.test_specs import check, prop

SPECS = Path(__file__).resolve().parent.parent / "specs"
RACE = "findings/sbm_cleanup_race.plug"
RACE_FIXED = "findings/sbm_cleanup_race_fixed.plug"
WAKEUP = "findings/sbm_enospc_lost_wakeup.plug"
WAKEUP_FIXED = "findings/sbm_enospc_lost_wakeup_fixed.plug"
ONLINE = {"LX_KERNEL", "LX_MOVABLE"}

# finding -> {property: trace length, or (lasso length, loop index) for liveness}; the
# cleanup race's liveness is left to the pytest plugin (its state graph is the large one)
FINDINGS: dict[str, dict[str, int | tuple[int, int]]] = {
    RACE: {"settled_no_unplugged_block": 61},
    WAKEUP: {"settled_on_target": 27, "plug_progress": (28, 27)},
}


def trace_of(p: PropertyResult) -> list[tuple[str | None, dict]]:
    assert p.trace is not None
    return [(s.action, s.state) for s in p.trace.steps]


def test_findings_reproduce_with_their_shortest_traces() -> None:
    for name, want in FINDINGS.items():
        res = check(name)
        for pname, length in want.items():
            p = prop(res, pname)
            assert p.expected == "violated" and p.status == VIOLATED, f"{name}: {pname} is {p.status}"
            assert p.trace is not None
            if isinstance(length, tuple):
                assert (len(p.trace), p.trace.loop) == length
            else:
                assert len(p.trace) == length and p.trace.loop is None
        # the spec declares exactly these expectations (the race's lasso is checked by the plugin)
        declared = set(build_model(load_spec(SPECS / name)).expects)
        assert declared == set(want) | ({"unplugged_block_removed"} if name == RACE else set())


def test_cleanup_race_removal_fails_while_online_then_user_space_offlines_and_onlines() -> None:
    steps = trace_of(prop(check(RACE), "settled_no_unplugged_block"))
    fails = [k for k, (a, _) in enumerate(steps) if a == "oar_fail"]
    # every failed offline_and_remove_memory() hits an online block
    assert fails and all(steps[k][1]["lx"][steps[k][1]["cur"]] in ONLINE for k in fails)
    stuck = steps[-1][1]["mb"].index("MOVABLE_PARTIAL")
    assert steps[-1][1]["sb"][stuck] == [] and steps[-1][1]["lx"][stuck] == "LX_MOVABLE"
    # user space offlines the stuck block after its removal failed ...
    offline = next(k for k, (a, s) in enumerate(steps) if a == "going_offline" and s["mm_b"] == stuck)
    assert any(k < offline and steps[k][1]["cur"] == stuck for k in fails)
    # ... and onlines it to ZONE_MOVABLE while the cleanup walk has dropped hotplug_mutex to remove
    # another block, whose removal then succeeds
    walk = next(k for k, (a, s) in enumerate(steps) if a == "cleanup" and s["pc"] == "OAR")
    online = next(k for k, (a, s) in enumerate(steps) if a == "going_online" and k > walk)
    assert steps[online][1]["mm_b"] == stuck and steps[online][1]["mm_movable"] is True
    assert [a for a, _ in steps[online:]].index("oar_ok") > 0
    assert steps[walk][1]["cur"] != stuck and not steps[-1][1]["have_unplugged_mb"]


def test_cleanup_race_needs_user_space_offlining() -> None:
    # without user-space offlining the driver never leaves an unplugged block behind
    res = check(RACE, (("OFF", 0),))
    assert prop(res, "settled_no_unplugged_block").status == HOLDS
    # the seeded bug L2 needs no offlining and is much shorter than the residual race
    assert len(prop(check("bugs/L2.plug"), "settled_no_unplugged_block").trace or []) < 61


def test_lost_wakeup_at_the_smallest_linux_threshold_with_the_stall_as_a_step() -> None:
    model = build_model(load_spec(SPECS / WAKEUP))
    assert model.consts["T"] == 2  # max(2 memory blocks, 1 GiB) is never below two blocks
    steps = trace_of(prop(check(WAKEUP), "settled_on_target"))
    enospc = max(k for k, (a, s) in enumerate(steps) if a == "plug_add" and s["rc"] == "ENOSPC")
    assert steps[enospc - 1][1]["offline_size"] == 2  # could_add fails: two blocks wait for onlining
    names = [a for a, _ in steps]
    assert names[enospc + 1] == "stall" and names[-2:] == ["resume", "run_end"]
    # both MEM_ONLINEs land while the work item is stalled (wq_active still set): no retry
    onlined = [s for a, s in steps[enospc:] if a == "online_pages"]
    assert len(onlined) == 2 and all(s["stalled"] and not s["wq_pending"] for s in onlined)
    last = steps[-1][1]
    assert last["offline_size"] == 0 and last["drv_plugged"] < last["view_req"] and not last["timer"]


def test_fixes_hold_at_their_default_configs() -> None:
    for name in (RACE_FIXED, WAKEUP_FIXED):
        res = check(name)
        assert not res.stopped and res.verdict == "pass", name
        assert not build_model(load_spec(SPECS / name)).expects
        for p in res.properties:
            assert p.status in (HOLDS, PROVED) or p.kind == "reachable", f"{name}: {p.name} is {p.status}"
    assert prop(check(RACE_FIXED), "unplugged_block_removed").status == HOLDS
    assert prop(check(WAKEUP_FIXED), "plug_progress").status == HOLDS


def test_the_cleanup_fix_is_checked_against_the_wider_environment() -> None:
    # the fix lets removals of offline blocks fail too; the finding fails there as well, so the
    # fix, not the environment, makes the difference
    res = check(RACE, (("OAR_FAILS_OFFLINE", 1),))
    assert prop(res, "settled_no_unplugged_block").status == VIOLATED
    assert build_model(load_spec(SPECS / RACE_FIXED)).consts["OAR_FAILS_OFFLINE"] == 1


def test_fixes_have_larger_benchmark_configs() -> None:
    for name, consts in ((RACE_FIXED, {"B": 3}), (WAKEUP_FIXED, {"B": 4, "T": 2})):
        model = build_model(load_spec(SPECS / name), "larger")
        assert model.config.benchmark
        assert {k: model.consts[k] for k in consts} == consts


def test_the_lost_wakeup_fix_changes_exactly_the_last_step_of_the_finding() -> None:
    # the finding's trace replayed on the fixed spec: legal up to the end of the work item,
    # where the fixed virtio_mem_run_wq queues the work again instead of settling
    p = prop(check(WAKEUP), "settled_on_target")
    assert p.trace is not None
    out = replay(build_model(load_spec(SPECS / WAKEUP_FIXED)), p.trace)
    assert not out.ok and out.step == len(p.trace) and out.label == "run_end"
    assert "wq_pending" in out.reason

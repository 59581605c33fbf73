"""The virtio-mem specs under specs/: every correct spec holds at its small config (with the
state counts, so regressions in a spec or an engine show), every seeded historical bug is
caught with its exact shortest counterexample (the findings and their fixes: test_findings.py).

The pytest plugin also collects specs/ and checks every verdict; these tests pin the numbers
and the shapes of the counterexamples. Liveness is skipped for the two largest state spaces
here (the plugin checks it) to keep this file fast."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from checker.results import HOLDS, INCONCLUSIVE, PROVED, VIOLATED, PropertyResult, RunResult
from checker.search import Budget, explore
from checker.symbolic.induction import induction
from checker.symbolic.unroll import SymOptions
from model import SpecError, build_model, load_spec

SPECS = Path(__file__).resolve().parent.parent / "specs"
BIG = {"virtio_mem_sbm.plug", "findings/sbm_cleanup_race.plug"}  # liveness left to the plugin


@cache
def check(name: str, overrides: tuple[tuple[str, int], ...] = ()) -> RunResult:
    budget = Budget(max_graph_states=0) if name in BIG else Budget()
    res, _ = explore(build_model(load_spec(SPECS / name), None, dict(overrides)), budget)
    return res


def prop(res: RunResult, name: str) -> PropertyResult:
    return next(p for p in res.properties if p.name == name)


# spec -> (states, transitions, depth) at its default config
CORRECT = {
    "virtio_mem_sbm.plug": (68518, 351385, 65),
    "virtio_mem_bbm.plug": (29388, 161634, 44),
    "virtio_mem_device.plug": (26978, 54497, 11),
    "virtio_mem_2020.plug": (13115, 43754, 27),
    "virtio_mem_sbm_2dev.plug": (10057, 35816, 12),
    "virtio_mem_qemu.plug": (38776, 81220, 16),
    "virtio_mem_sbm_pm.plug": (20419, 97091, 48),
    "virtio_mem_sbm_errors.plug": (4344, 19758, 47),
    "virtio_mem_guest_reads.plug": (1008, 5118, 14),
    "virtio_mem_sbm_pagerefs.plug": (3436, 30312, 16),
}


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_spec_holds_with_known_state_counts(name: str) -> None:
    res = check(name)
    assert not res.stopped
    assert (res.states, res.transitions, res.depth) == CORRECT[name]
    for p in res.properties:
        if p.kind == "liveness" and name in BIG:
            continue
        assert p.status in (HOLDS, PROVED), f"{name}: {p.name} ({p.kind}) is {p.status}: {p.message}"
    assert res.verdict == "pass" or name in BIG


def test_sbm_invariants_cover_the_safety_list() -> None:
    names = {p.name for p in check("virtio_mem_sbm.plug").properties}
    # PROTOCOL.md §9: I1..I10, I12, I13 and the L4 property are stated for SBM
    for inv in (
        "dev_accounting", "usable_containment", "driver_within_device", "driver_matches_device",
        "driver_accounting", "no_online_unplugged", "unplug_precondition", "state_matches_bitmap",
        "state_matches_linux", "onlining_guard", "offline_accounting", "never_broken",
        "requests_well_formed", "startup_order", "no_stale_unplug",
    ):  # fmt: skip
        assert inv in names


# SBM with suspend: what follows when plugged memory is gone after a wake-up (P1, P2)
MEMORY_LOST_ON_WAKE: dict[str, int | tuple[int, int] | None] = {
    "driver_within_device": 16,
    "driver_matches_device": 16,
    "driver_accounting": 19,
    "no_online_unplugged": 18,
    "never_broken": 24,
    "no_plugged_mismatch": 19,
    "aux_no_error": 22,
    "aux_driver_tracks_device": 16,
    "aux_startup": 8,
    "unplug_progress": (40, 39),
    "config_read": (28, 27),
}

# bug spec -> {property: trace length, or (lasso length, loop index) for liveness}
BUGS: dict[str, dict[str, int | tuple[int, int] | None]] = {
    "bugs/L2.plug": {"settled_no_unplugged_block": 31, "unplugged_block_removed": (32, 31)},
    "bugs/L4.plug": {"no_stale_unplug": 24},
    "bugs/L5.plug": {"offline_only_owned": 17, "run_terminates": (23, 19), "aux_wait_block": 16},
    "bugs/L15.plug": {"no_online_unplugged": 10, "buddy_only_online": 10},
    "bugs/Q1.plug": {
        "driver_within_device": 12,
        "driver_matches_device": 12,
        "driver_accounting": 19,
        "no_online_unplugged": 16,
        "never_broken": 23,
        "no_plugged_mismatch": 7,
        "config_read": (27, 26),
        "aux_driver_tracks_device": 12,
        "aux_no_error": 15,
        "aux_startup": 2,
    },  # fmt: skip
    "bugs/C1.plug": {"never_broken": 13, "all_plugged": None, "config_read": (16, 15), "aux_no_error": 11},
    "bugs/Q2.plug": {"listeners_match_plugged": 5, "non_ack_keeps_listeners": 5},
    "bugs/Q3.plug": {
        "migration_freezes_bitmap": 4,
        "destination_matches_source": 6,
        "r18_states_match_acks": 6,
        "aux_acked_is_snapshot": 8,
    },
    "bugs/P1.plug": {"r31_no_s3_with_plugged": 8, **MEMORY_LOST_ON_WAKE},
    "bugs/P2.plug": MEMORY_LOST_ON_WAKE,
    "bugs/E1.plug": {"never_broken": 16, "unplug_progress": (18, 17), "config_read": (18, 17)},
    "bugs/K1.plug": {"no_ram_unplugged": 4, "aux_added_no_memmap": 3, "aux_no_boot_ram": 4},
    "bugs/V1.plug": {"r24_unplugged_not_read": 5, "r25_inaccessible_not_read": 5},
    "bugs/V2.plug": {"r24_unplugged_not_read": 5, "r25_inaccessible_not_read": 5},
    "bugs/G1.plug": {
        "buddy_only_plugged": 9,
        "skipped_pages_unreferenced": 8,
        "unplugged_page_offline": 9,
        "ref_accounting": 10,
        "no_refcount_underflow": 13,
        "aux_stray": 11,
    },
    "bugs/G2.plug": {"fake_offline_held": 5, "ref_accounting": 5, "no_refcount_underflow": 10},
}


@pytest.mark.parametrize("name", sorted(BUGS))
def test_seeded_bug_is_caught_with_its_shortest_trace(name: str) -> None:
    res = check(name)
    for pname, want in BUGS[name].items():
        p = prop(res, pname)
        assert p.expected == "violated"
        assert p.status == VIOLATED, f"{name}: {pname} is {p.status}"
        if want is None:  # an unreachable `reachable` witness has no trace
            assert p.trace is None
        elif isinstance(want, tuple):
            assert p.trace is not None and (len(p.trace), p.trace.loop) == want
        else:
            assert p.trace is not None and len(p.trace) == want and p.trace.loop is None
    # the spec declares exactly these expectations, and every other property holds
    declared = set(build_model(load_spec(SPECS / name)).expects)
    if name in BIG:
        assert set(BUGS[name]) <= declared
    else:
        assert declared == set(BUGS[name])
        assert res.verdict == "pass"


def actions(p: PropertyResult) -> list[str | None]:
    assert p.trace is not None
    return [s.action for s in p.trace.steps]


def test_q2_trace_rolls_back_a_plug_with_the_wrong_section() -> None:
    p = prop(check("bugs/Q2.plug"), "listeners_match_plugged")
    assert actions(p)[1:] == ["host_resize", "register", "register", "send", "reply_populate_fails"]
    last = p.trace.steps[-1] if p.trace is not None else None
    assert last is not None and last.args == {"f": 1} and last.state["mapped"] == [[0], []]
    assert last.state["bm"] == [] and last.state["resp"] == "BUSY"


def test_q3_trace_plugs_during_precopy_and_switches_over_stale() -> None:
    p = prop(check("bugs/Q3.plug"), "destination_matches_source")
    steps = actions(p)
    assert steps.index("migrate_start") < steps.index("reply") < steps.index("switch_over")


def test_p1_trace_suspends_to_ram_with_memory_plugged_and_loses_it() -> None:
    p = prop(check("bugs/P1.plug"), "driver_within_device")
    assert p.trace is not None
    last = p.trace.steps[-1]
    assert last.action == "suspend_resume" and last.args == {"t": "S3", "lost": True}
    assert last.state["persistent"] is False and last.state["dev_plugged"] == 0


def test_e1_trace_breaks_the_driver_on_a_transient_enomem() -> None:
    steps = actions(prop(check("bugs/E1.plug"), "never_broken"))
    assert steps[-4:] == ["add_fail", "dev_reply", "pa_rolled_back", "run_end"]


@pytest.mark.parametrize(
    "name,prop_name,steps",
    [
        ("bugs/K1.plug", "no_ram_unplugged", ["resize", "plug", "add", "kexec"]),
        ("bugs/V1.plug", "r24_unplugged_not_read", ["resize", "plug", "add", "online_block", "read_kcore"]),
        ("bugs/V2.plug", "r24_unplugged_not_read", ["resize", "plug", "add", "crash", "read_vmcore"]),
    ],
)
def test_reader_and_reboot_bugs_take_the_path_of_their_fix(name: str, prop_name: str, steps: list[str]) -> None:
    p = prop(check(name), prop_name)
    assert actions(p)[1:] == steps
    if name != "bugs/K1.plug":  # the page read is the unplugged subblock 1
        assert p.trace is not None and p.trace.steps[-1].args == {"s": 1}


def test_g1_trace_frees_an_unplugged_page_when_the_stray_reference_is_put() -> None:
    p = prop(check("bugs/G1.plug"), "buddy_only_plugged")
    assert p.trace is not None
    # the subblock is fake-offlined and unplugged, a speculative reference comes before
    # MEM_GOING_OFFLINE drops the driver's, and its put frees the page to the buddy
    assert actions(p)[-5:] == ["fake_offline", "unplug_ack", "stray_get", "going_offline", "stray_put"]
    last = p.trace.steps[-1]
    assert last.args == {"s": 0} and last.state["loc"][0] == "FREE" and last.state["dev"] == []
    assert last.state["blk"] == "GOING_OFFLINE"


def test_g2_trace_cancels_an_offlining_and_leaves_the_driver_without_its_reference() -> None:
    p = prop(check("bugs/G2.plug"), "fake_offline_held")
    assert actions(p)[-3:] == ["online_block", "going_offline", "cancel_offline"]
    last = p.trace.steps[-1] if p.trace is not None else None
    assert last is not None and last.state["blk"] == "ONLINE"
    held = [r for lc, r in zip(last.state["loc"], last.state["ref"], strict=True) if lc == "DRIVER"]
    assert held == [0, 0]  # both unplugged pages are the driver's, without its reference


def test_pagerefs_stray_reference_on_a_fake_offline_page_is_reachable_and_harmless() -> None:
    # the correct spec's MEM_GOING_OFFLINE: with a speculative reference on an unplugged page the
    # offlining is refused, so no reachable state has a skipped page with a count (G1 has one)
    res = check("virtio_mem_sbm_pagerefs.plug")
    assert prop(res, "skipped_pages_unreferenced").status == HOLDS
    witness = prop(res, "stray_on_fake_offline")  # the situation G1 needs is reachable here too
    assert witness.status == HOLDS and witness.trace is not None and actions(witness)[-1] == "stray_get"


def test_pagerefs_invariants_are_inductive_and_g1_is_not_provable() -> None:
    # the auxiliary invariants make the page-reference invariants inductive (proved at 64
    # subblocks with --config linux, README); with G1's drop they are not
    spec = SPECS / "virtio_mem_sbm_pagerefs.plug"
    res = induction(build_model(load_spec(spec), None, {"S": 4}), SymOptions())
    assert {p.name: p.status for p in res.properties if p.kind == "invariant"} == {
        name: PROVED
        for name in (
            "buddy_only_plugged", "unplugged_page_offline", "ref_accounting", "fake_offline_held",
            "skipped_pages_unreferenced", "no_refcount_underflow", "driver_page_taken",
            "offline_memmap_stale", "aux_dirty", "aux_stray",
        )
    }  # fmt: skip
    bug = induction(build_model(load_spec(SPECS / "bugs/G1.plug"), None, {"S": 4}), SymOptions())
    cti = prop(bug, "skipped_pages_unreferenced")  # the drop the WARN reports breaks it in one step
    assert cti.status == INCONCLUSIVE and "going_offline breaks `skipped_pages_unreferenced`" in cti.message
    assert prop(bug, "buddy_only_plugged").status == INCONCLUSIVE


def test_q1_trace_is_a_device_reset_after_a_plug() -> None:
    steps = actions(prop(check("bugs/Q1.plug"), "driver_within_device"))
    assert "pa_plugged" in steps and steps[-1] == "device_reset"


def test_c1_trace_ends_with_the_device_answering_error_and_the_driver_breaking() -> None:
    p = prop(check("bugs/C1.plug"), "never_broken")
    assert p.trace is not None
    assert [s.action for s in p.trace.steps][-3:] == ["dev_reply", "pa_plugged", "run_end"]
    assert p.trace.steps[-3].state["resp"] == "ERROR"


def test_l4_trace_takes_memory_after_the_host_changed_its_mind() -> None:
    p = prop(check("bugs/L4.plug"), "no_stale_unplug")
    assert p.trace is not None
    last = p.trace.steps[-1]
    assert last.action == "fake_offline" and last.state["config_changed"] is True
    assert [s.action for s in p.trace.steps].count("host_resize") == 3


def test_l15_trace_onlines_a_partially_plugged_block() -> None:
    p = prop(check("bugs/L15.plug"), "no_online_unplugged")
    assert p.trace is not None
    last = p.trace.steps[-1]
    assert last.action == "online_block" and last.state["mb"][0] == "ONLINE_PARTIAL"


def test_l5_trace_offlines_memory_the_driver_does_not_own() -> None:
    p = prop(check("bugs/L5.plug"), "run_terminates")
    assert p.trace is not None and p.trace.loop is not None
    # the work item never leaves offline_pages: pc stays STUCK around the whole cycle
    assert {s.state["pc"] for s in p.trace.steps[p.trace.loop :]} == {"STUCK"}
    assert any(s.action == "pin" for s in p.trace.steps)


def test_two_devices_catch_a_notifier_that_ignores_the_range(tmp_path: Path) -> None:
    # a memory notifier acting on every device (no virtio_mem_overlaps_range check) is caught
    bad = tmp_path / "misrouted.plug"
    bad.write_text(
        f'extends "{SPECS / "virtio_mem_sbm_2dev.plug"}"\n'
        "replace strong fair action online(g : G, movable : bool) when lx[g] == LX_OFFLINE\n"
        "  and (forall d : Dev. owns(d, g) implies is_offline_st(mb[d][g % B])) {\n"
        "  for d : Dev { if owns(d, g) {\n"
        "    for s : Sub { buddy[g][s] := sb[d][g % B][s] }\n"
        "    mb[d][g % B] := if mb[d][g % B] == OFFLINE then KERNEL else KERNEL_PARTIAL } }\n"
        "  offline_size[0] := offline_size[0] - 1\n"
        "  lx[g] := LX_KERNEL }\n"
    )
    res, _ = explore(build_model(load_spec(bad)), Budget(max_graph_states=0))
    p = prop(res, "offline_size_per_device")
    assert p.status == VIOLATED and p.trace is not None and len(p.trace) == 5


def test_a_replacement_that_does_not_fit_names_both_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.plug"
    bad.write_text(f'extends "{SPECS / "virtio_mem_sbm.plug"}"\nreplace action no_such_step when true {{ pc := pc }}\n')
    with pytest.raises(SpecError) as err:
        load_spec(bad)
    text = err.value.render()
    assert "bad.plug:2:" in text and "virtio_mem_sbm.plug has no action named `no_such_step`" in text


def mutant(tmp_path: Path, base: str, text: str, **consts: int) -> RunResult:
    f = tmp_path / "mutant.plug"
    f.write_text(f'extends "{SPECS / base}"\n{text}\n')
    res, _ = explore(build_model(load_spec(f), None, consts), Budget(max_graph_states=0))
    return res


SMALL = {"SR": 0, "OFF": 0}


@pytest.mark.parametrize(
    ("text", "consts", "violated"),
    [
        # plug_and_add without virtio_mem_could_add_memory: the offline limit is exceeded
        (
            "replace let could_add = true",
            SMALL,
            "offline_limit",
        ),
        # UNPLUG sent for online subblocks without fake-offlining them first (R26)
        (
            "replace strong fair action fake_offline when pc == UN_ACR { pc := UN_SEND }",
            {**SMALL, "B": 1},
            "unplug_precondition",
        ),
        # plug_any_sb's `old_state - 1` mapped to the wrong full state
        (
            "replace let full_of(st : MbState) = if st == OFFLINE_PARTIAL then KERNEL else st",
            {**SMALL, "B": 1},
            "state_matches_linux",
        ),
        # GOING_ONLINE not refused for a block that is being removed (state already UNUSED)
        (
            "replace strong fair action going_online(b : Block, movable : bool)\n"
            "  when mm == MM_IDLE and mutex == FREE and lx[b] == LX_OFFLINE\n"
            "{ mutex := MM; mm := ONLINING; mm_b := b; mm_movable := movable }",
            {**SMALL, "B": 1},
            "onlining_guard",
        ),
    ],
)
def test_sbm_invariants_catch_mutated_driver_logic(
    tmp_path: Path, text: str, consts: dict[str, int], violated: str
) -> None:
    res = mutant(tmp_path, "virtio_mem_sbm.plug", text, **consts)
    assert prop(res, violated).status == VIOLATED


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_linux_config_builds_at_real_geometry(name: str) -> None:
    model = build_model(load_spec(SPECS / name), "linux")
    assert model.config.engines == ("symbolic",) and model.config.benchmark  # run with --config linux
    real = {"virtio_mem_sbm.plug": ("S", 64), "virtio_mem_2020.plug": ("S", 32), "virtio_mem_bbm.plug": ("M", 8)}
    if name in real:  # 2 MiB (4 MiB in 2020) subblocks per 128 MiB block; 1 GiB big blocks
        const, value = real[name]
        assert model.consts[const] == value

"""SPIN on the shared breaker: processes whose events are atomic steps on one store, over a lossy network.

Every SPIN run the module needs (the reference suite, and each seeded mutant on the check that
must catch it) runs once, in parallel, in a module fixture: each is a small model (seconds in all).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import pathlib
import re

import pytest

from breakerlab.model import TABLE, BreakerConfig
from breakerlab.model.table import Table
from breakerlab.proofs import runner
from breakerlab.proofs.drift import check_drift, write_all
from breakerlab.proofs.mutants import MUTANTS
from breakerlab.proofs.spin import fleet, suite
from breakerlab.proofs.spin.fleet import (
    SHARED_SUITE,
    SharedCase,
    SharedResult,
    format_shared_results,
    run_shared,
    shared_drift,
    shared_models,
    write_shared_models,
)
from breakerlab.proofs.spin.run import check_safety, simulate
from breakerlab.proofs.spin.shared import (
    NET_EVENTS,
    PROTOCOL_MUTANTS,
    REFERENCE,
    SharedProtocol,
    generate_shared,
    parse_shared_steps,
    slot_name,
)
from breakerlab.proofs.spin.trail import replay_trail

CASES = {case.name: case for case in SHARED_SUITE}
#: A store that does not deduplicate, and whose clients never have an orphan to release: the
#: only way to settle a permit twice is the re-send of a settlement whose reply was lost.
RESEND_COUNTED_TWICE = SharedProtocol(deduplicate=False, release_orphans=False)


#: SH1 replaced by the claim that no call is rejected for a full probe slot while the fleet holds
#: the probes: its violation is a run where calls race for the slot.
RACE = ("  assert(mode != HALF_OPEN || PROBES_OUT <= MAX_CALLS)  /* SH1 */",
        "  assert(!(pre_mode == HALF_OPEN && verdict == 3 && PROBES_OUT == MAX_CALLS))  /* RACE */")


def _only(case: SharedCase, check: str) -> SharedCase:
    return dataclasses.replace(case, checks=(check,))


def _without(tag: str, text: str) -> str:
    return "\n".join(line for line in text.splitlines() if f"/* {tag} */" not in line)


@pytest.fixture(scope="module")
def runs() -> dict[str, list[SharedResult]]:
    """The reference suite, each protocol mutant on the check it must fail, a store counting a
    re-sent settlement twice, and SH1 alone against a table that admits an extra probe."""
    default = CASES["default"]
    jobs: dict[str, tuple[Table, list[SharedCase], SharedProtocol]] = {
        "reference": (TABLE, list(SHARED_SUITE), REFERENCE),
        **{name: (TABLE, [_only(default, check)], protocol) for name, (protocol, check) in PROTOCOL_MUTANTS.items()},
        "resend_counted_twice": (TABLE, [_only(CASES["two_calls"], "safety")], RESEND_COUNTED_TWICE),
    }
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(run_shared, table, cases, protocol, jobs=1)
                   for name, (table, cases, protocol) in jobs.items()}
        sh1 = pool.submit(check_safety, _without("S3", default.model(MUTANTS["extra_probe"].table)))
        race = pool.submit(check_safety, CASES["two_calls"].model(TABLE).replace(*RACE))
        results = {name: future.result() for name, future in futures.items()}
        results["sh1_alone"] = [SharedResult(default, "safety", sh1.result())]
        results["race"] = [SharedResult(CASES["two_calls"], "safety", race.result())]
    return results


def test_reference_fleet_satisfies_every_shared_check(runs: dict[str, list[SharedResult]]) -> None:
    """On the reference table and protocol the single model's invariants, SH1, SH2 and SH3 hold
    on every case, each explored exhaustively in a small state space."""
    results = runs["reference"]
    assert [(r.case.name, r.check) for r in results] == [(c.name, k) for c in SHARED_SUITE for k in c.checks]
    assert {r.check for r in results} == {"safety", "SH3"}
    assert all(r.ok for r in results), format_shared_results(results)
    assert all(0 < r.result.states < 500_000 for r in results), format_shared_results(results)
    assert all(not r.steps for r in results)


@pytest.mark.parametrize("name", sorted(PROTOCOL_MUTANTS))
def test_each_protocol_mutant_fails_its_check(name: str, runs: dict[str, list[SharedResult]]) -> None:
    """A store that does not deduplicate violates SH2 (an outcome counted twice, or a settlement
    of a permit never admitted); a client that sends a settlement once, or forgets an admission
    whose reply it lost, violates SH3 (an outcome lost although the network recovered)."""
    [result] = runs[name]
    expected = PROTOCOL_MUTANTS[name][1]
    assert result.check == expected and result.result.verdict == "violated", result.result.output[-800:]
    if expected == "safety":
        assert result.result.failure.endswith("[SH2]")
    else:
        assert result.result.failure == "acceptance cycle"
        forgot = {"client_sends_once": "given_up", "client_forgets_orphans": "orphan_forgotten"}[name]
        events = [s["event"] for s in result.steps]
        assert forgot in events and events.index(forgot) < events.index("net_stable")  # lost, then the network recovers


def test_store_without_dedup_counts_a_resent_settlement_twice(runs: dict[str, list[SharedResult]]) -> None:
    """The seeded mutant's counterexample: a settlement performed, its reply lost, the client
    sends it again and the store performs it again (SH2). The store's steps up to there replay
    on the Python breaker; with the second settlement appended they do not (the permit is no
    longer held: no history of the one breaker settles it twice)."""
    [result] = runs["resend_counted_twice"]
    assert result.result.verdict == "violated" and result.result.failure.endswith("[SH2]")
    steps = result.steps
    last = steps[-1]
    assert last["event"] == "duplicate"
    token = last["who"]
    mine = [s["event"] for s in steps if s["who"] == token]
    settled = next(i for i, e in enumerate(mine) if e in ("record_success", "record_failure", "release"))
    assert mine[0] == "acquire" and mine[settled + 1] == "reply_lost" and mine[-1] == "duplicate"
    config = result.case.config
    assert replay_trail(result.result.steps, config) == []
    second = [*result.result.steps, dict(result.result.steps[-1]) | {"who": token, "event": mine[settled]}]
    assert any("never admitted" in p for p in replay_trail(second, config))


def test_sh1_alone_catches_an_extra_probe(runs: dict[str, list[SharedResult]]) -> None:
    """Without the probe counter invariant (S3), the fleet-wide count of outstanding probes
    still catches a table that admits a second probe."""
    [result] = runs["sh1_alone"]
    assert result.result.verdict == "violated" and result.result.failure.endswith("[SH1]")
    assert replay_trail(result.result.steps, result.case.config, MUTANTS["extra_probe"].table) == []


def test_calls_race_for_the_probe_slot_so_sh1_is_not_vacuous(runs: dict[str, list[SharedResult]]) -> None:
    """In ``two_calls`` two failures open the breaker and a call is rejected from half-open
    while another holds the probe: the state SH1 is about is reached, through the table's steps."""
    [result] = runs["race"]
    assert result.result.verdict == "violated" and result.result.failure.endswith("[RACE]")
    steps = result.result.steps
    assert sum(s["event"] == "record_failure" for s in steps) >= 2
    assert steps[-1]["event"] == "acquire" and steps[-1]["verdict"] == "reject" and steps[-1]["mode"] == "half_open"
    assert not any(s["who"] == "manual" for s in steps)
    assert replay_trail(steps, result.case.config) == []


@pytest.mark.parametrize("case", SHARED_SUITE, ids=lambda c: c.name)
def test_random_runs_of_the_store_replay_on_the_python_breaker(case: SharedCase) -> None:
    """Whatever the network loses, the history the store performs is a history of the one
    breaker: random runs of the shared model replay exactly on the Python breaker, and every
    token is admitted at most once and settled at most once."""
    for seed in (1, 2, 3):
        steps = simulate(case.model(TABLE), steps=20_000, seed=seed)
        assert sum(s["event"] == "acquire" for s in steps) >= 2
        assert replay_trail(steps, case.config) == []
        for token in {s["who"] for s in steps if str(s["who"]).startswith("caller")}:
            events = [s["event"] for s in steps if s["who"] == token]
            assert events.count("acquire") <= 1 and len(events) <= 2, (token, events)


def test_generation_is_deterministic_and_its_header_says_what_it_models() -> None:
    """The same inputs give the same text; the header records the table, the fleet, the
    protocol and the properties, and the breaker's steps are the single model's."""
    config = CASES["default"].config
    text = generate_shared(TABLE, config, processes=2, permits=2)
    assert text == generate_shared(Table(tuple(TABLE.rows)), config, processes=2, permits=2)
    header = text[: text.index("*/")]
    assert "generated by breakerlab.proofs.spin.shared — do not edit" in header
    assert TABLE.digest() in header and "2 processes x 2 permits" in header
    assert "deduplicate=True, resend=True, release_orphans=True" in header
    assert all(tag in header for tag in ("SH1", "SH2", "SH3", "S2 S3 S4 S9"))
    assert "#define NCALLERS 4" in text and "inline on_record_failure(c)" in text and "/* S3 */" in text
    assert text.count("proctype Process(byte p)") == 1 and "run Process(1);" in text and "run Process(2)" not in text
    assert "ltl SH3 { (<>[] net_ok) -> <> SETTLED }" in text
    mutant = generate_shared(TABLE, config, protocol=PROTOCOL_MUTANTS["store_without_dedup"][0])
    assert "MUTANT" in mutant and "MUTANT" not in text
    assert "manual_left" in generate_shared(TABLE, config, manual=2)
    assert "proctype Manual" not in generate_shared(TABLE, config, manual=0)


@pytest.mark.parametrize(
    "options, message",
    [({"processes": 0}, "'processes' must be an int >= 1"), ({"permits": 0}, "'permits' must be an int >= 1"),
     ({"manual": -1}, "'manual' must be None")],
)
def test_bad_fleets_are_refused(options: dict[str, int], message: str) -> None:
    """A fleet without processes or calls, or a negative manual budget, is refused by name."""
    with pytest.raises(ValueError, match=message):
        generate_shared(TABLE, CASES["default"].config, **options)


def test_unsupported_configurations_are_refused_as_for_the_single_model() -> None:
    """The shared model supports exactly the configurations the single model does."""
    with pytest.raises(ValueError, match="trip_rule"):
        generate_shared(TABLE, BreakerConfig(trip_rule="count_window", window_size=4, minimum_calls=2))
    with pytest.raises(ValueError, match="'checks' must name only"):
        SharedCase("x", CASES["default"].config, ("L1",))


def test_trail_lines_parse_in_order() -> None:
    """``@@STEP`` and ``@@NET`` lines become steps in the order printed, the cycle marker kept."""
    output = (
        "@@STEP who=1 ev=0 row=0 verdict=1 now=0 mode=0 healthy=1 consecutive_failures=0\n"
        "@@NET who=1 ev=1 now=0\n"
        "<<<<<START OF CYCLE>>>>>\n"
        "@@NET who=104 ev=5 now=3\n"
    )
    first, second, third = parse_shared_steps(output)
    assert (first["n"], first["who"], first["event"], first["cycle"]) == (1, "caller1", "acquire", False)
    assert second == {"n": 2, "who": "caller1", "event": "reply_lost", "now": 0, "cycle": False}
    assert (third["who"], third["event"], third["cycle"]) == ("net", NET_EVENTS[5], True)
    assert slot_name("caller3", 2) == "p1.1" and slot_name("clock", 2) == "clock"


def test_committed_shared_models_match_the_table_and_the_manifest() -> None:
    """proofs/generated/ holds each shared case's model as the table generates it, listed with
    its hash in the manifest."""
    assert shared_drift() == []
    assert sorted(shared_models()) == [f"spin_shared_{case.name}.pml" for case in sorted(SHARED_SUITE, key=lambda c: c.name)]


def test_regeneration_keeps_the_manifest_whole_and_drift_is_detected(tmp_path: pathlib.Path) -> None:
    """Written after the single models (as ``--update-generated`` does), the shared models join
    the manifest without disturbing its other entries; a changed table is reported, and so is a
    stale shared model."""
    write_all(TABLE, tmp_path)
    write_shared_models(TABLE, tmp_path)
    assert check_drift(TABLE, tmp_path).ok and shared_drift(TABLE, tmp_path) == []
    files = json.loads((tmp_path / "manifest.json").read_text())["files"]
    assert "relation.smt2" in files and set(shared_models()) <= set(files)
    problems = shared_drift(MUTANTS["trip_one_late"].table, tmp_path)
    assert any(re.search(r"spin_shared_default\.pml differs", p) for p in problems)
    (tmp_path / "spin_shared_old.pml").write_text("")
    assert "spin_shared_old.pml is no shared case's model" in shared_drift(TABLE, tmp_path)
    write_shared_models(TABLE, tmp_path)
    assert not (tmp_path / "spin_shared_old.pml").exists()


def test_prove_reports_the_shared_checks(runs: dict[str, list[SharedResult]], monkeypatch: pytest.MonkeyPatch) -> None:
    """``breakerlab prove``'s SPIN layer ends with one row per shared check, with its states;
    against a table mutant it leaves them out (the protocol's mutants are seeded here)."""
    monkeypatch.setattr(suite, "run_suite", lambda *args, **kwargs: [])
    monkeypatch.setattr(fleet, "run_shared", lambda *args, **kwargs: runs["reference"])
    rows = list(runner.spin_layer(TABLE, None))
    assert [(v.property_id, v.method) for v in rows] == [
        ("SH1,SH2", "SPIN shared"), ("SH3", "SPIN shared LTL"), ("SH1,SH2", "SPIN shared")]
    assert all(v.ok and v.states for v in rows)
    assert rows[0].scope == "default, 2 processes x 1 call, lossy network"
    assert list(runner.spin_layer(MUTANTS["extra_probe"].table, MUTANTS["extra_probe"])) == []

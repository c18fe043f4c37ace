"""The generated Redis script equals the transition table: Hypothesis sequences of events sent
through the reference ``Breaker`` and through a ``SharedCircuitBreaker`` on a real Redis give the
same verdicts, states, formal variables and totals after every event (the differential style of
the compiled Python's tests), across generated configurations."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import ERRORS, config_options

from breakerlab.model import Breaker, BreakerConfig, CircuitOpenError, ManualClock, State
from breakerlab.model.table import TABLE, TRIGGERS, Table
from breakerlab.runtime.shared import SharedCircuitBreaker
from breakerlab.runtime.shared.lua import lua_literal, lua_source, names_outside, shared_script

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: The manual and time-driven events of the table (whatever triggers it declares besides the
#: admission and the three settlements).
OTHER_EVENTS = tuple(t for t in TRIGGERS if t not in ("acquire", "record_success", "record_failure", "release"))

_names = itertools.count()

event = st.one_of(
    st.just(("acquire",)),
    st.tuples(st.just("settle"), st.integers(0, 7), st.sampled_from(["success", "failure", "release", "error"]),
              st.integers(0, len(ERRORS) - 1)),
    st.tuples(st.just("advance"), st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.5, 5.0])),
    st.tuples(st.just("other"), st.sampled_from(OTHER_EVENTS)),
)


def _verdict(breaker: Any) -> tuple[str, Any]:
    try:
        permit = breaker.acquire()
    except CircuitOpenError as exc:
        return "reject", exc
    return ("admit_probe" if permit.is_probe else "admit"), permit


def _same_value(left: object, right: object) -> bool:
    if isinstance(left, float) or isinstance(right, float):
        return float(left) == float(right) or (math.isinf(float(left)) and float(left) == float(right))  # type: ignore[arg-type]
    return left == right


def _first_difference(
    server: Any, config: BreakerConfig, events: list[tuple[Any, ...]], shared_table: Table = TABLE
) -> str | None:
    """Send ``events`` through the reference breaker and a shared one (whose script is
    generated from ``shared_table``); the first disagreement, or ``None``."""
    clock = ManualClock(100.0)
    reference = Breaker(config, clock=clock)
    shared = SharedCircuitBreaker(
        config, redis=server.client(), name=f"diff-{next(_names)}", clock=clock, table=shared_table
    )
    try:
        outstanding: list[tuple[Any, Any]] = []
        for step in events:
            kind = step[0]
            if kind == "acquire":
                expected, ref_permit = _verdict(reference)
                got, shared_permit = _verdict(shared)
                if got != expected:
                    return f"{step}: verdict {got}, reference {expected}"
                if expected == "reject":
                    if not _same_value(shared_permit.remaining_s, ref_permit.remaining_s):
                        return f"{step}: remaining_s {shared_permit.remaining_s}, reference {ref_permit.remaining_s}"
                elif (shared_permit.generation, shared_permit.state) != (ref_permit.generation, ref_permit.state):
                    return f"{step}: permit {shared_permit!r}, reference {ref_permit!r}"
                else:
                    outstanding.append((ref_permit, shared_permit))
            elif kind == "settle":
                if not outstanding:
                    continue
                ref_permit, shared_permit = outstanding.pop(step[1] % len(outstanding))
                how = step[2]
                if how == "error":
                    error = ERRORS[step[3]]
                    reference.record_failure(ref_permit, error)
                    shared.record_failure(shared_permit, error)
                else:
                    name = {"success": "record_success", "failure": "record_failure", "release": "release"}[how]
                    getattr(reference, name)(ref_permit)
                    getattr(shared, name)(shared_permit)
            elif kind == "advance":
                clock.advance(step[1])
            else:
                getattr(reference, step[1])()
                getattr(shared, step[1])()
            stored = shared.store.read()
            if stored is None:  # nothing performed yet on either
                continue
            for name, value in reference.snapshot().items():
                if not _same_value(stored[name], value):
                    return f"{step}: {name} = {stored[name]!r}, reference {value!r}"
            if shared.stats != reference.stats:
                return f"{step}: totals {shared.stats}, reference {reference.stats}"
        if shared.store.outstanding() != len(outstanding):
            return f"outstanding permits {shared.store.outstanding()}, reference {len(outstanding)}"
        return None
    finally:
        shared.store.delete()
        shared.close()


#: Each example is a few dozen round trips to Redis: 40 by default, the profile's count when a
#: thorough run asks for more (BREAKERLAB_PROFILE=thorough).
EXAMPLES = max(40, settings.default.max_examples) if settings.default.max_examples >= 1000 else 40


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(options=config_options(), events=st.lists(event, min_size=1, max_size=40))
def test_the_script_takes_the_rows_the_reference_breaker_takes(
    redis_server: Any, options: dict[str, Any], events: list[tuple[Any, ...]]
) -> None:
    """After every event both breakers agree on the verdict (and a rejection's remaining time),
    the state, every formal variable and every total."""
    # The script draws jitter for every event that may open the breaker, the model only when a
    # row needs it: the sequences agree when jitter is off (its bounds are tested apart).
    config = BreakerConfig(**{**options, "jitter_ratio": 0.0})
    assert _first_difference(redis_server, config, events) is None


@pytest.mark.parametrize(
    ("mutant", "events"),
    [
        ("trip_one_late", [("acquire",), ("settle", 0, "failure", 0)] * 2 + [("acquire",)]),
        ("extra_probe", [("acquire",), ("settle", 0, "failure", 0)] * 2 + [("advance", 5.0), ("acquire",), ("acquire",)]),
    ],
)
def test_the_differential_check_catches_a_script_generated_from_a_mutated_table(
    redis_server: Any, mutant: str, events: list[tuple[Any, ...]]
) -> None:
    """A script generated from a seeded mutant of the table disagrees with the reference: the
    differential test above is able to fail."""
    from breakerlab.proofs.mutants import MUTANTS

    config = BreakerConfig(fail_max=2, reset_timeout=1.0)
    assert _first_difference(redis_server, config, events) is None
    assert _first_difference(redis_server, config, events, MUTANTS[mutant].table) is not None


def test_the_script_is_specialised_to_the_configuration() -> None:
    """Options the configuration does not use are folded away, and each configuration has its
    own script identity (what a process with another configuration is refused by)."""
    default = shared_script(BreakerConfig())
    windowed = shared_script(BreakerConfig(trip_rule="count_window", window_size=10, minimum_calls=5))
    assert default.digest != windowed.digest
    assert "LPOP" not in default.source and "LPOP" in windowed.source
    assert shared_script(BreakerConfig()).digest == default.digest  # deterministic
    # every row of the table is in every script (dispatch or apply), by index
    assert default.source.count("DISPATCH[") >= len({(r.source, r.trigger) for r in TABLE.rows})
    assert not names_outside(TABLE)


def test_lua_rendering_of_the_expression_language() -> None:
    """Constants and operators render as Lua (``!=`` is ``~=``; a conditional is a function,
    never ``c and x or y``, which yields y when x is false)."""
    from breakerlab.model.expr import Arg, Const, Var, ite, minimum

    assert lua_literal(math.inf) == "math.huge"
    assert lua_literal(True) == "true" and lua_literal("half_open") == '"half_open"'
    assert lua_literal(0.1) == "0.1"
    assert lua_source(Var("generation").ne(Arg("permit_generation"))) == "(v.generation ~= a.permit_generation)"
    assert lua_source(ite(Arg("now") > Var("open_until"), Const(False), Const(True))).startswith("_ite(")
    assert lua_source(minimum(Var("next_open_duration"), 5.0)) == "math.min(v.next_open_duration, 5.0)"
    with pytest.raises(ValueError, match="NaN"):
        lua_literal(math.nan)


def test_a_success_over_call_timeout_and_a_slow_call_count_as_in_the_model(redis_server: Any) -> None:
    """The rules around the table (call_timeout, the slow-call threshold of a window) agree."""
    config = BreakerConfig(
        trip_rule="count_window", window_size=4, minimum_calls=2, failure_rate_threshold=1.0,
        slow_call_duration_threshold=0.5, slow_call_rate_threshold=1.0, call_timeout=1.0,
    )
    clock = ManualClock()
    reference = Breaker(config, clock=clock)
    shared = SharedCircuitBreaker(config, redis=redis_server.client(), name="timeouts", clock=clock)
    try:
        # a slow success (0.75 s), then a success over call_timeout (a failure): 2 of 2 slow
        for duration in (0.75, 1.5):
            pair = reference.acquire(), shared.acquire()
            clock.advance(duration)
            reference.record_success(pair[0])
            shared.record_success(pair[1])
            assert shared.store.read()["state"] is reference.state  # type: ignore[index]
        assert reference.state is State.OPEN
        assert shared.stats == reference.stats
    finally:
        shared.store.delete()
        shared.close()

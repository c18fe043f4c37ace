"""The transition table: validation, drift digest, compiled code vs the interpreter, fast path vs
the transitions machine."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import configs
from transitions import MachineError

from breakerlab.model import Breaker, BreakerConfig, CircuitOpenError, ManualClock, State, TableError
from breakerlab.model.driver import OTHERS
from breakerlab.model.expr import TRUE, Arg, Assign, Var, evaluate, fold
from breakerlab.model.pycompile import compile_table
from breakerlab.model.table import ARGS, PARAMS, TABLE, TRIGGERS, VARIABLES, Table


def test_table_is_total_every_pair_ends_with_a_true_row() -> None:
    """Every (state, trigger) pair has rows and ends with an unconditional row."""
    for state in State:
        for trigger in TRIGGERS:
            rows = TABLE.rows_for(state, trigger)
            assert rows and rows[-1].guard == TRUE


def test_table_rejects_a_pair_without_fallback_row() -> None:
    """Dropping a fallback row is a TableError naming the trigger and state."""
    rows = tuple(r for r in TABLE.rows if not (r.trigger == "poll" and r.source is State.CLOSED))
    with pytest.raises(TableError, match="'poll' in state 'closed'"):
        Table(rows)


def test_table_rejects_unknown_names() -> None:
    """A guard naming an undeclared variable is rejected with the declared names listed."""
    index = TABLE.index("record_failure", State.CLOSED, "trip")
    with pytest.raises(TableError, match="nonexistent.*declared: generation"):
        TABLE.replace_row(index, guard=Var("nonexistent") > 0)


def test_digest_is_deterministic_and_sensitive() -> None:
    """The digest is stable across rebuilds and changes when any row changes."""
    assert TABLE.digest() == Table(TABLE.rows).digest()
    index = TABLE.index("record_failure", State.CLOSED, "trip")
    changed = TABLE.replace_row(index, cause="trip2")
    assert changed.digest() != TABLE.digest()


def test_only_acquire_rows_carry_verdicts() -> None:
    """Admission decisions are declared on acquire rows only."""
    for row in TABLE.rows:
        assert (row.verdict is not None) == (row.trigger == "acquire")


def test_manual_trip_and_half_open_rows() -> None:
    """trip opens from every state, as a new opening (open->open too); half_open enters
    half-open from every other state with no probe admitted, and is internal in half-open."""
    for state in State:
        [trip] = TABLE.rows_for(state, "trip")
        assert (trip.guard, trip.dest, trip.cause) == (TRUE, State.OPEN, "manual_trip")
        assert {a.var for a in trip.actions if isinstance(a, Assign)} >= {"generation", "opened_at", "open_until"}
        [half] = TABLE.rows_for(state, "half_open")
        if state is State.HALF_OPEN:
            assert (half.dest, half.actions, half.cause) == (None, (), "already_half_open")
        else:
            assert (half.dest, half.cause) == (State.HALF_OPEN, "manual_half_open")
    clock = ManualClock()
    breaker = Breaker(BreakerConfig(fail_max=1, reset_timeout=10.0), clock=clock)
    clock.advance(1.0)
    assert breaker.trip() is not None and breaker.snapshot()["open_until"] == 11.0
    clock.advance(1.0)
    change = breaker.trip()  # re-opens: a new generation, the open period restarted
    assert change is not None and (change.source, change.dest, change.trigger) == (State.OPEN, State.OPEN, "trip")
    assert breaker.snapshot()["open_until"] == 12.0 and breaker.generation == 2
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    assert breaker.half_open() is not None and breaker.half_open() is None  # second: already half-open
    assert breaker.acquire().is_probe  # before the deadline: half_open() admits probes at once
    with pytest.raises(CircuitOpenError):
        breaker.acquire()  # the one probe slot is taken


def _values() -> st.SearchStrategy[dict[str, object]]:
    ints = st.integers(0, 6)
    times = st.sampled_from([0.0, 0.5, 1.0, 2.0, 5.0, 60.0])
    return st.fixed_dictionaries(
        {
            "generation": ints,
            "consecutive_failures": ints,
            "opened_at": times,
            "open_until": times,
            "next_open_duration": times,
            "half_open_since": times,
            "probes_admitted": ints,
            "probes_inflight": ints,
            "probe_successes": ints,
            "probe_failures": ints,
            "now": times,
            "permit_generation": ints,
            "permit_state": st.sampled_from([s.value for s in State]),
            "window_calls": ints,
            "window_failures": ints,
            "window_slow": ints,
            "jitter": st.sampled_from([0.0, 0.25]),
        }
    )


class _Obj:
    def __init__(self, values: dict[str, object]) -> None:
        for key, value in values.items():
            if key != "jitter":
                setattr(self, key, value)
        self._jitter = values["jitter"]

    def jitter(self) -> object:
        return self._jitter


@settings(max_examples=150, deadline=None)
@given(config=configs(), values=_values())
def test_compiled_guards_and_actions_agree_with_the_interpreter(config: BreakerConfig, values: dict[str, object]) -> None:
    """For every row, the compiled guard and actions equal a direct interpretation of the table."""
    params = config.table_params()
    compiled = compile_table(TABLE, params)
    env = {**params, **values}
    for index, guard in compiled.guards.items():
        row = TABLE.rows[index]
        assert guard(_Obj(values), _Obj(values)) == bool(evaluate(row.guard, env)), str(row)
        state = _Obj(values)

        class _Fx:
            def window_record(self, a: object) -> None:
                pass

            def window_clear(self, a: object) -> None:
                pass

        compiled.apply[index](state, _Obj(values), _Fx())
        for action in row.actions:
            if hasattr(action, "var"):
                expected = evaluate(action.expr, env)
                assert getattr(state, action.var) == expected, f"{row}: {action}"


@settings(max_examples=100, deadline=None)
@given(config=configs(), values=_values())
def test_dispatch_takes_the_first_row_whose_guard_holds(config: BreakerConfig, values: dict[str, object]) -> None:
    """The compiled dispatch function selects the same row as first-match over the table."""
    params = config.table_params()
    compiled = compile_table(TABLE, params)
    env = {**params, **values}
    for (state, trigger), _ in compiled.live_rows.items():
        expected = next(
            i for i, r in enumerate(TABLE.rows)
            if r.source is state and r.trigger == trigger and evaluate(r.guard, env)
        )
        taken = compiled.dispatch[state][trigger](_Obj(values), _Obj(values), None if not config.uses_window else _NullFx())
        assert taken == expected


class _NullFx:
    def window_record(self, a: object) -> None:
        pass

    def window_clear(self, a: object) -> None:
        pass


def test_folding_removes_unused_options() -> None:
    """With the default config, the late-result rows are folded away and not in the machine."""
    compiled = compile_table(TABLE, BreakerConfig().table_params())
    live = compiled.live_rows[(State.OPEN, "record_failure")]
    assert [TABLE.rows[i].cause for i in live] == ["ignored_while_open"]
    assert fold(Arg("now") > 1, {}) == (Arg("now") > 1)


def test_every_table_name_is_declared() -> None:
    """Config parameters and state variables match the table's declarations."""
    assert set(BreakerConfig().table_params()) == set(PARAMS)
    assert set(Breaker(clock=ManualClock()).snapshot()) == {"state", *VARIABLES}
    assert "now" in ARGS


def test_machine_has_no_auto_transitions_and_invalid_triggers_raise() -> None:
    """No generated to_<state>() trigger exists and unknown triggers raise."""
    breaker = Breaker(clock=ManualClock())
    model = breaker.machine.models[0]
    assert not any(name.startswith("to_") for name in dir(model))
    assert breaker.machine.auto_transitions is False
    with pytest.raises(AttributeError):
        model.trigger("explode")
    with pytest.raises(MachineError):
        breaker.machine.add_transition("only_open", State.OPEN, State.CLOSED)
        model.only_open()


EVENTS = st.lists(st.sampled_from(["acquire", "success", "failure", "release", "advance", *OTHERS]), max_size=60)


@settings(max_examples=150, deadline=None)
@given(config=configs(), events=EVENTS, data=st.data())
def test_fast_path_equals_the_machine_alone(config: BreakerConfig, events: list[str], data: st.DataObject) -> None:
    """A breaker whose every event goes through the transitions machine behaves identically."""
    clocks = (ManualClock(), ManualClock())
    breakers = (Breaker(config, clock=clocks[0]), Breaker(config, clock=clocks[1], fast_path=False))
    permits: tuple[list[object], list[object]] = ([], [])
    for event in events:
        if event == "advance":
            dt = data.draw(st.sampled_from([0.25, 0.5, 1.0, 2.0, 5.0]))
            for clock in clocks:
                clock.advance(dt)
        elif event == "acquire":
            outcomes = []
            for breaker, held in zip(breakers, permits):
                try:
                    held.append(breaker.acquire())
                    outcomes.append("admit")
                except CircuitOpenError as exc:
                    outcomes.append(("reject", exc.remaining_s))
            assert outcomes[0] == outcomes[1]
        elif event in ("success", "failure", "release"):
            if not permits[0]:
                continue
            k = data.draw(st.integers(0, len(permits[0]) - 1))
            for breaker, held in zip(breakers, permits):
                permit = held.pop(k)
                {"success": breaker.record_success, "failure": breaker.record_failure, "release": breaker.release}[
                    event
                ](permit)
        else:
            for breaker in breakers:
                getattr(breaker, event)()
        assert breakers[0].snapshot() == breakers[1].snapshot()
    assert breakers[0].stats == breakers[1].stats


@settings(max_examples=150, deadline=None)
@given(config=configs(), events=EVENTS, data=st.data())
def test_permit_free_call_path_equals_acquire_and_record(
    config: BreakerConfig, events: list[str], data: st.DataObject
) -> None:
    """The stepping API the runtime and simulator use (admit/succeed, with the generated
    code's inlined admissions, rejections and plain successes; and try_admit, which returns
    None for a rejection) behaves exactly like acquire/record_success on a breaker that sends
    every event through the machine."""
    clocks = (ManualClock(), ManualClock(), ManualClock())
    reference = Breaker(config, clock=clocks[0], fast_path=False)
    fast = Breaker(config, clock=clocks[1])
    trying = Breaker(config, clock=clocks[2])
    held: list[tuple[object, tuple[int, object, bool, float], object]] = []
    for event in events:
        if event == "advance":
            dt = data.draw(st.sampled_from([0.25, 0.5, 1.0, 2.0, 5.0]))
            for clock in clocks:
                clock.advance(dt)
        elif event == "acquire":
            try:
                permit = reference.acquire()
            except CircuitOpenError as expected:
                with pytest.raises(CircuitOpenError) as rejected:
                    fast.admit()
                assert (rejected.value.remaining_s, rejected.value.state) == (expected.remaining_s, expected.state)
                assert trying.try_admit() is None
                assert trying.remaining_s() == expected.remaining_s
                continue
            admitted = fast.admit()
            assert admitted == (permit.generation, permit.state, permit.is_probe, permit.acquired_at)
            tried = trying.try_admit()
            assert tried == admitted
            held.append((permit, admitted, tried))
        elif event in ("success", "failure", "release") and held:
            permit, admission, tried = held.pop(data.draw(st.integers(0, len(held) - 1)))
            reference.record_success(permit)  # type: ignore[arg-type]
            fast.succeed(admission)  # type: ignore[arg-type]
            trying.succeed(tried)  # type: ignore[arg-type]
        elif event in OTHERS:
            for breaker in (reference, fast, trying):
                getattr(breaker, event)()
        assert reference.snapshot() == fast.snapshot() == trying.snapshot()
    assert reference.stats == fast.stats == trying.stats


@settings(max_examples=150, deadline=None)
@given(config=configs(), values=_values())
def test_positional_kernels_equal_their_dispatch_functions(config: BreakerConfig, values: dict[str, object]) -> None:
    """Each positional kernel takes the same row and leaves the same variables as the dispatch
    function it was generated from."""
    compiled = compile_table(TABLE, config.table_params())
    kernels = {(state, "record_success"): k for state, k in compiled.kernels.items() if k is not None}
    assert kernels or config.uses_window
    for (state, trigger), kernel in kernels.items():
        by_dispatch, by_kernel = _Obj(values), _Obj(values)
        expected = compiled.dispatch[state][trigger](by_dispatch, _Obj(values), _NullFx())
        taken = kernel(by_kernel, values["now"], values["permit_generation"], values["permit_state"])
        assert taken == expected
        assert vars(by_kernel) == vars(by_dispatch)

"""A listener that raises changes nothing the breaker or its caller sees (model and runtime, every
kind of event); the runtime's reads perform the due time-driven transition; ``async with
breaker:``; the Python API's type errors; how ``call_timeout`` counts an async call.

Every breaker runs on a ``ManualClock``; async calls run on a fresh event loop whose real time
only matters for ``call_timeout``'s cancellation, which these tests keep out of reach.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import math
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from breakerlab.model import (
    Breaker,
    BreakerConfig,
    BreakerListener,
    CircuitOpenError,
    ManualClock,
    Outcome,
    Permit,
    Rejection,
    State,
    StateChange,
)
from breakerlab.model.listeners import LOGGER, Listeners
from breakerlab.runtime import CircuitBreaker
from breakerlab.runtime.replay import replay_log

T = TypeVar("T")


class Boom(Exception):
    """The error a faulty listener raises."""


class Faulty:
    """A listener each of whose methods raises ``Boom``."""

    def state_change(self, change: StateChange) -> None:
        raise Boom(f"state_change {change.dest.value}")

    def rejection(self, rejection: Rejection) -> None:
        raise Boom("rejection")

    def success(self, outcome: Outcome) -> None:
        raise Boom("success")

    def failure(self, outcome: Outcome) -> None:
        raise Boom("failure")


class Recorder(BreakerListener):
    """Keeps every event it hears, with its kind, in order."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, object]] = []

    def state_change(self, change: StateChange) -> None:
        self.heard.append(("state_change", change))

    def rejection(self, rejection: Rejection) -> None:
        self.heard.append(("rejection", rejection))

    def success(self, outcome: Outcome) -> None:
        self.heard.append(("success", outcome))

    def failure(self, outcome: Outcome) -> None:
        self.heard.append(("failure", outcome))

    def changes(self) -> list[tuple[State, str]]:
        """The destination and trigger of each state change heard."""
        return [(e.dest, e.trigger) for kind, e in self.heard if isinstance(e, StateChange)]


class Records:
    """An in-memory event-log sink."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def __call__(self, record: dict[str, Any]) -> None:
        self.records.append(record)

    def events(self) -> list[str]:
        """The event name of each record after the header."""
        return [r["event"] for r in self.records[1:]]

    def assert_replays(self) -> None:
        """The log replays cleanly on the reference model."""
        text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in self.records)
        report = replay_log(io.StringIO(text))
        assert report.ok, report.mismatch


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a fresh event loop."""
    return asyncio.run(coro)


def listener_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The listener errors logged to the ``breakerlab`` logger."""
    return [r for r in caplog.records if r.name == "breakerlab" and r.levelno == logging.ERROR]


def fails() -> None:
    """A protected call that fails with the service's own error."""
    raise OSError("service down")


async def fails_async() -> None:
    """An async protected call that fails with the service's own error."""
    raise OSError("service down")


async def ok_async() -> str:
    """An async protected call that succeeds."""
    await asyncio.sleep(0)
    return "ok"


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture the ``breakerlab`` logger at ERROR."""
    with caplog.at_level(logging.ERROR, logger="breakerlab"):
        yield caplog


# -- the model ------------------------------------------------------------------------------------


def model_script(breaker: Breaker, clock: ManualClock, api: str) -> list[object]:
    """Every kind of event on a ``fail_max=2, reset_timeout=10`` breaker: successes, failures,
    a trip, rejections, open -> half-open with a probe, closing, manual control and poll;
    returns what each step returned (or the type of what it raised)."""
    seen: list[object] = []

    def step(fn: Callable[[], object]) -> None:
        try:
            seen.append(fn())
        except Exception as exc:  # noqa: BLE001 - recorded to compare the twins
            seen.append(type(exc).__name__)

    if api == "stepping":

        def success() -> object:
            return breaker.succeed(breaker.admit())

        def failure() -> object:
            return breaker.fail(breaker.admit())

        def release() -> object:
            return breaker.discard(breaker.admit())

    else:

        def success() -> object:
            permit = breaker.acquire()
            breaker.record_success(permit)
            return permit.state

        def failure() -> object:
            permit = breaker.acquire()
            breaker.record_failure(permit, OSError("down"))
            return permit.state

        def release() -> object:
            permit = breaker.acquire()
            breaker.release(permit)
            return permit.state

    step(success)
    step(failure)
    step(release)
    step(failure)  # trips: a failure and a state change
    step(success)  # rejected (admit raises)
    step(lambda: breaker.try_admit())  # rejected, returning None
    clock.advance(10.0)
    step(success)  # open -> half_open, the probe succeeds, -> closed
    step(lambda: breaker.call(lambda: "result"))
    step(lambda: breaker.call(fails))
    step(lambda: breaker.call(fails))  # trips; the service's error
    clock.advance(10.0)
    step(lambda: breaker.call(fails))  # a failing probe re-opens
    step(breaker.force_open)
    step(success)  # rejected while forced open
    step(breaker.disable)
    step(success)
    step(breaker.reset)
    step(breaker.poll)
    seen.append(breaker.snapshot())
    seen.append(breaker.stats)
    return seen


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "machine"])
@pytest.mark.parametrize("api", ["stepping", "permit"])
def test_model_raising_listener_changes_nothing_for_every_kind_of_event(
    api: str, fast_path: bool, errors: pytest.LogCaptureFixture
) -> None:
    """With a listener that raises on every event, each event returns, counts and notifies
    exactly as without it, and each of its errors is logged once, naming the event."""
    twins = []
    for faulty in (False, True):
        clock = ManualClock()
        breaker = Breaker(BreakerConfig(fail_max=2, reset_timeout=10), clock=clock, name="twin", fast_path=fast_path)
        if faulty:
            breaker.add_listener(Faulty())
        recorder = Recorder()
        breaker.add_listener(recorder)
        twins.append((model_script(breaker, clock, api), recorder.heard))
    assert twins[1] == twins[0]
    heard = twins[1][1]
    kinds = {kind for kind, _ in heard}
    assert kinds == {"state_change", "rejection", "success", "failure"}
    logged = listener_errors(errors)
    assert [(r.listener.__name__, r.event) for r in logged] == [(kind, event) for kind, event in heard]  # type: ignore[attr-defined]
    assert {r.breaker for r in logged} == {"twin"}  # type: ignore[attr-defined]
    assert all(isinstance(r.exc_info[1], Boom) for r in logged if r.exc_info)
    assert "listener" in logged[0].getMessage() and "twin" in logged[0].getMessage()


@pytest.mark.parametrize("api", ["stepping", "permit", "call"])
def test_model_raising_listener_during_open_to_half_open_leaves_the_probe_settleable(
    api: str, errors: pytest.LogCaptureFixture
) -> None:
    """A listener raising on open -> half_open does not leak the probe: it is settled
    normally, the breaker closes, and later calls are admitted."""
    clock = ManualClock()
    breaker = Breaker(BreakerConfig(fail_max=1, reset_timeout=10), clock=clock)
    with pytest.raises(OSError):
        breaker.call(fails)
    breaker.add_listener(Faulty())
    clock.advance(10.0)
    if api == "stepping":
        admission = breaker.admit()
        assert admission[2]  # the probe
        change = breaker.succeed(admission)
        assert change is not None and change.dest is State.CLOSED
    elif api == "permit":
        permit = breaker.acquire()
        assert permit.is_probe
        breaker.record_success(permit)
    else:
        assert breaker.call(lambda: "probe result") == "probe result"
    assert breaker.state is State.CLOSED
    assert [breaker.call(int, i) for i in range(3)] == [0, 1, 2]
    assert breaker.stats.admitted == 5
    assert len(listener_errors(errors)) == 3 + 3  # half_open, the probe's success, closed; three successes


def test_model_call_returns_its_result_and_raises_the_service_error_despite_raising_listeners(
    errors: pytest.LogCaptureFixture,
) -> None:
    """Breaker.call returns the call's result and raises the service's own error (also the
    one that trips) when success, failure and state-change listeners raise."""
    breaker = Breaker(BreakerConfig(fail_max=1), clock=ManualClock())
    breaker.add_listener(Faulty())
    assert breaker.call(lambda: 42) == 42
    with pytest.raises(OSError, match="service down"):
        breaker.call(fails)
    with pytest.raises(CircuitOpenError):
        breaker.call(lambda: 1)
    assert [r.listener.__name__ for r in listener_errors(errors)] == [  # type: ignore[attr-defined]
        "success", "state_change", "failure", "rejection",
    ]


def test_listener_loops_do_not_run_without_listeners(monkeypatch: pytest.MonkeyPatch) -> None:
    """A breaker with no listener of a kind never enters the notification loop for it."""

    def unexpected(self: Listeners, callbacks: object, event: object) -> None:
        raise AssertionError(f"notify called for {event!r} with no listener")

    monkeypatch.setattr(Listeners, "notify", unexpected)
    clock = ManualClock()
    breaker = Breaker(BreakerConfig(fail_max=1, reset_timeout=10), clock=clock)
    assert breaker.call(lambda: 1) == 1
    with pytest.raises(OSError):
        breaker.call(fails)
    assert breaker.try_admit() is None
    clock.advance(10.0)
    breaker.record_success(breaker.acquire())
    assert breaker.stats.state_changes == 3


def test_a_listener_keyboard_interrupt_propagates() -> None:
    """Only Exceptions are isolated: a listener's KeyboardInterrupt reaches the caller."""

    class Interrupts:
        def success(self, outcome: Outcome) -> None:
            raise KeyboardInterrupt

    breaker = Breaker(clock=ManualClock())
    breaker.add_listener(Interrupts())
    with pytest.raises(KeyboardInterrupt):
        breaker.call(lambda: 1)


# -- the runtime ----------------------------------------------------------------------------------


def runtime_call(breaker: CircuitBreaker, way: str, fn_ok: bool) -> object:
    """One protected call made ``way``: it returns ``"ok"`` or raises the service's OSError."""
    if way == "call":
        return breaker.call((lambda: "ok") if fn_ok else fails)
    if way == "call_async":
        return run(breaker.call_async(ok_async if fn_ok else fails_async))
    if way == "permit":
        permit = breaker.acquire()
        if fn_ok:
            breaker.record_success(permit)
            return "ok"
        breaker.record_failure(permit, OSError("service down"))
        raise OSError("service down")
    if way == "with":
        with breaker:
            if not fn_ok:
                fails()
        return "ok"

    async def block() -> str:
        async with breaker:
            if not fn_ok:
                fails()
        return "ok"

    return run(block())


WAYS = ["call", "call_async", "permit", "with", "async_with"]


@pytest.mark.parametrize("logged", [False, True], ids=["permit-free", "logged"])
@pytest.mark.parametrize("way", WAYS)
def test_runtime_raising_listener_during_open_to_half_open_leaves_the_probe_settleable(
    way: str, logged: bool, errors: pytest.LogCaptureFixture
) -> None:
    """On every way of calling, with and without an event log, a listener raising on every
    event lets the failing call raise the service's error, the probe after the deadline
    return its result, and the breaker close and admit again."""
    clock = ManualClock()
    log = Records() if logged else None
    breaker = CircuitBreaker(BreakerConfig(fail_max=1, reset_timeout=10), clock=clock, event_log=log)
    recorder = Recorder()
    breaker.add_listener(Faulty())
    breaker.add_listener(recorder)
    with pytest.raises(OSError, match="service down"):
        runtime_call(breaker, way, fn_ok=False)
    with pytest.raises(CircuitOpenError):
        runtime_call(breaker, way, fn_ok=True)
    clock.advance(10.0)
    assert runtime_call(breaker, way, fn_ok=True) == "ok"
    assert breaker.state is State.CLOSED
    assert [runtime_call(breaker, way, fn_ok=True) for _ in range(2)] == ["ok", "ok"]
    assert recorder.changes() == [(State.OPEN, "record_failure"), (State.HALF_OPEN, "acquire"), (State.CLOSED, "record_success")]
    assert len(listener_errors(errors)) == len(recorder.heard) == 8  # failure, 3 changes, rejection, 3 successes
    assert breaker.stats.admitted == 4
    if log is not None:
        log.assert_replays()


def runtime_script(breaker: CircuitBreaker, clock: ManualClock) -> list[object]:
    """Every kind of event through the runtime (calls, permits, manual control, poll);
    returns what each step returned (or the type of what it raised)."""
    seen: list[object] = []

    def step(fn: Callable[[], object]) -> None:
        try:
            seen.append(fn())
        except Exception as exc:  # noqa: BLE001 - recorded to compare the twins
            seen.append(type(exc).__name__)

    def permit_success() -> object:
        permit = breaker.acquire()
        breaker.record_success(permit)
        return permit.state

    def permit_release() -> object:
        permit = breaker.acquire()
        breaker.release(permit)
        return permit.state

    step(lambda: breaker.call(lambda: "a"))
    step(lambda: run(breaker.call_async(ok_async)))
    step(permit_release)
    step(lambda: breaker.call(fails))
    step(lambda: run(breaker.call_async(fails_async)))  # trips
    step(lambda: breaker.call(lambda: "rejected"))
    step(permit_success)  # rejected
    clock.advance(10.0)
    step(permit_success)  # the probe closes
    step(breaker.force_open)
    step(lambda: breaker.call(lambda: "rejected"))
    step(breaker.disable)
    step(lambda: breaker.call(fails))
    step(breaker.reset)
    step(breaker.poll)
    seen.append(breaker.snapshot())
    seen.append(breaker.stats)
    return seen


@pytest.mark.parametrize("logged", [False, True], ids=["permit-free", "logged"])
def test_runtime_raising_listener_changes_nothing_for_every_kind_of_event(
    logged: bool, errors: pytest.LogCaptureFixture
) -> None:
    """A CircuitBreaker with a listener raising on every event returns, raises, counts, logs
    and notifies exactly as its twin without it, and logs each listener error once."""
    twins = []
    logs = []
    for faulty in (False, True):
        clock = ManualClock()
        log = Records() if logged else None
        breaker = CircuitBreaker(BreakerConfig(fail_max=2, reset_timeout=10), clock=clock, event_log=log, name="rt")
        if faulty:
            breaker.add_listener(Faulty())
        recorder = Recorder()
        breaker.add_listener(recorder)
        twins.append((runtime_script(breaker, clock), recorder.heard))
        logs.append(log)
    assert twins[1] == twins[0]
    heard = twins[1][1]
    assert {kind for kind, _ in heard} == {"state_change", "rejection", "success", "failure"}
    logged_errors = listener_errors(errors)
    assert [(r.listener.__name__, r.event, r.breaker) for r in logged_errors] == [  # type: ignore[attr-defined]
        (kind, event, "rt") for kind, event in heard
    ]
    if logged:
        assert logs[0] is not None and logs[1] is not None
        assert logs[1].records == logs[0].records
        logs[1].assert_replays()


# -- time-driven transitions in the runtime ------------------------------------------------------


@pytest.mark.parametrize("logged", [False, True], ids=["permit-free", "logged"])
def test_reading_state_performs_the_due_at_deadline_transition(logged: bool) -> None:
    """With half_open_entry="at_deadline", state reads open before the deadline and half_open
    from it on, once: a listener hears one poll transition and the log records one poll."""
    clock = ManualClock()
    log = Records() if logged else None
    breaker = CircuitBreaker(
        BreakerConfig(fail_max=1, reset_timeout=10, half_open_entry="at_deadline"), clock=clock, event_log=log
    )
    recorder = Recorder()
    breaker.add_listener(recorder)
    with pytest.raises(OSError):
        breaker.call(fails)
    clock.advance(9.5)
    assert breaker.state is State.OPEN
    clock.advance(0.5)
    assert breaker.state is State.HALF_OPEN
    assert breaker.state is State.HALF_OPEN
    assert recorder.changes() == [(State.OPEN, "record_failure"), (State.HALF_OPEN, "poll")]
    change = recorder.heard[-1][1]
    assert isinstance(change, StateChange) and change.time == 10.0
    assert breaker.call(lambda: "probe") == "probe"
    assert breaker.state is State.CLOSED
    if log is not None:
        assert log.events() == ["acquire", "record_failure", "poll", "acquire", "record_success"]
        log.assert_replays()


def test_a_due_transition_another_caller_performs_first_is_neither_repeated_nor_logged_twice() -> None:
    """When another caller polls between a state read's check and its lock (here: the clock
    reading does it), the read performs and logs no second poll."""

    class RacingClock(ManualClock):
        """A manual clock whose first reading after ``arm()`` polls the breaker itself."""

        breaker: CircuitBreaker | None = None

        def __call__(self) -> float:
            breaker, self.breaker = self.breaker, None
            if breaker is not None:
                breaker.poll()  # another caller gets the lock first
            return super().__call__()

    clock = RacingClock()
    log = Records()
    breaker = CircuitBreaker(
        BreakerConfig(fail_max=1, reset_timeout=10, half_open_entry="at_deadline"), clock=clock, event_log=log
    )
    recorder = Recorder()
    breaker.add_listener(recorder)
    with pytest.raises(OSError):
        breaker.call(fails)
    clock.advance(10.0)
    clock.breaker = breaker
    assert breaker.state is State.HALF_OPEN
    assert log.events() == ["acquire", "record_failure", "poll"]
    assert recorder.changes() == [(State.OPEN, "record_failure"), (State.HALF_OPEN, "poll")]
    log.assert_replays()


def test_reading_state_honours_an_exclusive_deadline() -> None:
    """With admit_at_deadline=False the read at exactly the deadline still sees open, and
    the first instant after it half_open."""
    clock = ManualClock()
    breaker = CircuitBreaker(
        BreakerConfig(fail_max=1, reset_timeout=10, half_open_entry="at_deadline", admit_at_deadline=False),
        clock=clock,
    )
    with pytest.raises(OSError):
        breaker.call(fails)
    clock.advance(10.0)
    assert breaker.state is State.OPEN
    clock.advance(math.nextafter(10.0, math.inf) - 10.0)
    assert clock() == math.nextafter(10.0, math.inf)
    assert breaker.state is State.HALF_OPEN


def test_snapshot_and_time_until_half_open_perform_the_half_open_maximum_wait() -> None:
    """After half_open_max_wait with its probe unsettled, snapshot() and time_until_half_open()
    see the breaker re-opened (the poll transition), with the whole open time ahead."""
    clock = ManualClock()
    breaker = CircuitBreaker(BreakerConfig(fail_max=1, reset_timeout=10, half_open_max_wait=5), clock=clock)
    with pytest.raises(OSError):
        breaker.call(fails)
    clock.advance(10.0)
    breaker.acquire()  # the probe never reports
    assert breaker.snapshot()["state"] is State.HALF_OPEN
    clock.advance(5.0)
    assert breaker.time_until_half_open() > 0.0
    assert breaker.snapshot()["state"] is State.OPEN
    assert breaker.breaker.state is State.OPEN


def test_lazy_half_open_entry_is_not_performed_by_reading_state() -> None:
    """With the default lazy entry, reading state after the deadline leaves it open (the next
    acquire performs it and is the probe), and no poll is logged."""
    clock = ManualClock()
    log = Records()
    breaker = CircuitBreaker(BreakerConfig(fail_max=1, reset_timeout=10), clock=clock, event_log=log)
    with pytest.raises(OSError):
        breaker.call(fails)
    clock.advance(100.0)
    assert breaker.state is State.OPEN
    assert "poll" not in log.events()


def test_reading_state_after_close_performs_no_unlogged_transition() -> None:
    """Once a logged breaker is closed, reading its state past the deadline neither raises nor
    changes it unlogged."""
    clock = ManualClock()
    breaker = CircuitBreaker(
        BreakerConfig(fail_max=1, reset_timeout=10, half_open_entry="at_deadline"), clock=clock, event_log=Records()
    )
    with pytest.raises(OSError):
        breaker.call(fails)
    breaker.close()
    clock.advance(10.0)
    assert breaker.state is State.OPEN


# -- async with -----------------------------------------------------------------------------------


async def enter_async(breaker: CircuitBreaker, body: Callable[[], object]) -> object:
    """Run ``body`` in ``async with breaker:``."""
    async with breaker as permit:
        assert isinstance(permit, Permit)
        body()
    return "done"


def enter_sync(breaker: CircuitBreaker, body: Callable[[], object]) -> object:
    """Run ``body`` in ``with breaker:``."""
    with breaker as permit:
        assert isinstance(permit, Permit)
        body()
    return "done"


def raising(error: BaseException) -> Callable[[], object]:
    """A block body that raises ``error``."""

    def body() -> object:
        raise error

    return body


BODIES: dict[str, Callable[[ManualClock], Callable[[], object]]] = {
    "success": lambda clock: lambda: None,
    "counted failure": lambda clock: raising(OSError("down")),
    "excluded error": lambda clock: raising(KeyError("excluded")),
    "cancellation": lambda clock: raising(asyncio.CancelledError()),
    "overrun": lambda clock: lambda: clock.advance(2.0),
}


@pytest.mark.parametrize("trip_error", ["original", "circuit_open"])
@pytest.mark.parametrize("body", list(BODIES))
def test_async_with_settles_exactly_like_with(body: str, trip_error: str) -> None:
    """``async with breaker:`` raises, counts, changes state and logs exactly what ``with
    breaker:`` does for a success, a counted failure (that trips), an excluded error, a
    cancellation and a call_timeout overrun."""
    outcomes = []
    for asynchronous in (False, True):
        clock = ManualClock()
        log = Records()
        breaker = CircuitBreaker(
            BreakerConfig(fail_max=1, call_timeout=1.0, excluded_exceptions=(KeyError,), trip_error=trip_error),
            clock=clock,
            event_log=log,
        )
        fn = BODIES[body](clock)
        try:
            result: object = run(enter_async(breaker, fn)) if asynchronous else enter_sync(breaker, fn)
        except BaseException as exc:  # noqa: BLE001 - compared between the two
            result = (type(exc).__name__, type(exc.__cause__).__name__)
        outcomes.append((result, breaker.stats, breaker.snapshot(), log.records))
    assert outcomes[1] == outcomes[0]
    expected_state = State.OPEN if body in ("counted failure", "overrun") else State.CLOSED
    assert outcomes[1][2]["state"] is expected_state


def test_async_with_is_rejected_on_entry_and_the_block_does_not_run() -> None:
    """``async with`` an open breaker raises CircuitOpenError before the block runs."""
    breaker = CircuitBreaker(BreakerConfig(fail_max=1), clock=ManualClock())
    with pytest.raises(OSError):
        breaker.call(fails)
    ran: list[str] = []
    with pytest.raises(CircuitOpenError):
        run(enter_async(breaker, lambda: ran.append("ran")))
    assert ran == []
    assert breaker.stats.rejections == 1


def test_concurrent_and_nested_async_with_blocks_settle_their_own_permits() -> None:
    """Tasks in ``async with`` blocks at once, one of them nested, each settle their own permit."""
    breaker = CircuitBreaker(BreakerConfig(fail_max=10), clock=ManualClock())
    settled: list[int] = []

    async def task(i: int) -> None:
        async with breaker as outer:
            await asyncio.sleep(0)
            if i == 0:
                async with breaker as inner:
                    await asyncio.sleep(0)
                assert inner.settled and not outer.settled
            await asyncio.sleep(0)
        assert outer.settled
        settled.append(outer.id)

    async def scenario() -> None:
        await asyncio.gather(*(task(i) for i in range(3)))

    run(scenario())
    assert sorted(settled) == [1, 2, 3]
    assert (breaker.stats.admitted, breaker.stats.successes) == (4, 4)


def test_async_exit_without_enter_says_so() -> None:
    """``__aexit__`` with no matching ``__aenter__`` in this task raises RuntimeError, as ``__exit__`` does."""
    breaker = CircuitBreaker(clock=ManualClock())
    with pytest.raises(RuntimeError, match="without a matching __enter__"):
        run(breaker.__aexit__(None, None, None))


# -- type errors ----------------------------------------------------------------------------------


def bad_calls() -> dict[str, tuple[Callable[[], object], str]]:
    """Each wrong-typed argument, and the message that names it."""
    clock = ManualClock()
    model = Breaker(clock=clock)
    runtime = CircuitBreaker(clock=clock)
    model_permit = model.acquire()
    runtime_permit = runtime.acquire()
    return {
        "Breaker(config)": (lambda: Breaker("fail_max=3", clock=clock),  # type: ignore[arg-type]
                            r"'config' must be a BreakerConfig, e\.g\. BreakerConfig\(fail_max=3\) \(got 'fail_max=3'\)"),
        "CircuitBreaker(config)": (lambda: CircuitBreaker({"fail_max": 3}),  # type: ignore[arg-type]
                                   r"'config' must be a BreakerConfig.*\(got \{'fail_max': 3\}\)"),
        "CircuitBreaker(event_log)": (lambda: CircuitBreaker(event_log=5),  # type: ignore[arg-type]
                                      r"'event_log' must be a path, a text stream or a callable.*\(got 5\)"),
        "Breaker.record_success": (lambda: model.record_success(None),  # type: ignore[arg-type]
                                   r"'permit' must be the Permit that acquire\(\) returned.*\(got None\)"),
        "Breaker.record_failure": (lambda: model.record_failure(3),  # type: ignore[arg-type]
                                   r"'permit' must be the Permit.*\(got 3\)"),
        "Breaker.record_failure(error)": (lambda: model.record_failure(model_permit, "boom"),  # type: ignore[arg-type]
                                          r"'error' must be the exception the call raised, or None.*\(got 'boom'\)"),
        "Breaker.release": (lambda: model.release(model_permit.admission),  # type: ignore[arg-type]
                            r"'permit' must be the Permit.*\(got \(0, <State\.CLOSED"),
        "CircuitBreaker.record_success": (lambda: runtime.record_success(None),  # type: ignore[arg-type]
                                          r"'permit' must be the Permit.*\(got None\)"),
        "CircuitBreaker.record_failure": (lambda: runtime.record_failure("p"),  # type: ignore[arg-type]
                                          r"'permit' must be the Permit.*\(got 'p'\)"),
        "CircuitBreaker.record_failure(error)": (lambda: runtime.record_failure(runtime_permit, 5),  # type: ignore[arg-type]
                                                 r"'error' must be the exception.*\(got 5\)"),
        "CircuitBreaker.release": (lambda: runtime.release(None),  # type: ignore[arg-type]
                                   r"'permit' must be the Permit.*\(got None\)"),
    }


@pytest.mark.parametrize("case", list(bad_calls()))
def test_wrong_argument_types_raise_a_type_error_naming_what_was_expected(case: str) -> None:
    """A config that is not a BreakerConfig, an event_log of the wrong kind, a non-Permit
    settled, or a non-exception error raise TypeError saying what was expected and what was given."""
    fn, message = bad_calls()[case]
    with pytest.raises(TypeError, match=message):
        fn()


def test_a_rejected_argument_settles_nothing() -> None:
    """After a wrong-typed error is refused, the permit is still unsettled and settles normally."""
    breaker = CircuitBreaker(BreakerConfig(fail_max=1), clock=ManualClock())
    permit = breaker.acquire()
    with pytest.raises(TypeError):
        breaker.record_failure(permit, "boom")  # type: ignore[arg-type]
    assert not permit.settled
    breaker.record_failure(permit, OSError("down"))
    assert breaker.state is State.OPEN


# -- call_timeout and async calls -----------------------------------------------------------------


@pytest.mark.parametrize(("duration", "failed"), [(4.0, False), (5.0, False), (5.5, True)])
def test_async_call_is_measured_against_call_timeout_like_a_sync_call(duration: float, failed: bool) -> None:
    """An async call that completes (not cancelled) after lasting strictly more than
    call_timeout on the breaker's clock returns its result and counts a failure, exactly as a
    sync call of that duration does."""
    counted = []
    for asynchronous in (False, True):
        clock = ManualClock()
        breaker = CircuitBreaker(BreakerConfig(fail_max=1, call_timeout=5.0), clock=clock)

        def blocking(clock: ManualClock = clock) -> str:
            clock.advance(duration)  # the call's time on the breaker's clock; the loop never waits
            return "result"

        async def coroutine(blocking: Callable[[], str] = blocking) -> str:
            return blocking()

        result = run(breaker.call_async(coroutine)) if asynchronous else breaker.call(blocking)
        assert result == "result"
        counted.append((breaker.stats.successes, breaker.stats.failures, breaker.state))
    assert counted[1] == counted[0] == ((0, 1, State.OPEN) if failed else (1, 0, State.CLOSED))


def test_logger_is_the_breakerlab_logger() -> None:
    """Listener errors go to the documented ``logging.getLogger("breakerlab")``."""
    assert LOGGER is logging.getLogger("breakerlab")


class Strict(Faulty):
    """A faulty listener that is part of the program's logic: its errors must propagate."""

    propagate_errors = True


def test_a_listener_that_declares_propagate_errors_has_its_error_reach_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    """A listener with ``propagate_errors = True`` (the simulator's) is not isolated: its error
    reaches the caller of the event, after the event was performed, and nothing is logged."""
    clock = ManualClock()
    breaker = Breaker(BreakerConfig(fail_max=1, reset_timeout=10.0), clock=clock)
    breaker.add_listener(Strict())
    admission = breaker.admit()
    with caplog.at_level(logging.ERROR, logger="breakerlab"), pytest.raises(Boom, match="state_change open"):
        breaker.fail(admission)
    assert breaker.state is State.OPEN and not caplog.records

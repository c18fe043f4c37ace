"""Tests of ``CircuitBreaker``, the thread- and asyncio-safe runtime breaker, its event log and ``breakerlab replay``.

Every test runs on a ``ManualClock`` unless it needs the event loop's real time (async
timeouts); anything that could deadlock runs in a daemon thread joined with a timeout.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import io
import json
import pathlib
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import configs

from breakerlab.cli import main
from breakerlab.model import (
    BreakerConfig,
    CircuitOpenError,
    InvalidConfigError,
    ManualClock,
    Outcome,
    Permit,
    PermitError,
    Rejection,
    State,
    StateChange,
)
from breakerlab.runtime import CircuitBreaker, EventLogError
from breakerlab.runtime.replay import replay_log

T = TypeVar("T")

#: Seconds a test waits for work that should take microseconds before declaring a deadlock.
DEADLOCK_TIMEOUT_S = 5.0

EVENT_FIELDS = {
    "seq",
    "t",
    "event",
    "permit",
    "permit_generation",
    "permit_state",
    "verdict",
    "source",
    "dest",
    "generation",
    "cause",
    "counters",
}
COUNTERS = {
    "generation",
    "consecutive_failures",
    "opened_at",
    "open_until",
    "next_open_duration",
    "half_open_since",
    "probes_admitted",
    "probes_inflight",
    "probe_successes",
    "probe_failures",
}


class Records:
    """A callable event-log sink keeping every record in memory."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def __call__(self, record: dict[str, Any]) -> None:
        self.records.append(record)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The records after the config header."""
        return self.records[1:]

    def jsonl(self) -> str:
        """The log as the JSON lines a file sink would have written."""
        return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in self.records)


def make(event_log: Any = None, **options: Any) -> tuple[CircuitBreaker, ManualClock]:
    """A CircuitBreaker with ``options`` on a fresh ManualClock at 0.0."""
    clock = ManualClock()
    return CircuitBreaker(BreakerConfig(**options), clock=clock, event_log=event_log), clock


def raiser(error: BaseException) -> Callable[[], Any]:
    """A function that raises ``error`` when called."""

    def fn() -> Any:
        raise error

    return fn


def trip(breaker: CircuitBreaker) -> None:
    """Open ``breaker`` with ``fail_max`` failing calls."""
    for _ in range(breaker.config.fail_max):
        with pytest.raises(OSError):
            breaker.call(raiser(OSError("down")))
    assert breaker.state is State.OPEN


def bounded(fn: Callable[[], T], timeout_s: float = DEADLOCK_TIMEOUT_S) -> T:
    """Run ``fn`` in a daemon thread; fail (instead of hanging) if it does not finish in time."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout_s)
    assert not thread.is_alive(), f"deadlock: still running after {timeout_s} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh event loop, bounded so that a deadlock fails the test."""
    return bounded(lambda: asyncio.run(coro))


# -- call() ------------------------------------------------------------------------------------


@pytest.fixture(params=["permit-free", "logged"])
def event_log(request: pytest.FixtureRequest) -> Iterator[Records | None]:
    """No event log (call() takes its permit-free path) or an in-memory one (the permit path),
    which must replay cleanly on the reference model once the test is done."""
    if request.param == "permit-free":
        yield None
        return
    records = Records()
    yield records
    report = replay_log(io.StringIO(records.jsonl()))
    assert report.ok, report.mismatch


def test_call_passes_arguments_and_returns_the_result(event_log: Records | None) -> None:
    """call(fn, *args, **kwargs) returns fn(*args, **kwargs) itself and counts a success."""
    breaker, _ = make(event_log=event_log)
    result = object()
    assert breaker.call(lambda a, b=None: (a, b), result, b=2) == (result, 2)
    assert breaker.call(lambda: result) is result
    assert (breaker.stats.admitted, breaker.stats.successes) == (2, 2)


def test_call_reraises_the_very_exception_and_counts_a_failure(event_log: Records | None) -> None:
    """call() re-raises the exception object fn raised and counts one failure."""
    breaker, _ = make(event_log=event_log)
    error = ValueError("boom")
    with pytest.raises(ValueError) as info:
        breaker.call(raiser(error))
    assert info.value is error
    assert (breaker.stats.failures, breaker.snapshot()["consecutive_failures"]) == (1, 1)


def test_rejected_call_raises_circuit_open_without_calling_fn(event_log: Records | None) -> None:
    """An open breaker rejects call() with CircuitOpenError (state, remaining time) and never calls fn."""
    breaker, clock = make(event_log=event_log, fail_max=2, reset_timeout=30)
    trip(breaker)
    clock.advance(10.0)
    invoked: list[bool] = []
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(lambda: invoked.append(True))
    assert invoked == []
    assert (info.value.state, info.value.remaining_s) == (State.OPEN, 20.0)
    assert breaker.stats.rejections == 1


@pytest.mark.parametrize("cancel", [KeyboardInterrupt, asyncio.CancelledError])
def test_sync_cancellation_releases_the_permit_uncounted(cancel: type[BaseException], event_log: Records | None) -> None:
    """A cancellation raised inside call() propagates and releases the permit without counting it."""
    breaker, _ = make(event_log=event_log, fail_max=1)
    with pytest.raises(cancel):
        breaker.call(raiser(cancel()))
    stats = breaker.stats
    assert (stats.admitted, stats.released, stats.failures, stats.successes) == (1, 1, 0, 0)
    assert breaker.state is State.CLOSED


def test_excluded_exception_is_released_and_reraised(event_log: Records | None) -> None:
    """An excluded exception passes through call() and is neither a success nor a failure."""
    breaker, _ = make(event_log=event_log, fail_max=1, excluded_exceptions=(KeyError,))
    with pytest.raises(KeyError):
        breaker.call(raiser(KeyError("k")))
    assert (breaker.stats.released, breaker.stats.failures, breaker.state) == (1, 0, State.CLOSED)


def test_failure_result_is_counted_but_returned() -> None:
    """With is_failure_result, a bad value is returned to the caller and counted as a failure."""
    breaker, _ = make(fail_max=2, is_failure_result=lambda value: value is None)
    assert breaker.call(lambda: None) is None
    assert breaker.call(lambda: 1) == 1
    assert (breaker.stats.failures, breaker.stats.successes) == (1, 1)


def test_sync_call_timeout_overrun_counts_a_failure_but_returns_the_result(event_log: Records | None) -> None:
    """A sync call that overruns call_timeout returns its result and is counted as a failure."""
    breaker, clock = make(event_log=event_log, fail_max=2, call_timeout=1.0)

    def slow(seconds: float) -> str:
        clock.advance(seconds)
        return f"took {seconds}"

    assert breaker.call(slow, 1.0) == "took 1.0"  # exactly the timeout: not an overrun
    assert (breaker.stats.successes, breaker.stats.failures) == (1, 0)
    assert breaker.call(slow, 1.5) == "took 1.5"
    assert (breaker.stats.successes, breaker.stats.failures) == (1, 1)
    assert breaker.snapshot()["consecutive_failures"] == 1
    assert breaker.call(slow, 2.0) == "took 2.0"  # the overrun that trips still returns
    assert breaker.state is State.OPEN


@pytest.mark.parametrize("cancel", [KeyboardInterrupt, asyncio.CancelledError])
def test_half_open_probes_through_call(cancel: type[BaseException], event_log: Records | None) -> None:
    """Through call(): a cancelled probe frees its slot, a failed probe re-opens with the timer restarted, and a successful probe closes."""
    breaker, clock = make(event_log=event_log, fail_max=1, reset_timeout=10)
    trip(breaker)
    clock.advance(10.0)
    with pytest.raises(cancel):
        breaker.call(raiser(cancel()))
    assert (breaker.state, breaker.snapshot()["probes_inflight"]) == (State.HALF_OPEN, 0)
    clock.advance(1.0)
    with pytest.raises(OSError):
        breaker.call(raiser(OSError("still down")))
    assert breaker.state is State.OPEN
    assert breaker.snapshot()["open_until"] == 21.0
    clock.advance(9.0)
    with pytest.raises(CircuitOpenError):
        breaker.call(lambda: "too early")
    clock.advance(1.0)
    assert breaker.call(lambda: "probe") == "probe"
    assert breaker.state is State.CLOSED


def test_stale_success_after_a_trip_is_ignored(event_log: Records | None) -> None:
    """A call admitted while closed that succeeds after other threads tripped the breaker changes nothing but the totals."""
    breaker, _ = make(event_log=event_log, fail_max=2, reset_timeout=10)
    inside, finish = threading.Event(), threading.Event()
    results: list[str] = []

    def slow() -> str:
        inside.set()
        assert finish.wait(DEADLOCK_TIMEOUT_S)
        return "late"

    caller = threading.Thread(target=lambda: results.append(breaker.call(slow)), daemon=True)
    caller.start()
    assert inside.wait(DEADLOCK_TIMEOUT_S)
    bounded(lambda: trip(breaker))
    before = breaker.snapshot()
    finish.set()
    caller.join(DEADLOCK_TIMEOUT_S)
    assert results == ["late"]
    assert breaker.snapshot() == before
    assert breaker.stats.successes == 1


# -- trip_error="circuit_open" -------------------------------------------------------------------


def test_trip_error_circuit_open_chains_from_the_tripping_error_in_call(event_log: Records | None) -> None:
    """With trip_error="circuit_open", the call that trips raises CircuitOpenError from its own error."""
    breaker, _ = make(event_log=event_log, fail_max=2, reset_timeout=30, trip_error="circuit_open")
    with pytest.raises(OSError):
        breaker.call(raiser(OSError("first")))
    error = OSError("second")
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(raiser(error))
    assert info.value.__cause__ is error
    assert (info.value.state, info.value.remaining_s) == (State.OPEN, 30.0)


def test_trip_error_circuit_open_for_a_failure_result() -> None:
    """With trip_error="circuit_open", a failure result that trips raises CircuitOpenError."""
    breaker, _ = make(fail_max=1, trip_error="circuit_open", is_failure_result=lambda value: value < 0)
    with pytest.raises(CircuitOpenError):
        breaker.call(lambda: -1)
    assert breaker.state is State.OPEN


def test_trip_error_circuit_open_in_with_and_call_async() -> None:
    """trip_error="circuit_open" also applies to `with breaker:` and call_async (chained from the error)."""
    breaker, _ = make(fail_max=1, trip_error="circuit_open")
    error = OSError("down")
    with pytest.raises(CircuitOpenError) as info:
        with breaker:
            raise error
    assert info.value.__cause__ is error

    breaker, _ = make(fail_max=1, trip_error="circuit_open")

    async def failing() -> None:
        raise error

    with pytest.raises(CircuitOpenError) as info:
        run(breaker.call_async(failing))
    assert info.value.__cause__ is error


def test_trip_error_original_is_the_default(event_log: Records | None) -> None:
    """Without trip_error, the call that trips raises its own error."""
    breaker, _ = make(event_log=event_log, fail_max=1)
    error = OSError("down")
    with pytest.raises(OSError) as info:
        breaker.call(raiser(error))
    assert info.value is error
    assert breaker.state is State.OPEN


# -- decorator -------------------------------------------------------------------------------------


def test_decorator_on_a_function_keeps_its_metadata_and_goes_through_the_breaker() -> None:
    """@breaker on a def keeps __name__, __qualname__, __doc__, __module__ and __wrapped__, and every call is admitted by the breaker."""
    breaker, _ = make(fail_max=1)

    def fetch(key: str, *, default: int = 0) -> tuple[str, int]:
        """Fetch a key."""
        return key, default

    decorated = breaker(fetch)
    assert decorated.__name__ == "fetch"
    assert decorated.__qualname__ == fetch.__qualname__
    assert decorated.__doc__ == "Fetch a key."
    assert decorated.__module__ == __name__
    assert decorated.__wrapped__ is fetch  # type: ignore[attr-defined]
    for attribute in functools.WRAPPER_ASSIGNMENTS:
        assert getattr(decorated, attribute) == getattr(fetch, attribute)
    assert inspect.signature(decorated) == inspect.signature(fetch)
    assert not inspect.iscoroutinefunction(decorated)
    assert decorated("k", default=3) == ("k", 3)
    assert breaker.stats.admitted == 1


def test_decorated_function_is_rejected_without_being_called(event_log: Records | None) -> None:
    """A decorated function raises CircuitOpenError without running when the breaker is open."""
    breaker, _ = make(event_log=event_log, fail_max=1)
    calls: list[int] = []

    @breaker
    def flaky(n: int) -> int:
        calls.append(n)
        raise OSError(n)

    with pytest.raises(OSError):
        flaky(1)
    with pytest.raises(CircuitOpenError):
        flaky(2)
    assert calls == [1]


def test_decorator_on_an_async_def_keeps_metadata_and_stays_a_coroutine_function() -> None:
    """@breaker on an async def gives a coroutine function with the same metadata whose calls go through the breaker."""
    breaker, _ = make(fail_max=1)

    async def fetch(key: str) -> str:
        """Fetch a key asynchronously."""
        await asyncio.sleep(0)
        return key.upper()

    decorated = breaker(fetch)
    assert inspect.iscoroutinefunction(decorated)
    assert decorated.__name__ == "fetch"
    assert decorated.__qualname__ == fetch.__qualname__
    assert decorated.__doc__ == "Fetch a key asynchronously."
    assert decorated.__wrapped__ is fetch  # type: ignore[attr-defined]
    for attribute in functools.WRAPPER_ASSIGNMENTS:
        assert getattr(decorated, attribute) == getattr(fetch, attribute)
    assert run(decorated("k")) == "K"
    assert (breaker.stats.admitted, breaker.stats.successes) == (1, 1)


def test_decorated_async_def_failures_trip_and_then_reject() -> None:
    """A decorated async def's failure is counted; once open, calls are rejected without running it."""
    breaker, _ = make(fail_max=1)
    runs: list[int] = []

    @breaker
    async def flaky(n: int) -> None:
        runs.append(n)
        raise OSError(n)

    async def scenario() -> None:
        with pytest.raises(OSError):
            await flaky(1)
        with pytest.raises(CircuitOpenError):
            await flaky(2)

    run(scenario())
    assert runs == [1]
    assert breaker.stats.rejections == 1


# -- with breaker: -----------------------------------------------------------------------------------


def test_with_records_success_and_yields_the_permit() -> None:
    """`with breaker as permit:` admits a call, gives its Permit, and records a success on a normal exit."""
    breaker, _ = make()
    with breaker as permit:
        assert isinstance(permit, Permit)
        assert breaker.snapshot()["state"] is State.CLOSED
    assert permit.settled
    assert (breaker.stats.admitted, breaker.stats.successes) == (1, 1)


def test_with_records_a_failure_and_lets_the_exception_propagate() -> None:
    """An exception leaving `with breaker:` propagates unchanged and is counted as a failure."""
    breaker, _ = make(fail_max=2)
    error = OSError("down")
    with pytest.raises(OSError) as info:
        with breaker:
            raise error
    assert info.value is error
    assert breaker.stats.failures == 1


def test_with_on_an_open_breaker_rejects_before_the_body_runs() -> None:
    """`with breaker:` on an open breaker raises CircuitOpenError and never runs its body."""
    breaker, _ = make(fail_max=1)
    trip(breaker)
    ran: list[bool] = []
    with pytest.raises(CircuitOpenError):
        with breaker:
            ran.append(True)
    assert ran == []


def test_with_releases_on_cancellation() -> None:
    """A KeyboardInterrupt leaving `with breaker:` releases the permit without counting it."""
    breaker, _ = make(fail_max=1)
    with pytest.raises(KeyboardInterrupt):
        with breaker:
            raise KeyboardInterrupt
    assert (breaker.stats.released, breaker.stats.failures, breaker.state) == (1, 0, State.CLOSED)


def test_nested_with_settles_each_permit_with_its_own_outcome() -> None:
    """Nested `with breaker:` blocks each hold their own permit and record their own outcome."""
    records = Records()
    breaker, _ = make(event_log=records, fail_max=5)
    with breaker as outer:
        with pytest.raises(ValueError):
            with breaker as inner:
                assert inner is not outer
                raise ValueError("inner fails")
        assert inner.settled and not outer.settled
    assert outer.settled
    outcomes = [(r["event"], r["permit"]) for r in records.events if r["event"] != "acquire"]
    assert outcomes == [("record_failure", inner.id), ("record_success", outer.id)]


def test_exit_without_enter_is_an_error() -> None:
    """Calling __exit__ with no matching __enter__ in this context raises RuntimeError."""
    breaker, _ = make()
    with pytest.raises(RuntimeError, match="without a matching __enter__"):
        breaker.__exit__(None, None, None)


def test_with_from_two_asyncio_tasks_settles_each_tasks_own_permit() -> None:
    """Two tasks inside `with breaker:` at once, exiting in entry order, each settle their own permit."""
    records = Records()
    breaker, _ = make(event_log=records, fail_max=5)
    a_entered, b_entered, a_exited = asyncio.Event(), asyncio.Event(), asyncio.Event()
    permits: dict[str, Permit] = {}

    async def task_a() -> None:
        with pytest.raises(ValueError):
            with breaker as permit:
                permits["a"] = permit
                a_entered.set()
                await b_entered.wait()  # B enters after A and before A exits
                raise ValueError("a fails")
        a_exited.set()

    async def task_b() -> None:
        await a_entered.wait()
        with breaker as permit:
            permits["b"] = permit
            b_entered.set()
            await a_exited.wait()  # A exits first

    async def scenario() -> None:
        await asyncio.wait_for(asyncio.gather(task_a(), task_b()), timeout=DEADLOCK_TIMEOUT_S)

    run(scenario())
    outcomes = [(r["event"], r["permit"]) for r in records.events if r["event"] != "acquire"]
    assert outcomes == [("record_failure", permits["a"].id), ("record_success", permits["b"].id)]
    assert (breaker.stats.failures, breaker.stats.successes) == (1, 1)


# -- call_async ----------------------------------------------------------------------------------------


def test_call_async_passes_arguments_and_returns_the_result() -> None:
    """await call_async(coro_fn, *args, **kwargs) returns the coroutine's result and counts a success."""
    breaker, _ = make()

    async def add(a: int, *, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    assert run(breaker.call_async(add, 2, b=3)) == 5
    assert breaker.stats.successes == 1


def test_call_async_reraises_the_very_exception() -> None:
    """call_async re-raises the coroutine's own exception object and counts a failure."""
    breaker, _ = make()
    error = LookupError("missing")

    async def failing() -> None:
        await asyncio.sleep(0)
        raise error

    with pytest.raises(LookupError) as info:
        run(breaker.call_async(failing))
    assert info.value is error
    assert breaker.stats.failures == 1


def test_call_async_rejected_does_not_call_the_coroutine_function() -> None:
    """A rejected call_async raises CircuitOpenError without calling fn (no coroutine is created)."""
    breaker, _ = make(fail_max=1)
    trip(breaker)
    called: list[bool] = []

    def coro_fn() -> Coroutine[Any, Any, None]:
        called.append(True)
        return asyncio.sleep(0)

    with pytest.raises(CircuitOpenError):
        run(breaker.call_async(coro_fn))
    assert called == []


def test_call_async_timeout_cancels_the_coroutine_counts_a_failure_and_raises_timeout_error() -> None:
    """With call_timeout, a coroutine still running at the timeout is cancelled, counted as a failure, and TimeoutError is raised."""
    breaker, _ = make(fail_max=5, call_timeout=0.05)
    seen: list[str] = []

    async def hangs() -> None:
        seen.append("started")
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        seen.append("finished")  # pragma: no cover - the timeout cancels it

    async def scenario() -> None:
        with pytest.raises(TimeoutError):
            await breaker.call_async(hangs)

    run(scenario())
    assert seen == ["started", "cancelled"]  # cancelled by the timeout, long before its 30 s
    stats = breaker.stats
    assert (stats.failures, stats.successes, stats.released) == (1, 0, 0)
    assert breaker.snapshot()["consecutive_failures"] == 1


def test_call_async_timeout_trips_with_trip_error_circuit_open() -> None:
    """A timed-out call that trips raises CircuitOpenError chained from the TimeoutError under trip_error="circuit_open"."""
    breaker, _ = make(fail_max=1, call_timeout=0.01, trip_error="circuit_open")

    async def hangs() -> None:
        await asyncio.sleep(30)

    with pytest.raises(CircuitOpenError) as info:
        run(breaker.call_async(hangs))
    assert isinstance(info.value.__cause__, TimeoutError)
    assert breaker.state is State.OPEN


def test_call_async_within_its_timeout_is_a_success() -> None:
    """A coroutine finishing before call_timeout is a success."""
    breaker, _ = make(call_timeout=5.0)

    async def quick() -> str:
        await asyncio.sleep(0)
        return "ok"

    assert run(breaker.call_async(quick)) == "ok"
    assert (breaker.stats.successes, breaker.stats.failures) == (1, 0)


@pytest.mark.parametrize("call_timeout", [None, 30.0])
def test_timeout_error_raised_by_fn_itself_is_classified_normally(call_timeout: float | None) -> None:
    """A TimeoutError the coroutine raises itself (not call_timeout) follows the classification rules: excluded here, so released."""
    breaker, _ = make(fail_max=1, call_timeout=call_timeout, excluded_exceptions=(TimeoutError,))

    async def own_timeout() -> None:
        await asyncio.sleep(0)
        raise TimeoutError("upstream said so")

    with pytest.raises(TimeoutError, match="upstream said so"):
        run(breaker.call_async(own_timeout))
    stats = breaker.stats
    assert (stats.released, stats.failures, breaker.state) == (1, 0, State.CLOSED)


def test_call_timeout_counts_a_failure_even_when_timeout_error_is_excluded() -> None:
    """The breaker's own timeout is a failure even if TimeoutError is an excluded exception."""
    breaker, _ = make(fail_max=1, call_timeout=0.01, excluded_exceptions=(TimeoutError,))

    async def hangs() -> None:
        await asyncio.sleep(30)

    with pytest.raises(TimeoutError):
        run(breaker.call_async(hangs))
    assert (breaker.stats.failures, breaker.state) == (1, State.OPEN)


def test_caller_cancellation_releases_the_probe_slot() -> None:
    """Cancelling the task awaiting a half-open probe releases its permit uncounted, so the next call is admitted as the probe."""
    breaker, clock = make(fail_max=1, reset_timeout=10, call_timeout=30.0)
    trip(breaker)
    clock.advance(10.0)
    seen: list[str] = []

    async def probe() -> None:
        seen.append("started")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def scenario() -> None:
        task = asyncio.create_task(breaker.call_async(probe))
        await asyncio.sleep(0)
        assert breaker.state is State.HALF_OPEN
        with pytest.raises(CircuitOpenError):  # the only probe slot is taken
            breaker.acquire()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()

    run(scenario())
    assert seen == ["started", "cancelled"]
    stats = breaker.stats
    assert (stats.released, stats.failures, stats.successes) == (1, 1, 0)  # the 1 failure is the trip
    assert breaker.snapshot()["probes_inflight"] == 0
    assert breaker.call(lambda: "probe ok") == "probe ok"
    assert breaker.state is State.CLOSED


def test_caller_cancellation_racing_the_timeout_is_still_a_release() -> None:
    """A caller cancellation that lands together with call_timeout's expiry re-raises CancelledError and releases the permit uncounted."""
    breaker, _ = make(fail_max=5, call_timeout=0.01)
    cancels_seen: list[int] = []

    class SteppedLoop(asyncio.SelectorEventLoop):
        """An event loop whose clock moves only when told, so timers fire exactly when the test says."""

        def __init__(self) -> None:
            self.now = 0.0
            super().__init__()

        def time(self) -> float:
            return self.now

    async def waits_past_both() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            assert task is not None
            cancels_seen.append(task.cancelling())
            raise

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SteppedLoop)
        task = asyncio.create_task(breaker.call_async(waits_past_both))
        await asyncio.sleep(0)  # the call is admitted and waits; its timeout is due at now + call_timeout
        assert breaker.stats.admitted == 1 and not task.done()
        # The caller's cancel is due at the same instant as the timeout's expiry; moving the clock
        # past both makes the loop run both callbacks in one iteration, before the task resumes.
        loop.call_at(loop.time() + 0.01, task.cancel)
        loop.now += 1.0
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()

    def run_on_stepped_loop() -> None:
        with asyncio.Runner(loop_factory=SteppedLoop) as runner:
            runner.run(scenario())

    bounded(run_on_stepped_loop)
    assert cancels_seen == [2], "both the timeout and the caller had cancelled the task when it resumed"
    stats = breaker.stats
    assert (stats.released, stats.failures, stats.successes) == (1, 0, 0)
    assert breaker.snapshot()["consecutive_failures"] == 0


# -- manual events -----------------------------------------------------------------------------------


def test_manual_acquire_and_settle() -> None:
    """acquire() gives a Permit settled once by record_success, record_failure (classifying its error) or release."""
    records = Records()
    breaker, _ = make(event_log=records, fail_max=2, excluded_exceptions=(KeyError,))
    breaker.record_success(breaker.acquire())
    breaker.record_failure(breaker.acquire(), KeyError("excluded: released"))
    breaker.record_failure(breaker.acquire(), KeyboardInterrupt())
    breaker.release(breaker.acquire())
    permit = breaker.acquire()
    breaker.record_failure(permit, OSError("counted"))
    with pytest.raises(PermitError):
        breaker.record_success(permit)
    stats = breaker.stats
    assert (stats.admitted, stats.successes, stats.failures, stats.released) == (5, 1, 1, 3)
    assert [r["event"] for r in records.events if r["event"] != "acquire"] == [
        "record_success", "release", "release", "release", "record_failure",
    ]  # fmt: skip
    assert replay_log(io.StringIO(records.jsonl())).ok


def test_manual_control_events() -> None:
    """force_open() rejects everything, disable() admits everything uncounted, reset() closes; all are logged and replay."""
    records = Records()
    breaker, _ = make(event_log=records, fail_max=1)
    breaker.force_open()
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(lambda: "rejected")
    assert (info.value.state, info.value.remaining_s) == (State.FORCED_OPEN, float("inf"))
    assert breaker.time_until_half_open() == float("inf")
    breaker.disable()
    with pytest.raises(OSError):
        breaker.call(raiser(OSError("not counted")))
    assert breaker.state is State.DISABLED
    breaker.reset()
    assert breaker.state is State.CLOSED
    assert [r["event"] for r in records.events if r["permit"] is None and r["verdict"] is None] == [
        "force_open", "disable", "reset",
    ]  # fmt: skip
    assert replay_log(io.StringIO(records.jsonl())).ok


def test_trip_and_half_open_events_are_logged_heard_and_replayed() -> None:
    """trip() opens (and re-opens an open breaker, restarting its period), half_open() admits a
    probe before the deadline (a second half_open() changes nothing); listeners hear each
    change, every event is logged, the log replays, and a log whose trip went elsewhere does not."""
    records = Records()
    breaker, clock = make(event_log=records, reset_timeout=10)
    heard: list[tuple[str, str, str, str]] = []

    class Heard:
        def state_change(self, change: StateChange) -> None:
            heard.append((change.trigger, change.source.value, change.dest.value, change.cause))

    breaker.add_listener(Heard())
    breaker.trip()
    clock.advance(4.0)
    breaker.trip()
    assert breaker.time_until_half_open() == 10.0  # restarted at t=4, not left at 6
    breaker.half_open()
    breaker.half_open()
    assert breaker.call(lambda: "probe") == "probe"
    assert breaker.state is State.CLOSED
    assert heard == [
        ("trip", "closed", "open", "manual_trip"), ("trip", "open", "open", "manual_trip"),
        ("half_open", "open", "half_open", "manual_half_open"),
        ("record_success", "half_open", "closed", "probes_succeeded"),
    ]  # fmt: skip
    manual = [(r["event"], r["dest"], r["cause"]) for r in records.events if r["event"] in ("trip", "half_open")]
    assert manual == [
        ("trip", "open", "manual_trip"), ("trip", "open", "manual_trip"),
        ("half_open", "half_open", "manual_half_open"), ("half_open", "half_open", None),
    ]  # fmt: skip
    assert replay_log(io.StringIO(records.jsonl())).ok
    tampered = json.loads(json.dumps(records.records))
    tampered[2]["counters"]["opened_at"] = 0.0  # the second trip logged as keeping the first period
    report = replay_log(io.StringIO("".join(json.dumps(r) + "\n" for r in tampered)))
    assert report.mismatch is not None and report.mismatch.line == 3
    assert report.mismatch.differences == ("opened_at: logged 0.0, model 4.0",)


def test_options_as_keywords_build_the_same_config() -> None:
    """CircuitBreaker(fail_max=5, reset_timeout=60) is CircuitBreaker(BreakerConfig(...)); giving
    both a config and options, or an option BreakerConfig does not have, is a TypeError saying
    what to do; a bad value is the config's own error."""
    breaker = CircuitBreaker(fail_max=3, reset_timeout=60, clock=ManualClock(), name="kw")
    assert breaker.config == BreakerConfig(fail_max=3, reset_timeout=60) and breaker.name == "kw"
    assert CircuitBreaker(clock=ManualClock()).config == BreakerConfig()
    with pytest.raises(TypeError, match=r"both 'config' and the options fail_max: use one"):
        CircuitBreaker(BreakerConfig(), fail_max=3)
    with pytest.raises(TypeError, match=r"unknown option\(s\) 'reset_timout' \(did you mean 'reset_timeout'\?\), 'colour'") as info:
        CircuitBreaker(fail_max=3, reset_timout=60, colour="red")
    assert "valid options (the fields of BreakerConfig): trip_rule, fail_max," in str(info.value)
    assert "trip_error" in str(info.value)
    with pytest.raises(InvalidConfigError, match="'fail_max' must be"):
        CircuitBreaker(fail_max=0)


# -- concurrency basics --------------------------------------------------------------------------------


def test_a_call_in_progress_does_not_hold_the_lock() -> None:
    """While a protected call runs, another thread can acquire, read and settle (the call is outside the critical section)."""
    breaker, _ = make()
    inside = threading.Event()
    finish = threading.Event()

    def slow() -> str:
        inside.set()
        assert finish.wait(DEADLOCK_TIMEOUT_S)
        return "slow"

    caller = threading.Thread(target=lambda: breaker.call(slow), daemon=True)
    caller.start()
    assert inside.wait(DEADLOCK_TIMEOUT_S)
    assert bounded(lambda: breaker.call(lambda: "other")) == "other"
    assert bounded(breaker.snapshot)["state"] is State.CLOSED
    finish.set()
    caller.join(DEADLOCK_TIMEOUT_S)
    assert not caller.is_alive()
    assert breaker.stats.successes == 2


# -- listeners -------------------------------------------------------------------------------------------


class Reentrant:
    """A listener that calls back into the breaker (which deadlocks if it is called under the lock)."""

    def __init__(self, breaker: CircuitBreaker) -> None:
        self.breaker = breaker
        self.changes: list[tuple[State, State, State, int, float]] = []
        self.rejections: list[tuple[State, State]] = []
        self.nested_rejected = False

    def state_change(self, change: StateChange) -> None:
        snapshot = self.breaker.snapshot()
        self.changes.append(
            (change.dest, self.breaker.state, snapshot["state"], self.breaker.stats.state_changes,  # type: ignore[arg-type]
             self.breaker.time_until_half_open())
        )
        if change.dest is State.OPEN and not self.nested_rejected:
            self.nested_rejected = True
            with pytest.raises(CircuitOpenError):
                self.breaker.acquire()

    def rejection(self, rejection: Rejection) -> None:
        self.rejections.append((rejection.state, self.breaker.snapshot()["state"]))  # type: ignore[arg-type]


def test_listeners_run_outside_the_lock_and_may_call_the_breaker(event_log: Records | None) -> None:
    """A listener calling state, snapshot(), stats, time_until_half_open() and acquire() does not deadlock and sees the state after the event."""
    breaker, clock = make(event_log=event_log, fail_max=1, reset_timeout=10)
    listener = Reentrant(breaker)
    breaker.add_listener(listener)

    def scenario() -> None:
        with pytest.raises(OSError):
            breaker.call(raiser(OSError("down")))
        clock.advance(10.0)
        breaker.call(lambda: "probe")

    bounded(scenario)
    O, H, C = State.OPEN, State.HALF_OPEN, State.CLOSED
    assert listener.changes == [(O, O, O, 1, 10.0), (H, H, H, 2, 0.0), (C, C, C, 3, 0.0)]
    assert listener.rejections == [(O, O)]  # the acquire made by the listener itself


def test_listener_may_settle_a_permit_from_a_state_change() -> None:
    """A listener may perform a whole call (acquire and record) on the breaker that notified it."""
    breaker, clock = make(fail_max=1, reset_timeout=10)

    class Prober:
        def __init__(self) -> None:
            self.results: list[str] = []

        def state_change(self, change: StateChange) -> None:
            if change.dest is State.OPEN:
                clock.advance(10.0)
                self.results.append(breaker.call(lambda: "probe from listener"))

    prober = Prober()
    breaker.add_listener(prober)

    def failing_call() -> None:
        with pytest.raises(OSError):
            breaker.call(raiser(OSError("down")))

    bounded(failing_call)
    assert prober.results == ["probe from listener"]
    assert breaker.state is State.CLOSED


def test_listener_errors_name_the_missing_methods() -> None:
    """add_listener rejects an object with none of the listener methods, naming them."""
    breaker, _ = make()
    with pytest.raises(TypeError, match=r"state_change\(\), rejection\(\), success\(\), failure\(\)"):
        breaker.add_listener(object())


def test_success_and_failure_listeners_get_every_outcome() -> None:
    """success() and failure() are called once per recorded outcome, outside the lock, with the
    breaker's state and the call's duration; a timeout overrun is a failure."""
    clock = ManualClock()
    breaker = CircuitBreaker(BreakerConfig(fail_max=2, call_timeout=1.0), clock=clock)
    seen: list[tuple[str, str, float, bool]] = []

    class Outcomes:
        def success(self, outcome: Outcome) -> None:
            breaker.snapshot()  # the lock is free: this would deadlock inside it
            seen.append(("success", outcome.state.value, outcome.duration_s, outcome.stale))

        def failure(self, outcome: Outcome) -> None:
            seen.append(("failure", outcome.state.value, outcome.duration_s, outcome.stale))

    breaker.add_listener(Outcomes())
    breaker.call(lambda: None)

    def slow() -> None:
        clock.advance(2.0)

    breaker.call(slow)
    with pytest.raises(ValueError):
        breaker.call(lambda: (_ for _ in ()).throw(ValueError("boom")))
    assert seen == [("success", "closed", 0.0, False), ("failure", "closed", 2.0, False), ("failure", "closed", 0.0, False)]
    assert breaker.state.value == "open"


# -- event log ---------------------------------------------------------------------------------------------


def scripted_run(event_log: Any) -> CircuitBreaker:
    """A breaker (fail_max=2, reset_timeout=5) driven through success, trip, rejection, probe, poll, force_open, reset."""
    breaker, clock = make(event_log=event_log, fail_max=2, reset_timeout=5)
    breaker.call(lambda: "ok")  # seq 1-2, t=0
    clock.advance(1.0)
    trip(breaker)  # seq 3-6, t=1
    clock.advance(2.0)
    with pytest.raises(CircuitOpenError):
        breaker.call(lambda: "rejected")  # seq 7, t=3
    clock.advance(3.0)
    breaker.call(lambda: "probe")  # seq 8-9, t=6
    breaker.poll()  # seq 10
    breaker.force_open()  # seq 11
    breaker.reset()  # seq 12
    return breaker


def test_event_log_has_a_header_then_one_line_per_event_with_the_documented_fields() -> None:
    """The log's first record is the config header; each event record has the documented fields with the right values."""
    records = Records()
    breaker = scripted_run(records)
    head = records.records[0]
    assert (head["event"], head["format"], head["breaker"]) == ("config", 1, "breaker")
    assert head["config"]["fail_max"] == 2 and head["config"]["reset_timeout"] == 5
    events = records.events
    for record in events:
        assert EVENT_FIELDS <= set(record) <= EVENT_FIELDS | {"remaining_s"}
        assert set(record["counters"]) == COUNTERS
        assert record["generation"] == record["counters"]["generation"]
    assert [r["seq"] for r in events] == list(range(1, 13))
    assert [r["event"] for r in events] == [
        "acquire", "record_success",
        "acquire", "record_failure", "acquire", "record_failure",
        "acquire",
        "acquire", "record_success",
        "poll", "force_open", "reset",
    ]  # fmt: skip
    assert [r["t"] for r in events] == [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 3.0, 6.0, 6.0, 6.0, 6.0, 6.0]
    assert [r["verdict"] for r in events if r["event"] == "acquire"] == [
        "admit", "admit", "admit", "reject", "admit_probe",
    ]  # fmt: skip
    assert [(r["source"], r["dest"], r["cause"]) for r in events if r["source"] != r["dest"] or r["cause"]] == [
        ("closed", "open", "trip"),
        ("open", "half_open", "deadline_reached"),
        ("half_open", "closed", "probes_succeeded"),
        ("closed", "forced_open", "force_open"),
        ("forced_open", "closed", "reset"),
    ]
    trip_record = events[5]
    assert trip_record["permit"] == 3 and trip_record["permit_generation"] == 0
    assert trip_record["permit_state"] == "closed"
    assert trip_record["counters"]["open_until"] == 6.0
    reject = events[6]
    assert (reject["permit"], reject["permit_generation"], reject["permit_state"]) == (None, None, None)
    assert reject["remaining_s"] == 3.0
    probe = events[7]
    assert (probe["permit"], probe["permit_generation"], probe["permit_state"]) == (4, 2, "half_open")
    assert probe["counters"]["probes_admitted"] == 1
    assert all(r["permit"] is None and r["verdict"] is None for r in events[9:])
    assert breaker.snapshot()["generation"] == events[-1]["generation"] == 5


def test_event_log_to_a_path_a_stream_and_a_callable_agree(tmp_path: pathlib.Path) -> None:
    """Logging to a path, a text stream or a callable produces the same JSON lines."""
    records = Records()
    scripted_run(records)
    stream = io.StringIO()
    scripted_run(stream).close()
    assert not stream.closed  # a stream the caller passed is flushed, not closed
    path = tmp_path / "run.jsonl"
    breaker = scripted_run(path)
    breaker.close()
    from_path = path.read_text(encoding="utf-8")
    assert from_path == stream.getvalue() == records.jsonl()
    assert len(from_path.splitlines()) == 13
    assert all(line.startswith("{") and line.endswith("}") for line in from_path.splitlines())


def test_event_log_accepts_a_str_path_and_close_closes_the_file(tmp_path: pathlib.Path) -> None:
    """A str path is opened by the breaker; every record is flushed as written and close() closes the file."""
    path = tmp_path / "run.jsonl"
    breaker, _ = make(event_log=str(path))
    breaker.call(lambda: "ok")
    assert len(path.read_text(encoding="utf-8").splitlines()) == 3  # flushed before close()
    breaker.close()
    assert replay_log(path).ok


def test_close_without_a_log_is_harmless() -> None:
    """close() on a breaker with no event log (or a callable one) does nothing."""
    make()[0].close()
    make(event_log=Records())[0].close()


def test_close_twice_is_harmless(tmp_path: pathlib.Path) -> None:
    """Closing a breaker's log file twice is harmless, like closing a file twice."""
    breaker, _ = make(event_log=tmp_path / "run.jsonl")
    breaker.close()
    breaker.close()


def test_replay_log_of_a_recorded_run_agrees(tmp_path: pathlib.Path) -> None:
    """replay_log re-executes a recorded log on the reference model and agrees with every event."""
    path = tmp_path / "run.jsonl"
    scripted_run(path).close()
    report = replay_log(path)
    assert report.ok and report.mismatch is None
    assert report.events == 12


def test_replay_agrees_with_sync_overruns_and_async_timeouts() -> None:
    """A log with overrun successes, async timeouts, cancellations and exclusions replays cleanly."""
    stream = io.StringIO()
    breaker, clock = make(event_log=stream, fail_max=3, reset_timeout=2, call_timeout=0.02, excluded_exceptions=(KeyError,))

    def overrun() -> str:
        clock.advance(0.5)
        return "late"

    async def hangs() -> None:
        await asyncio.sleep(30)

    async def scenario() -> None:
        with pytest.raises(TimeoutError):
            await breaker.call_async(hangs)
        task = asyncio.create_task(breaker.call_async(hangs))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    breaker.call(overrun)
    run(scenario())
    with pytest.raises(KeyError):
        breaker.call(raiser(KeyError("k")))
    breaker.call(overrun)  # the third failure trips
    assert breaker.state is State.OPEN
    clock.advance(2.0)
    breaker.call(lambda: "probe")
    assert breaker.state is State.CLOSED
    stream.seek(0)
    report = replay_log(stream)
    assert report.ok, report.mismatch
    assert report.events == 12


def write_log(tmp_path: pathlib.Path, lines: list[str], name: str = "run.jsonl") -> pathlib.Path:
    """Write ``lines`` as a log file and return its path."""
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def good_lines() -> list[str]:
    """The JSON lines of the scripted run."""
    records = Records()
    scripted_run(records)
    return records.jsonl().splitlines()


def test_replay_command_on_a_good_log_exits_0(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`breakerlab replay LOG` on an untouched log exits 0 and says how many events agree."""
    path = write_log(tmp_path, good_lines())
    assert main(["replay", str(path)]) == 0
    assert "12 events replayed: the log agrees with the reference model" in capsys.readouterr().out


def tamper(lines: list[str], index: int, change: Callable[[dict[str, Any]], None]) -> list[str]:
    """A copy of ``lines`` with record ``index`` (0 is the header) changed by ``change``."""
    record = json.loads(lines[index])
    change(record)
    return [*lines[:index], json.dumps(record), *lines[index + 1 :]]


@pytest.mark.parametrize(
    ("index", "change", "expected"),
    [
        (4, lambda r: r["counters"].update(consecutive_failures=7), "consecutive_failures: logged 7, model 1"),
        (7, lambda r: r.update(verdict="admit"), "verdict: logged 'admit', model 'reject'"),
        (6, lambda r: r.update(dest="closed"), "state: logged 'closed', model 'open'"),
        (8, lambda r: r["counters"].update(probes_admitted=2), "probes_admitted: logged 2, model 1"),
    ],
    ids=["counter", "verdict", "state", "probe-counter"],
)
def test_replay_command_on_a_tampered_log_exits_1_naming_the_line_and_field(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], index: int, change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    """A log changed in one field exits 1 and names the first disagreeing line and the field with both values."""
    path = write_log(tmp_path, tamper(good_lines(), index, change))
    assert main(["replay", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"after {index - 1} agreeing events" in out
    assert f"line {index + 1} (seq {index}," in out
    assert expected in out


def test_replay_reports_only_the_first_disagreement(tmp_path: pathlib.Path) -> None:
    """With two tampered lines, replay_log reports the earlier one."""
    lines = tamper(good_lines(), 9, lambda r: r.update(dest="open"))
    lines = tamper(lines, 3, lambda r: r["counters"].update(generation=9))
    report = replay_log(write_log(tmp_path, lines))
    assert report.mismatch is not None
    assert report.mismatch.line == 4
    assert report.mismatch.differences == ("generation: logged 9, model 0",)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda lines: [*lines[:3], "{not json", *lines[3:]], "line 4: not JSON"),
        (lambda lines: [*lines[:2], '{"event": "acquire"}', *lines[2:]], "line 3: an event needs at least 'event' and 't'"),
        (lambda lines: tamper(lines, 2, lambda r: r.update(event="explode")), "line 3: unknown event 'explode'"),
        (lambda lines: tamper(lines, 2, lambda r: r.update(permit=99)), "line 3: record_success of permit 99, which no earlier acquire admitted"),
        (lambda lines: tamper(lines, 7, lambda r: r.update(t=0.5)), "line 8: time runs back"),
        (lambda lines: tamper(lines, 2, lambda r: r["counters"].update(bogus=1)), "line 3: unknown counter 'bogus'"),
    ],
    ids=["not-json", "no-time", "unknown-event", "unknown-permit", "time-backwards", "unknown-counter"],
)
def test_replay_command_on_a_malformed_log_exits_2_naming_the_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], edit: Callable[[list[str]], list[str]], expected: str
) -> None:
    """A malformed event line makes `breakerlab replay` exit 2 with an error naming that line."""
    path = write_log(tmp_path, edit(good_lines()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["replay", str(path)]) == 2
        gc.collect()
    err = capsys.readouterr().err
    assert err.startswith("breakerlab: error: ")
    assert expected in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "line 1: the log is empty"),
        ("{not json\n", "line 1: not JSON"),
        ('{"event": "acquire", "t": 0}\n', "line 1: expected the config line"),
        ('{"event": "config", "config": {"fail_maks": 3}}\n', "unknown configuration option(s) ['fail_maks']"),
    ],
    ids=["empty", "not-json", "no-header", "unknown-option"],
)
def test_replay_console_script_on_a_malformed_header_exits_2_naming_line_1(
    tmp_path: pathlib.Path, content: str, expected: str
) -> None:
    """The installed `breakerlab replay` exits 2 on a log whose first line is not a valid config header."""
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    exe = pathlib.Path(sys.executable).parent / "breakerlab"
    done = subprocess.run([str(exe), "replay", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert expected in done.stderr


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.update(t="soon"),
        lambda r: r.update(t=None),
        lambda r: r.update(permit="first"),
        lambda r: r.update(counters=[1, 2]),
    ],
    ids=["t-string", "t-null", "permit-string", "counters-list"],
)
def test_replay_command_on_a_mistyped_field_exits_2(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], change: Callable[[dict[str, Any]], None]
) -> None:
    """An event whose field has the wrong type is a malformed log: exit 2 naming the line, not a crash."""
    path = write_log(tmp_path, tamper(good_lines(), 1, change))
    assert main(["replay", str(path)]) == 2
    assert "line 2" in capsys.readouterr().err


def test_replay_command_on_a_missing_file_exits_2(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`breakerlab replay` on a path that does not exist exits 2 naming the file."""
    missing = tmp_path / "missing.jsonl"
    assert main(["replay", str(missing)]) == 2
    assert "cannot read the log" in capsys.readouterr().err


def test_replay_log_closes_the_file_on_a_malformed_header(tmp_path: pathlib.Path) -> None:
    """replay_log closes the log file it opened even when the first line is not a config header."""
    path = tmp_path / "bad.jsonl"
    path.write_text("{not json\n", encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(EventLogError, match="line 1"):
            replay_log(path)
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


# -- repr ---------------------------------------------------------------------------------------------------


def test_repr_names_the_breaker_and_its_state() -> None:
    """repr(CircuitBreaker) shows its name and current state."""
    breaker = CircuitBreaker(BreakerConfig(fail_max=1), clock=ManualClock(), name="payments")
    assert repr(breaker) == "<CircuitBreaker 'payments' closed>"
    trip(breaker)
    assert repr(breaker) == "<CircuitBreaker 'payments' open>"



@settings(max_examples=100, deadline=None)
@given(config=configs(), program=st.lists(st.sampled_from(["ok", "fail", "excluded", "slow", "advance"]), max_size=50))
def test_fast_call_path_equals_the_general_path(config: BreakerConfig, program: list[str]) -> None:
    """call() without an event log (the inlined per-call path) leaves exactly the state, stats and
    outcomes of call() with one (the general path through permits), over generated configs."""
    clocks = (ManualClock(), ManualClock())
    records: list[dict[str, Any]] = []
    general = CircuitBreaker(config, clock=clocks[0], event_log=records.append)
    fast = CircuitBreaker(config, clock=clocks[1])
    for step in program:
        if step == "advance":
            for clock in clocks:
                clock.advance(1.0)
            continue
        outcomes = []
        for breaker, clock in zip((general, fast), clocks):

            def work(clock: ManualClock = clock, step: str = step) -> str:
                if step == "slow":
                    clock.advance(0.5)
                if step == "fail":
                    raise ValueError("down")
                if step == "excluded":
                    raise KeyboardInterrupt  # a cancellation: released, never counted
                return "ok"

            try:
                outcomes.append(breaker.call(work))
            except (CircuitOpenError, ValueError, KeyboardInterrupt) as exc:
                outcomes.append(type(exc).__name__)
        assert outcomes[0] == outcomes[1]
        assert general.snapshot() == fast.snapshot()
        assert general.stats == fast.stats

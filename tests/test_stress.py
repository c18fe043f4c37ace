"""Stress tests of ``CircuitBreaker``: many threads and asyncio tasks at once while the clock jumps.

Thread scheduling makes the exact counts vary from run to run, so these tests assert invariants
(the event log replays on the reference model, no outcome is lost or counted twice, the probe
limit holds, no admission while open before the deadline), never exact counts. Every random
choice comes from a seeded ``random.Random`` per thread or task. Every test is bounded: workers
run in daemon threads joined with a timeout, so a deadlock fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from breakerlab.model import (
    BreakerConfig,
    CircuitOpenError,
    ManualClock,
    Rejection,
    State,
    StateChange,
)
from breakerlab.runtime import CircuitBreaker
from breakerlab.runtime.replay import replay_log

T = TypeVar("T")

SEED = 20240611
THREADS = 32
CALLS_PER_THREAD = 200
TASKS = 1200
CALLS_PER_TASK = 4
#: Seconds a whole stress run may take before it is declared deadlocked.
DEADLINE_S = 15.0


class FlakyError(Exception):
    """The failure the flaky dependency raises."""


class Busy(Exception):
    """An error the flaky dependency raises that some configurations exclude (never counted)."""


class Sink:
    """A thread-safe callable event-log sink keeping every record in memory."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.records.append(record)

    def jsonl(self) -> io.StringIO:
        """The log as the JSON lines a file sink writes, ready to replay."""
        return io.StringIO("".join(json.dumps(r) + "\n" for r in self.records))


class JumpClock:
    """A clock that follows ``base`` plus forward jumps made from any thread (lock-protected)."""

    def __init__(self, base: Callable[[], float]) -> None:
        self._base = base
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._base() + self._offset

    def jump(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        with self._lock:
            self._offset += seconds


@dataclasses.dataclass
class Tally:
    """What one worker saw: every call ends in exactly one of these."""

    invoked: int = 0
    ok: int = 0
    failed: int = 0
    excluded: int = 0
    rejected: int = 0
    timed_out: int = 0
    cancelled: int = 0
    races: int = 0

    def add(self, other: Tally) -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


@dataclasses.dataclass
class LogSummary:
    """What the event log says happened."""

    admitted: int
    probes: int
    rejected: int
    outcomes: Counter[str]
    states: set[str]
    stale: int
    max_probes_per_episode: int
    max_probes_in_flight: int


def check_log(records: list[dict[str, Any]], config: BreakerConfig) -> LogSummary:
    """Check the safety properties on a log, event by event, and summarise it.

    The log is a serial history: each event starts in the state the previous one ended in, its
    time never runs back, no call is admitted while open before the deadline, half-open never
    admits more than ``half_open_max_calls`` probes per episode (a released probe frees its
    slot) or in flight (``concurrent``), every admitted permit is settled exactly once, and
    (``late_result="ignore"``) a stale outcome changes nothing.
    """
    assert records[0]["event"] == "config"
    events = records[1:]
    assert [r["seq"] for r in events] == list(range(1, len(events) + 1)), "seq has gaps or repeats"
    limit = config.half_open_max_calls
    prev_state, prev_counters, prev_t = "closed", None, -float("inf")
    admitted: dict[int, int] = {}  # permit id -> generation
    probe_generation: dict[int, int] = {}  # open probe permit id -> generation
    probes_per_generation: Counter[int] = Counter()  # admitted probes of an episode
    slots_taken: Counter[int] = Counter()  # the same, less probes released in their episode
    settled: set[int] = set()
    outcomes: Counter[str] = Counter()
    states = {"closed"}
    rejected = probes = max_in_flight = stale_outcomes = 0
    for r in events:
        where = f"seq {r['seq']} ({r['event']} at t={r['t']})"
        assert r["source"] == prev_state, f"{where}: starts in {r['source']}, previous event ended in {prev_state}"
        assert r["t"] >= prev_t, f"{where}: time ran back"
        if r["event"] == "acquire":
            if r["verdict"] == "reject":
                rejected += 1
            else:
                permit = r["permit"]
                assert permit not in admitted, f"{where}: permit {permit} admitted twice"
                admitted[permit] = r["permit_generation"]
                assert r["source"] != "forced_open", f"{where}: admitted while forced open"
                if r["source"] == "open":
                    assert prev_counters is not None
                    assert r["t"] >= prev_counters["open_until"], f"{where}: admitted while open before the deadline"
                    assert (r["dest"], r["verdict"]) == ("half_open", "admit_probe"), where
                if r["verdict"] == "admit_probe":
                    probes += 1
                    generation = r["permit_generation"]
                    probes_per_generation[generation] += 1
                    slots_taken[generation] += 1
                    probe_generation[permit] = generation
                    in_flight = sum(1 for g in probe_generation.values() if g == generation)
                    max_in_flight = max(max_in_flight, in_flight)
                    if config.half_open_limit == "per_episode":
                        taken = slots_taken[generation]
                        assert taken <= limit, f"{where}: {taken} probe slots taken in one episode (limit {limit})"
                    else:
                        assert in_flight <= limit, f"{where}: {in_flight} probes in flight (limit {limit})"
        elif r["event"] in ("record_success", "record_failure", "release"):
            permit = r["permit"]
            assert permit in admitted, f"{where}: outcome of a permit never admitted"
            assert permit not in settled, f"{where}: permit {permit} settled twice"
            settled.add(permit)
            generation = probe_generation.pop(permit, None)
            if r["event"] == "release" and generation is not None and prev_counters is not None:
                if generation == prev_counters["generation"]:  # a current probe frees its slot
                    slots_taken[generation] -= 1
            outcomes[r["event"]] += 1
            stale = prev_counters is not None and r["permit_generation"] != prev_counters["generation"]
            stale_outcomes += stale
            if stale and config.late_result == "ignore":
                assert (r["dest"], r["counters"]) == (prev_state, prev_counters), f"{where}: a stale outcome changed the state"
        states.add(r["dest"])
        prev_state, prev_counters, prev_t = r["dest"], r["counters"], r["t"]
    lost = sorted(set(admitted) - settled)
    assert not lost, f"permits admitted but never settled: {lost[:10]}"
    return LogSummary(
        admitted=len(admitted),
        probes=probes,
        rejected=rejected,
        outcomes=outcomes,
        states=states,
        stale=stale_outcomes,
        max_probes_per_episode=max(probes_per_generation.values(), default=0),
        max_probes_in_flight=max_in_flight,
    )


def check_replay_and_stats(breaker: CircuitBreaker, sink: Sink) -> LogSummary:
    """The log replays on the reference model and agrees with the breaker's totals."""
    report = replay_log(sink.jsonl())
    assert report.ok, f"replay disagrees: {report.mismatch}"
    assert report.events == len(sink.records) - 1
    summary = check_log(sink.records, breaker.config)
    stats = breaker.stats
    assert stats.admitted == stats.successes + stats.failures + stats.released, stats
    assert stats.admitted == summary.admitted
    assert stats.rejections == summary.rejected
    assert summary.outcomes["release"] == stats.released
    assert summary.outcomes["record_success"] + summary.outcomes["record_failure"] == stats.successes + stats.failures
    return summary


def join_all(threads: list[threading.Thread], deadline_s: float = DEADLINE_S) -> None:
    """Join every thread by one shared deadline; fail naming the ones still running."""
    end = time.monotonic() + deadline_s
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"deadlock: {len(stuck)} thread(s) still running after {deadline_s} s: {stuck[:5]}"


def bounded(fn: Callable[[], T], deadline_s: float = DEADLINE_S) -> T:
    """Run ``fn`` in a daemon thread; fail instead of hanging if it does not finish in time."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="bounded")
    thread.start()
    join_all([thread], deadline_s)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


# -- threads -------------------------------------------------------------------------------------------

THREAD_CONFIGS = {
    "one-probe-per-episode": BreakerConfig(
        fail_max=3, reset_timeout=1.0, half_open_max_calls=1, half_open_limit="per_episode", late_result="ignore"
    ),
    "two-probes-concurrent": BreakerConfig(
        fail_max=2,
        reset_timeout=0.5,
        half_open_max_calls=2,
        half_open_limit="concurrent",
        success_threshold=2,
        late_result="ignore",
        call_timeout=0.4,
    ),
    "window-backoff-exclusions": BreakerConfig(
        trip_rule="count_window",
        window_size=10,
        minimum_calls=5,
        failure_rate_threshold=0.4,
        reset_timeout=0.5,
        open_duration_policy="exponential",
        backoff_cap=2.0,
        jitter_ratio=0.2,
        jitter_seed=SEED,
        half_open_max_calls=2,
        half_open_limit="per_episode",
        success_threshold=1,
        half_open_max_wait=1.0,
        late_result="ignore",
        excluded_exceptions=(Busy,),
    ),
}


def hammer(breaker: CircuitBreaker, clock: ManualClock, *, during: Callable[[], None] | None = None) -> Tally:
    """Run THREADS threads of CALLS_PER_THREAD flaky calls (call, decorator, with) while a thread
    jumps ``clock`` forward (and ``during`` runs in a loop on another thread); return the totals."""
    tallies = [Tally() for _ in range(THREADS)]
    helpers = 1 if during is None else 2
    start = threading.Barrier(THREADS + helpers)
    stop = threading.Event()

    def flaky(tally: Tally, latency_s: float, roll: float) -> str:
        tally.invoked += 1
        time.sleep(latency_s)
        if roll < 0.05:
            raise Busy
        if roll < 0.3:
            raise FlakyError
        return "ok"

    decorated = breaker(flaky)

    def worker(index: int) -> None:
        rng = random.Random(SEED * 1000 + index)
        tally = tallies[index]
        start.wait(DEADLINE_S)
        for _ in range(CALLS_PER_THREAD):
            latency_s = rng.choice((0.0, 0.0, rng.uniform(0, 0.002)))
            roll = rng.random()
            style = rng.randrange(3)
            try:
                if style == 0:
                    breaker.call(flaky, tally, latency_s, roll)
                elif style == 1:
                    decorated(tally, latency_s, roll)
                else:
                    with breaker:
                        flaky(tally, latency_s, roll)
            except CircuitOpenError:
                tally.rejected += 1
            except FlakyError:
                tally.failed += 1
            except Busy:
                tally.excluded += 1
            else:
                tally.ok += 1
            time.sleep(rng.uniform(0, 0.001))  # pace the calls so the clock moves between them

    def jumper() -> None:
        rng = random.Random(SEED)
        start.wait(DEADLINE_S)
        while not stop.is_set():
            clock.advance(rng.uniform(0.0, 0.2))
            time.sleep(0.0005)

    def loop_during() -> None:
        assert during is not None
        start.wait(DEADLINE_S)
        while not stop.is_set():
            during()
            time.sleep(0.0002)

    workers = [threading.Thread(target=worker, args=(i,), daemon=True, name=f"worker-{i}") for i in range(THREADS)]
    others = [threading.Thread(target=jumper, daemon=True, name="clock-jumper")]
    if during is not None:
        others.append(threading.Thread(target=loop_during, daemon=True, name="monitor"))
    for thread in (*workers, *others):
        thread.start()
    try:
        join_all(workers)
    finally:
        stop.set()
        join_all(others)

    total = Tally()
    for tally in tallies:
        total.add(tally)
    return total


def check_totals(breaker: CircuitBreaker, total: Tally) -> None:
    """Every call ended one way for its caller, and the breaker counted each admitted call once."""
    config, stats = breaker.config, breaker.stats
    assert total.ok + total.failed + total.excluded + total.rejected == THREADS * CALLS_PER_THREAD
    assert total.invoked == total.ok + total.failed + total.excluded == stats.admitted  # once per admitted call
    assert stats.admitted == stats.successes + stats.failures + stats.released, stats
    assert stats.rejections == total.rejected
    if config.excluded_exceptions:
        assert stats.released == total.excluded
        assert stats.failures >= total.failed
    else:  # Busy is an ordinary failure
        assert stats.released == 0
        assert stats.failures >= total.failed + total.excluded  # a call_timeout overrun is a failure too
    assert stats.successes <= total.ok
    snapshot = breaker.snapshot()
    assert snapshot["probes_inflight"] == 0, f"a probe's outcome was lost: {snapshot}"


@pytest.mark.parametrize("name", list(THREAD_CONFIGS))
def test_threads_hammering_a_flaky_call_while_the_clock_jumps(name: str) -> None:
    """32 threads calling a flaky function (call, decorator, with) while another thread jumps the clock keep every safety property, and the log replays."""
    clock = ManualClock()
    sink = Sink()
    breaker = CircuitBreaker(THREAD_CONFIGS[name], clock=clock, event_log=sink, name=name)
    total = hammer(breaker, clock)
    summary = check_replay_and_stats(breaker, sink)
    check_totals(breaker, total)
    # The run went through every phase, so the properties were exercised, not vacuous.
    assert {"closed", "open", "half_open"} <= summary.states
    assert summary.rejected > 0 and summary.probes > 0 and summary.stale > 0
    assert clock() > 1.0


class Changes:
    """A listener keeping every state change and rejection (possibly out of order across threads)."""

    def __init__(self) -> None:
        self.changes: list[StateChange] = []
        self.rejections: list[Rejection] = []
        self._lock = threading.Lock()

    def state_change(self, change: StateChange) -> None:
        with self._lock:
            self.changes.append(change)

    def rejection(self, rejection: Rejection) -> None:
        with self._lock:
            self.rejections.append(rejection)


@pytest.mark.parametrize("name", ["one-probe-per-episode", "two-probes-concurrent"])
def test_threads_without_an_event_log_on_the_permit_free_path(name: str) -> None:
    """Without an event log (call() takes its permit-free path), 32 threads keep the probe limit, lose no outcome, and the state changes form one chain."""
    config = THREAD_CONFIGS[name]
    clock = ManualClock()
    breaker = CircuitBreaker(config, clock=clock, name=name)
    listener = Changes()
    breaker.add_listener(listener)
    violations: list[dict[str, Any]] = []
    limit = config.half_open_max_calls

    def monitor() -> None:
        snapshot = breaker.snapshot()
        if snapshot["probes_inflight"] > limit or (
            config.half_open_limit == "per_episode" and snapshot["probes_admitted"] > limit
        ):
            violations.append(snapshot)

    total = hammer(breaker, clock, during=monitor)
    check_totals(breaker, total)
    assert violations == []
    # Listeners run outside the lock, so they may be told out of order; by generation, the state
    # changes must form one chain starting closed, each leaving the state the previous entered.
    changes = sorted(listener.changes, key=lambda c: c.generation)
    assert [c.generation for c in changes] == list(range(1, len(changes) + 1))
    assert len(changes) == breaker.stats.state_changes > 0
    state, opened_at = State.CLOSED, 0.0
    for change in changes:
        assert change.source is state, change
        if change.dest is State.HALF_OPEN:  # the first probe, admitted at or after the deadline
            assert change.time >= opened_at + config.reset_timeout, change
        if change.dest is State.OPEN:
            opened_at = change.time
        state = change.dest
    assert state is breaker.state
    assert len(listener.rejections) == breaker.stats.rejections == total.rejected
    assert all(r.state in (State.OPEN, State.HALF_OPEN) for r in listener.rejections)
    assert {State.OPEN, State.HALF_OPEN} <= {c.dest for c in changes}


# -- asyncio -------------------------------------------------------------------------------------------

ASYNC_CONFIG = BreakerConfig(
    fail_max=4,
    reset_timeout=0.02,
    half_open_max_calls=2,
    half_open_limit="concurrent",
    success_threshold=2,
    late_result="ignore",
    call_timeout=0.05,
)


def test_asyncio_tasks_with_timeouts_and_cancellations_while_the_clock_jumps() -> None:
    """1,200 tasks calling a flaky coroutine (some timing out, some cancelled midway) while a task jumps the clock keep every safety property, and the log replays."""
    sink = Sink()
    tallies = [Tally() for _ in range(TASKS)]
    in_call: set[int] = set()  # tasks whose protected coroutine is running
    holder: dict[str, Any] = {}

    async def flaky(index: int, latency_s: float, fails: bool) -> str:
        tally = tallies[index]
        tally.invoked += 1
        in_call.add(index)
        try:
            await asyncio.sleep(latency_s)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            assert task is not None
            if task.cancelling() > 1:  # the caller's cancel and call_timeout landed together
                tally.races += 1
            raise
        finally:
            in_call.discard(index)
        if fails:
            raise FlakyError
        return "ok"

    async def client(index: int, breaker: CircuitBreaker) -> None:
        rng = random.Random(SEED * 1000 + index)
        tally = tallies[index]
        decorated = breaker(flaky)
        for _ in range(CALLS_PER_TASK):
            await asyncio.sleep(rng.uniform(0, 0.08))
            slow = rng.random() < 0.08  # outlasts call_timeout
            latency_s = 0.2 if slow else rng.uniform(0, 0.01)
            fails = rng.random() < 0.15
            try:
                if rng.random() < 0.5:
                    await breaker.call_async(flaky, index, latency_s, fails)
                else:
                    await decorated(index, latency_s, fails)
            except CircuitOpenError:
                tally.rejected += 1
            except FlakyError:
                tally.failed += 1
            except TimeoutError:
                tally.timed_out += 1
            except asyncio.CancelledError:
                tally.cancelled += 1
                raise
            else:
                tally.ok += 1

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        clock = JumpClock(loop.time)
        breaker = CircuitBreaker(ASYNC_CONFIG, clock=clock, event_log=sink, name="asyncio")
        holder["breaker"] = breaker
        tasks = [asyncio.create_task(client(i, breaker)) for i in range(TASKS)]
        rng = random.Random(SEED)

        async def jumper() -> None:
            while True:
                await asyncio.sleep(0.005)
                clock.jump(rng.uniform(0.0, 0.02))

        async def canceller() -> None:
            spared = set(range(TASKS))  # each task is cancelled at most once
            for _ in range(150):
                await asyncio.sleep(rng.uniform(0, 0.003))
                busy = sorted(in_call & spared)
                index = rng.choice(busy) if busy and rng.random() < 0.8 else rng.choice(sorted(spared))
                spared.discard(index)
                tasks[index].cancel()

        background = [asyncio.create_task(jumper()), asyncio.create_task(canceller())]
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=DEADLINE_S)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        holder["cancelled_tasks"] = sum(task.cancelled() for task in tasks)

    bounded(lambda: asyncio.run(scenario()), DEADLINE_S + 5)
    breaker: CircuitBreaker = holder["breaker"]
    total = Tally()
    for tally in tallies:
        total.add(tally)
    summary = check_replay_and_stats(breaker, sink)
    stats = breaker.stats
    # Every admitted call ran the coroutine once and ended in exactly one way for its caller.
    assert total.invoked == stats.admitted
    assert total.ok + total.failed + total.timed_out + total.cancelled == stats.admitted
    assert stats.rejections == total.rejected
    # A cancellation is never a success; it is released, except when it raced call_timeout
    # (the known bug that test_runtime's xfail test reproduces: it is then counted as a failure).
    assert total.cancelled - total.races <= stats.released <= total.cancelled
    assert stats.failures >= total.failed + total.timed_out
    assert stats.successes <= total.ok
    # The run exercised what it claims to.
    assert total.timed_out > 0 and total.cancelled > 0 and holder["cancelled_tasks"] > 0
    assert {"closed", "open", "half_open"} <= summary.states
    assert summary.rejected > 0 and summary.probes > 0 and summary.stale > 0


# -- a hung call ---------------------------------------------------------------------------------------


def raise_flaky() -> None:
    """Fail like the flaky dependency."""
    raise FlakyError


def hang_in_thread(breaker: CircuitBreaker, release: threading.Event) -> threading.Thread:
    """Start a thread whose protected call blocks until ``release`` is set; returns it once the call is running."""
    entered = threading.Event()

    def hung() -> str:
        entered.set()
        assert release.wait(DEADLINE_S), "the test never released the hung call"
        return "finally"

    thread = threading.Thread(target=breaker.call, args=(hung,), daemon=True, name="hung-call")
    thread.start()
    assert entered.wait(DEADLINE_S)
    return thread


def calls_while_held(
    breaker: CircuitBreaker, held: threading.Event, threads: int = 4, calls: int = 100
) -> Counter[str]:
    """Make ``calls`` quick calls from each of ``threads`` threads while ``held`` stays clear (the
    hung call is still inside the protected function); return how the calls ended.

    The hung call leaves only when the test sets ``held``, after this returns: a caller that
    waited for it would never finish, and the join's deadline fails the test naming it.
    """
    endings: Counter[str] = Counter()
    lock = threading.Lock()
    invoked: list[bool] = []

    def worker() -> None:
        ended: Counter[str] = Counter()
        for _ in range(calls):
            try:
                breaker.call(lambda: invoked.append(True))
            except CircuitOpenError as exc:
                ended[f"rejected in {exc.state.value} with {exc.remaining_s}"] += 1
            else:
                ended["ok"] += 1
        with lock:
            endings.update(ended)

    pool = [threading.Thread(target=worker, daemon=True, name=f"caller-{i}") for i in range(threads)]
    for thread in pool:
        thread.start()
    join_all(pool)  # a deadlock guard: callers waiting behind the hung call never finish
    assert not held.is_set(), "the hung call was released while the other callers ran"
    assert len(invoked) == endings["ok"]
    return endings


def test_a_hung_call_does_not_block_other_callers() -> None:
    """While one protected call hangs, every other thread's call through the same breaker completes."""
    breaker = CircuitBreaker(BreakerConfig(fail_max=3), clock=ManualClock())
    release = threading.Event()
    try:
        hung = hang_in_thread(breaker, release)
        endings = calls_while_held(breaker, release)
        assert hung.is_alive(), "the hung call should still be running"
    finally:
        release.set()
    assert endings == Counter({"ok": 400})
    join_all([hung], 5.0)
    stats = breaker.stats
    assert (stats.admitted, stats.successes) == (1 + 400, 1 + 400)


def test_half_open_with_a_hung_probe_rejects_other_callers_fast() -> None:
    """In half-open with its only probe hung, every other caller is rejected without running fn and without waiting for the probe."""
    clock = ManualClock()
    sink = Sink()
    breaker = CircuitBreaker(BreakerConfig(fail_max=1, reset_timeout=10), clock=clock, event_log=sink)
    with pytest.raises(FlakyError):
        breaker.call(raise_flaky)
    clock.advance(10.0)
    release = threading.Event()
    try:
        hung = hang_in_thread(breaker, release)
        assert breaker.state is State.HALF_OPEN
        endings = calls_while_held(breaker, release)
        assert hung.is_alive()
    finally:
        release.set()
    assert endings == Counter({"rejected in half_open with 0.0": 400})
    join_all([hung], 5.0)
    assert breaker.state is State.CLOSED  # the probe finally succeeded
    check_replay_and_stats(breaker, sink)


def test_asyncio_half_open_with_a_hung_probe_rejects_other_tasks_fast() -> None:
    """In half-open with a probe coroutine hung on an Event, other tasks are rejected at once (without yielding to the loop) and the probe completes later."""
    clock = ManualClock()
    breaker = CircuitBreaker(BreakerConfig(fail_max=1, reset_timeout=10), clock=clock)

    async def fails() -> None:
        raise FlakyError

    async def scenario() -> int:
        with pytest.raises(FlakyError):
            await breaker.call_async(fails)
        clock.advance(10.0)
        gate = asyncio.Event()

        async def hung() -> str:
            await gate.wait()
            return "finally"

        probe = asyncio.create_task(breaker.call_async(hung))
        await asyncio.sleep(0)
        assert breaker.state is State.HALF_OPEN

        rejected = 0
        for _ in range(1000):
            # Driven by hand, one step each: a rejection that waited for anything (the probe, a
            # lock, the loop) would not have finished after its first step.
            other = breaker.call_async(hung)
            with pytest.raises(CircuitOpenError):
                other.send(None)
            rejected += 1
        assert not probe.done() and not gate.is_set()
        gate.set()
        assert await asyncio.wait_for(probe, timeout=5.0) == "finally"  # a deadlock guard
        return rejected

    rejected = bounded(lambda: asyncio.run(scenario()))
    assert rejected == 1000
    assert breaker.state is State.CLOSED
    assert breaker.stats.rejections == 1000

"""breakerlab.compat.pybreaker: pybreaker's API on the verified breaker.

The common behaviours are checked side by side: one script is played on the real pybreaker
1.4.1 (under frozen time, ``time_machine``) and on the compatibility layer (on a ``ManualClock``),
and what each step returned or raised, the state, the counters, ``opened_at`` and every
listener hook are compared. Each deliberate difference of ``model/compat/README.md`` has its
own test, named in the README's table.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import inspect
import io
import itertools
import logging
import pathlib
import re
import sys
import threading
import types
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pybreaker
import pytest
import time_machine

import breakerlab.compat.pybreaker as compat
from breakerlab.compat.storage import FALLBACK_POLICIES
from breakerlab.model import InvalidConfigError, ManualClock, State

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "model" / "compat" / "README.md"
ARTICLE = ROOT.parent / "shared" / "seed" / "circuit-breakers-article.txt"
START = datetime(2026, 1, 1, tzinfo=UTC)
COMPAT_IMPORT = "from breakerlab.compat.pybreaker import CircuitBreaker"
PYBREAKER_IMPORT = "from pybreaker import CircuitBreaker"


# -- playing one script on both breakers --------------------------------------------------------


class Recorder:
    """A listener with all four hooks (pybreaker calls every one), logging what each was given."""

    def __init__(self, log: list[tuple[Any, ...]]) -> None:
        self.log = log

    def before_call(self, cb: Any, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        # pybreaker hands its internal ``_wrapper`` for a calling() block, this layer ``calling_block``
        name = "<block>" if func.__name__ in ("_wrapper", "calling_block") else func.__name__
        self.log.append(("before_call", name, tuple(repr(a) for a in args), tuple(sorted(kwargs))))

    def success(self, cb: Any) -> None:
        self.log.append(("success",))

    def failure(self, cb: Any, exc: BaseException) -> None:
        self.log.append(("failure", type(exc).__name__))

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        self.log.append(("state_change", old_state.name if old_state is not None else None, new_state.name))


@dataclasses.dataclass
class Run:
    """A breaker under test, how to move its time, and what its listener heard."""

    cb: Any
    advance: Callable[[float], object]
    opened_at: Callable[[], datetime | None]
    log: list[tuple[Any, ...]]


@contextlib.contextmanager
def real_breaker(initial: str = pybreaker.STATE_CLOSED, **options: Any) -> Iterator[Run]:
    """The real pybreaker 1.4.1, on frozen time (its ``opened_at`` is read from its storage)."""
    log: list[tuple[Any, ...]] = []
    with time_machine.travel(START, tick=False) as traveller:
        storage = pybreaker.CircuitMemoryStorage(initial)
        cb = pybreaker.CircuitBreaker(listeners=[Recorder(log)], state_storage=storage, **options)
        yield Run(cb, lambda s: traveller.shift(timedelta(seconds=s)), lambda: storage.opened_at, log)


@contextlib.contextmanager
def compat_breaker(initial: str = compat.STATE_CLOSED, **options: Any) -> Iterator[Run]:
    """The compatibility layer, on a ManualClock (its wall clock is START, read once)."""
    log: list[tuple[Any, ...]] = []
    clock = ManualClock()
    cb = compat.CircuitBreaker(
        listeners=[Recorder(log)], state_storage=compat.CircuitMemoryStorage(initial),
        clock=clock, wall_clock=lambda: START, **options,
    )
    yield Run(cb, clock.advance, lambda: cb.opened_at, log)


BREAKERS = {"pybreaker": real_breaker, "compat": compat_breaker}
HOW = ("call", "decorator", "calling", "generator")


def is_business_error(exc: BaseException) -> bool:
    """A callable exclusion: a ValueError whose message says it is the caller's fault."""
    return isinstance(exc, ValueError) and "business" in str(exc)


class Interrupt(BaseException):
    """An interruption (a BaseException that is not an Exception), like KeyboardInterrupt."""


def work(error: BaseException | None) -> str:
    if error is not None:
        raise error
    return "ok"


def steps_of(error: BaseException | None) -> Iterator[str]:
    yield "ok"
    if error is not None:
        raise error


def invoke(cb: Any, how: str, error: BaseException | None) -> object:
    """Make one protected call the ``how`` way."""
    if how == "call":
        return cb.call(work, error)
    if how == "decorator":
        return cb(work)(error)
    if how == "calling":
        with cb.calling():
            return work(error)
    return list(cb.call(steps_of, error))


def perform(run: Run, step: tuple[Any, ...], how: str) -> str | None:
    """Perform one step of a script; what a call returned or raised."""
    cb, kind = run.cb, step[0]
    if kind == "wait":
        run.advance(step[1])
        return None
    if kind == "open":
        return f"returned {cb.open()!r}"
    if kind in ("close", "half_open"):
        getattr(cb, kind)()
        return None
    if kind == "exclude":
        cb.add_excluded_exception(step[1])
        return None
    if kind == "include":
        cb.remove_excluded_exception(step[1])
        return None
    error = step[1](*step[2:]) if kind == "fail" else None
    try:
        return f"returned {invoke(cb, how, error)!r}"
    except BaseException as exc:
        return f"raised {type(exc).__name__}: {exc}"


def play(kind: str, script: list[tuple[Any, ...]], how: str = "call", **options: Any) -> list[tuple[Any, ...]]:
    """What each step of ``script`` did on breaker ``kind``: its outcome, the state, the counters
    (``fail_counter`` where pybreaker and the model count alike: while closed), seconds from
    START to ``opened_at``, and the hooks called."""
    rows = []
    with BREAKERS[kind](**options) as run:
        for step in script:
            run.log.clear()
            outcome = perform(run, step, how)
            cb = run.cb
            opened = run.opened_at()
            rows.append((
                step[0], outcome, cb.current_state, cb.state.name, cb.success_counter,
                cb.fail_counter if cb.current_state == "closed" else None,
                None if opened is None else (opened - START).total_seconds(),
                tuple(run.log),
            ))
    return rows


OK = ("ok",)


def FAIL(kind: type[BaseException] = OSError, message: str = "boom") -> tuple[Any, ...]:
    return ("fail", kind, message)


SCENARIOS: dict[str, tuple[dict[str, Any], list[tuple[Any, ...]]]] = {
    "trip_after_fail_max": ({"fail_max": 3}, [FAIL(), OK, FAIL(), FAIL(), FAIL(), OK, FAIL()]),
    "trip_raises_the_original_error": (
        {"fail_max": 2, "throw_new_error_on_trip": False}, [FAIL(), FAIL(KeyError), OK, FAIL()],
    ),
    "half_open_after_reset_timeout": (
        {"fail_max": 2, "reset_timeout": 30},
        [FAIL(), FAIL(), ("wait", 29), OK, ("wait", 1), FAIL(), ("wait", 10), OK, ("wait", 20), OK, OK, FAIL()],
    ),
    "success_threshold": (
        {"fail_max": 1, "reset_timeout": 5, "success_threshold": 3},
        [FAIL(), ("wait", 5), OK, OK, FAIL(), ("wait", 5), OK, OK, OK, OK, FAIL()],
    ),
    "exclusions_and_callables": (
        {"fail_max": 2, "reset_timeout": 5, "exclude": [KeyError, is_business_error]},
        [
            FAIL(), FAIL(KeyError), FAIL(), FAIL(ValueError, "business rule"), FAIL(ValueError, "system"),
            FAIL(), ("wait", 5), FAIL(KeyError),
            ("exclude", OSError), FAIL(), FAIL(), FAIL(TypeError),
            ("include", OSError), ("include", is_business_error), FAIL(ValueError, "business"), FAIL(),
        ],
    ),
    "interruptions_are_failures": ({"fail_max": 3}, [FAIL(Interrupt), FAIL(Interrupt), OK, FAIL(Interrupt)]),
    "manual_open_close_half_open": (
        {"fail_max": 2, "reset_timeout": 10},
        [
            ("open",), OK, ("wait", 4), ("open",), ("wait", 6), OK, ("wait", 4), OK, ("close",), FAIL(), ("close",),
            FAIL(), ("half_open",), FAIL(), ("half_open",), OK, ("half_open",), ("close",), OK,
        ],
    ),
    "manual_open_without_new_error": (
        {"fail_max": 1, "throw_new_error_on_trip": False}, [("open",), FAIL(), ("half_open",), FAIL()],
    ),
}


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_common_behaviours_match_pybreaker(scenario: str, how: str) -> None:
    """Each scenario, made with call(), the decorator, calling() and a guarded generator, does
    on this layer exactly what it does on pybreaker 1.4.1: returns and raises the same (with the
    same CircuitBreakerError messages), moves through the same states with the same counters and
    opened_at, and calls the same listener hooks with the same arguments in the same order."""
    options, script = SCENARIOS[scenario]
    assert play("compat", script, how, **options) == play("pybreaker", script, how, **options)


def test_the_scripts_show_what_they_are_about() -> None:
    """The scenarios exercise what their names say (so matching pybreaker is not vacuous)."""
    options, script = SCENARIOS["trip_after_fail_max"]
    rows = play("compat", script, **options)
    assert [r[1] for r in rows][4:] == [
        "raised CircuitBreakerError: Failures threshold reached, circuit breaker opened",
        "raised CircuitBreakerError: Timeout not elapsed yet, circuit breaker still open",
        "raised CircuitBreakerError: Timeout not elapsed yet, circuit breaker still open",
    ]
    assert rows[4][7] == (("before_call", "work", ("OSError('boom')",), ()), ("failure", "OSError"),
                          ("state_change", "closed", "open"))
    options, script = SCENARIOS["half_open_after_reset_timeout"]
    rows = play("compat", script, **options)
    assert rows[3][1].startswith("raised CircuitBreakerError") and rows[5][1].endswith("Trial call failed, circuit breaker opened")
    assert rows[5][7][0] == ("state_change", "open", "half-open") and rows[9][2] == "closed"
    options, script = SCENARIOS["success_threshold"]
    rows = play("compat", script, **options)
    assert [(r[2], r[4]) for r in rows[2:4]] == [("half-open", 1), ("half-open", 2)] and rows[8][2] == "closed"
    options, script = SCENARIOS["exclusions_and_callables"]
    rows = play("compat", script, **options)
    assert [r[5] for r in rows[:5]] == [1, 0, 1, 0, 1]
    assert rows[7][2] == "closed" and ("state_change", "half-open", "closed") in rows[7][7]  # an excluded trial call
    assert [r[5] for r in rows[9:12]] == [0, 0, 1] and rows[14][1].startswith("raised CircuitBreakerError")


def test_is_system_error_and_exclusions_match_pybreaker() -> None:
    """is_system_error says the same as pybreaker's for classes, subclasses, callables and
    interruptions, and excluded_exceptions lists the exclusions in order."""
    exclude = [LookupError, is_business_error]
    errors = [OSError(), KeyError(), IndexError(), ValueError("business"), ValueError("x"), Interrupt(), KeyboardInterrupt()]
    ours = compat.CircuitBreaker(exclude=exclude)
    theirs = pybreaker.CircuitBreaker(exclude=exclude)
    assert [ours.is_system_error(e) for e in errors] == [theirs.is_system_error(e) for e in errors]
    assert [ours.is_system_error(e) for e in errors] == [True, False, False, False, True, True, True]
    ours.add_excluded_exceptions(OSError, TypeError)
    theirs.add_excluded_exceptions(OSError, TypeError)
    assert ours.excluded_exceptions == theirs.excluded_exceptions == (LookupError, is_business_error, OSError, TypeError)


def test_listeners_are_managed_as_in_pybreaker() -> None:
    """listeners, add_listener(s) and remove_listener keep the same ordered tuple as pybreaker's,
    and removing an unregistered listener raises ValueError in both."""
    a, b, c = (pybreaker.CircuitBreakerListener() for _ in range(3))
    ours, theirs = compat.CircuitBreaker(listeners=[a]), pybreaker.CircuitBreaker(listeners=[a])
    for cb in (ours, theirs):
        cb.add_listeners(b, c)
        cb.remove_listener(b)
        cb.add_listener(b)
        with pytest.raises(ValueError):
            cb.remove_listener(object())
    assert ours.listeners == theirs.listeners == (a, c, b)


def test_the_public_api_is_pybreakers() -> None:
    """The module exports pybreaker's names; CircuitBreaker has every public attribute of
    pybreaker's, with the same parameters and defaults (plus the keyword-only clock and
    wall_clock); the listener and storages take pybreaker's arguments."""
    assert set(compat.__all__) == set(pybreaker.__all__)
    for name in (*pybreaker.__all__, "CircuitBreakerState", "CircuitClosedState", "CircuitOpenState",
                 "CircuitHalfOpenState", "CircuitBreakerStorage"):
        assert hasattr(compat, name), name
    assert (compat.STATE_CLOSED, compat.STATE_OPEN, compat.STATE_HALF_OPEN) == ("closed", "open", "half-open")
    public = {n for n in dir(pybreaker.CircuitBreaker) if not n.startswith("_")}
    assert public <= set(dir(compat.CircuitBreaker)), public - set(dir(compat.CircuitBreaker))

    def parameters(fn: Callable[..., Any], *, keyword_only: bool = False) -> list[tuple[str, Any, Any]]:
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()
                if keyword_only or p.kind is not p.KEYWORD_ONLY]

    assert parameters(compat.CircuitBreaker.__init__) == parameters(pybreaker.CircuitBreaker.__init__)
    extra = [p for p in inspect.signature(compat.CircuitBreaker.__init__).parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert [p.name for p in extra] == ["clock", "wall_clock"]
    for cls in ("CircuitRedisStorage", "CircuitMemoryStorage"):
        assert parameters(getattr(compat, cls).__init__) == parameters(getattr(pybreaker, cls).__init__), cls
    for hook in ("before_call", "failure", "success", "state_change"):
        theirs = [(p.name, p.kind) for p in inspect.signature(getattr(pybreaker.CircuitBreakerListener, hook)).parameters.values()]
        ours = [(p.name, p.kind) for p in inspect.signature(getattr(compat.CircuitBreakerListener, hook)).parameters.values()]
        assert ours == theirs, hook
    assert issubclass(compat.CircuitBreakerError, Exception)


def test_the_breaker_runs_the_pybreaker_preset() -> None:
    """The runtime breaker behind it is configured from BreakerConfig.preset("pybreaker") with
    the user's thresholds (the layer translates arguments, it does not re-implement rules)."""
    from breakerlab.model import BreakerConfig

    cb = compat.CircuitBreaker(fail_max=7, reset_timeout=12.5, success_threshold=2, throw_new_error_on_trip=False)
    config = cb.runtime.config
    preset = BreakerConfig.preset("pybreaker")
    assert (config.fail_max, config.reset_timeout, config.success_threshold) == (7, 12.5, 2)
    for option in ("trip_rule", "admit_at_deadline", "half_open_entry", "late_result", "excluded_outcome",
                   "cancellation_outcome", "open_duration_policy"):
        assert getattr(config, option) == getattr(preset, option), option
    assert (config.half_open_limit, config.half_open_max_calls, config.trip_error) == ("concurrent", 1, "original")
    assert (cb.fail_max, cb.reset_timeout, cb.success_threshold, cb.name) == (7, 12.5, 2, None)


def test_opened_at_is_the_model_time_plus_one_wall_clock_offset() -> None:
    """opened_at is None until the circuit opens, then the wall clock read once at construction
    plus the model's opened_at on the monotonic clock (the wall clock is not read again)."""
    reads: list[datetime] = []

    def wall_clock() -> datetime:
        reads.append(START)
        return START

    clock = ManualClock(1000.0)
    cb = compat.CircuitBreaker(fail_max=1, reset_timeout=10, clock=clock, wall_clock=wall_clock)
    cb.half_open()
    assert cb.opened_at is None
    clock.advance(2.5)
    with pytest.raises(compat.CircuitBreakerError):
        cb.call(work, OSError())
    clock.advance(30)
    cb.call(work, None)
    assert cb.current_state == "closed"
    assert cb.opened_at == START + timedelta(seconds=2.5)
    assert reads == [START]


# -- the article's example ----------------------------------------------------------------------


def readme_example() -> str:
    """The README's runnable example: its first ```python block."""
    match = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert match is not None, "model/compat/README.md has no ```python block"
    return match.group(1)


def article_example() -> str:
    """The article's pybreaker example: from its first import to its last comment line."""
    text = ARTICLE.read_text()
    start = text.index("import requests\n")
    end = text.index("and allow one request to test if the downstream service is back up.\n", start)
    return text[start:text.index("\n", end) + 1]


def fake_requests() -> types.ModuleType:
    """A stand-in for ``requests`` whose ``get`` always fails with a ConnectionError (no network)."""
    module = types.ModuleType("requests")
    exceptions = types.ModuleType("requests.exceptions")

    class RequestException(OSError):
        pass

    class ConnectionError(RequestException):
        pass

    exceptions.RequestException = RequestException  # type: ignore[attr-defined]
    exceptions.ConnectionError = ConnectionError  # type: ignore[attr-defined]
    module.exceptions = exceptions  # type: ignore[attr-defined]

    def get(url: str, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError(f"cannot connect to {url}")

    module.get = get  # type: ignore[attr-defined]
    return module


def run_example(code: str, monkeypatch: pytest.MonkeyPatch) -> str:
    requests = fake_requests()
    monkeypatch.setitem(sys.modules, "requests", requests)
    monkeypatch.setitem(sys.modules, "requests.exceptions", requests.exceptions)  # type: ignore[attr-defined]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "article_example.py", "exec"), {"__name__": "__main__"})
    return out.getvalue()


#: The article's example as it stands in the article (kept with the tests, since the article
#: itself is not part of the repository).
ARTICLE_EXAMPLE = ROOT / "tests" / "data" / "article_pybreaker_example.txt"


def test_the_readme_example_is_the_articles_with_one_import_changed() -> None:
    """The README's example is the article's pybreaker code with only its import line changed
    (and the copy kept in tests/data is the article's, where the article is at hand)."""
    example = readme_example()
    assert example.count(COMPAT_IMPORT) == 1
    assert example.replace(COMPAT_IMPORT, PYBREAKER_IMPORT) == ARTICLE_EXAMPLE.read_text()
    if ARTICLE.is_file():
        assert ARTICLE_EXAMPLE.read_text() == article_example()


def test_the_articles_example_runs_unchanged_and_prints_what_pybreaker_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example runs on this layer and prints exactly what it prints on pybreaker: the first
    failure, three ConnectionErrors, then four CircuitBreakerErrors (the fifth failure trips)."""
    example = readme_example()
    ours = run_example(example, monkeypatch)
    theirs = run_example(example.replace(COMPAT_IMPORT, PYBREAKER_IMPORT), monkeypatch)
    assert ours == theirs
    attempts = re.findall(r"^Attempt failed as expected: (\w+)$", ours, re.M)
    assert attempts == ["ConnectionError"] * 3 + ["CircuitBreakerError"] * 4
    assert "Failed to retrieve profile data: cannot connect to http://user-profile-service:8080/users/123" in ours


def test_the_module_form_of_the_import_works() -> None:
    """``import breakerlab.compat.pybreaker as pybreaker`` serves code written against the module."""
    code = (
        "import breakerlab.compat.pybreaker as pybreaker\n"
        "db_breaker = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=60,\n"
        "    state_storage=pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED))\n"
        "@db_breaker\n"
        "def update_customer(cust):\n"
        "    raise OSError(cust)\n"
        "try:\n"
        "    update_customer('c')\n"
        "except pybreaker.CircuitBreakerError:\n"
        "    tripped = True\n"
    )
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    assert namespace["tripped"] and namespace["db_breaker"].current_state == pybreaker.STATE_OPEN


# -- deliberate differences (model/compat/README.md) -----------------------------------------------


def _in_flight(cb: Any, release: threading.Event) -> tuple[threading.Thread, list[object]]:
    """Start a call on another thread that waits for ``release``; return once it is running."""
    entered = threading.Event()
    results: list[object] = []

    def slow() -> str:
        entered.set()
        assert release.wait(10)
        return "slow"

    def run() -> None:
        try:
            results.append(cb.call(slow))
        except BaseException as exc:
            results.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    assert entered.wait(10)
    return thread, results


def test_calls_are_not_serialised() -> None:
    """While one call is in flight, another caller's call runs and returns (pybreaker's lock
    would make it wait for the first)."""
    cb = compat.CircuitBreaker(clock=ManualClock())
    release = threading.Event()
    thread, results = _in_flight(cb, release)
    try:
        assert cb.call(work, None) == "ok"
        assert results == []  # the slow call is still in flight
    finally:
        release.set()
        thread.join(10)
    assert results == ["slow"]


def test_half_open_rejects_a_call_while_the_trial_call_is_in_flight() -> None:
    """In half-open, a second caller is rejected at once with CircuitBreakerError
    (remaining_s 0.0) while the trial call is in flight, and admitted once it has succeeded."""
    clock = ManualClock()
    cb = compat.CircuitBreaker(fail_max=1, reset_timeout=5, success_threshold=2, clock=clock)
    with pytest.raises(compat.CircuitBreakerError):
        cb.call(work, OSError())
    clock.advance(5)
    release = threading.Event()
    thread, results = _in_flight(cb, release)
    try:
        assert cb.current_state == "half-open"
        with pytest.raises(compat.CircuitBreakerError, match="Trial call in progress") as rejected:
            cb.call(work, None)
        assert rejected.value.remaining_s == 0.0
    finally:
        release.set()
        thread.join(10)
    assert results == ["slow"] and cb.success_counter == 1
    assert cb.call(work, None) == "ok" and cb.current_state == "closed"


def test_late_results_change_nothing() -> None:
    """A call admitted while closed that succeeds after other calls opened the circuit does not
    close it (its success is stale); the listener still hears it."""
    log: list[tuple[Any, ...]] = []
    cb = compat.CircuitBreaker(fail_max=2, listeners=[Recorder(log)], clock=ManualClock())
    release = threading.Event()
    thread, results = _in_flight(cb, release)
    try:
        for _ in range(2):
            with contextlib.suppress(OSError, compat.CircuitBreakerError):
                cb.call(work, OSError())
        assert cb.current_state == "open"
    finally:
        release.set()
        thread.join(10)
    assert results == ["slow"]
    assert cb.current_state == "open" and log[-1] == ("success",)


def test_call_async_is_asyncio_and_async_def_failures_count() -> None:
    """call_async awaits a coroutine function on asyncio; @breaker on an async def (or with
    __pybreaker_call_async=True) counts its failures. pybreaker's decorator returns the coroutine
    unawaited and records a success first, so a failing async def never counts."""
    cb = compat.CircuitBreaker(fail_max=3)

    async def fetch(value: str) -> str:
        await asyncio.sleep(0)
        return value

    @cb
    async def failing() -> None:
        await asyncio.sleep(0)
        raise OSError("down")

    def returns_awaitable() -> Any:
        return failing.__wrapped__()  # type: ignore[attr-defined]

    tornado_style = cb(__pybreaker_call_async=True)(returns_awaitable)

    async def main() -> None:
        assert await cb.call_async(fetch, "v") == "v"
        for _ in range(2):
            with pytest.raises(OSError):
                await failing()
        assert cb.fail_counter == 2
        with pytest.raises(compat.CircuitBreakerError, match="Failures threshold reached"):
            await tornado_style()

    asyncio.run(main())
    assert cb.current_state == "open"

    theirs = pybreaker.CircuitBreaker(fail_max=1)
    their_failing = theirs(failing.__wrapped__)  # type: ignore[attr-defined]
    coroutine = their_failing()
    with pytest.raises(OSError):
        asyncio.run(coroutine)
    assert theirs.fail_counter == 0 and theirs.current_state == "closed"


def test_fail_counter_restarts_when_the_circuit_opens() -> None:
    """After the trip, and after a failed trial call, pybreaker's fail_counter goes on counting
    (2, then 3); this layer's is the trip rule's count, 0 again in each new episode."""
    script = [FAIL(), FAIL(), ("wait", 60), FAIL(), ("wait", 60), OK]
    counters = {}
    for kind in BREAKERS:
        with BREAKERS[kind](fail_max=2) as run:
            seen = []
            for step in script:
                perform(run, step, "call")
                seen.append(run.cb.fail_counter)
            counters[kind] = seen
    assert counters["pybreaker"] == [1, 2, 2, 3, 3, 0]
    assert counters["compat"] == [1, 0, 0, 0, 0, 0]


class Raising(Recorder):
    """A listener whose failure hook raises."""

    def failure(self, cb: Any, exc: BaseException) -> None:
        super().failure(cb, exc)
        raise RuntimeError("listener bug")


def test_a_listener_error_is_logged_and_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """A failure hook that raises is logged to the "breakerlab" logger; the caller gets its own
    error, the other listeners are called and the breaker trips. In pybreaker the listener's
    error reaches the caller instead, and the circuit never opens."""
    log: list[tuple[Any, ...]] = []
    cb = compat.CircuitBreaker(fail_max=2, listeners=[Raising(log), Recorder(log)])
    with caplog.at_level(logging.ERROR, logger="breakerlab"):
        with pytest.raises(OSError):
            cb.call(work, OSError())
        with pytest.raises(compat.CircuitBreakerError):
            cb.call(work, OSError())
    assert cb.current_state == "open"
    assert [r.name for r in caplog.records] == ["breakerlab", "breakerlab"]
    assert "listener bug" in caplog.records[0].getMessage()
    assert log.count(("failure", "OSError")) == 4  # both listeners, both calls
    theirs = pybreaker.CircuitBreaker(fail_max=2, listeners=[Raising([])])
    for _ in range(2):
        with pytest.raises(RuntimeError, match="listener bug"):
            theirs.call(work, OSError())
    assert theirs.current_state == "closed"


def test_half_open_when_half_open_does_nothing() -> None:
    """half_open() in half-open leaves this layer's trial count and tells no listener;
    pybreaker notifies half-open -> half-open and resets success_counter."""
    script = [("half_open",), OK, ("half_open",)]
    ours = play("compat", script, success_threshold=2)
    theirs = play("pybreaker", script, success_threshold=2)
    assert ours[:2] == theirs[:2]
    assert ours[2][4] == 1 and ours[2][7] == ()
    assert theirs[2][4] == 0 and theirs[2][7] == (("state_change", "half-open", "half-open"),)


def test_options_are_settable_before_first_use_only() -> None:
    """fail_max, reset_timeout and success_threshold set before the first call rebuild the
    runtime breaker with them (listeners kept); once the breaker is used, setting one raises
    InvalidConfigError saying to build a new breaker, and changes nothing."""
    log: list[tuple[Any, ...]] = []
    clock = ManualClock()
    cb = compat.CircuitBreaker(listeners=[Recorder(log)], clock=clock)
    cb.fail_max = 2
    cb.reset_timeout = 7
    cb.success_threshold = 2
    assert (cb.fail_max, cb.reset_timeout, cb.success_threshold) == (2, 7, 2)
    with pytest.raises(InvalidConfigError, match="'fail_max' must be an int >= 1"):
        cb.fail_max = 0
    assert cb.fail_max == 2 and cb.runtime.config.fail_max == 2
    with pytest.raises(OSError):
        cb.call(work, OSError())
    with pytest.raises(compat.CircuitBreakerError):
        cb.call(work, OSError())
    assert ("state_change", "closed", "open") in log
    clock.advance(7)
    cb.call(work, None)
    assert (cb.current_state, cb.success_counter) == ("half-open", 1)
    with pytest.raises(InvalidConfigError, match=r"build a new CircuitBreaker\(fail_max=10"):
        cb.fail_max = 10
    assert cb.fail_max == 2 and cb.runtime.config.fail_max == 2
    manual = compat.CircuitBreaker()
    manual.open()
    with pytest.raises(InvalidConfigError, match="before the breaker's first call or manual state change"):
        manual.reset_timeout = 1


@pytest.mark.parametrize("options", [{"fail_max": 0}, {"reset_timeout": -1}, {"success_threshold": 0}, {"fail_max": 2.5}])
def test_invalid_settings_are_refused(options: dict[str, Any]) -> None:
    """Settings no breaker can honour are refused at construction, naming the field (pybreaker
    accepts them)."""
    pybreaker.CircuitBreaker(**options)
    (field,) = options
    with pytest.raises(InvalidConfigError, match=f"'{field}' must be"):
        compat.CircuitBreaker(**options)


def test_interruptions_cannot_be_excluded_and_are_never_replaced() -> None:
    """Excluding an interruption is refused (pybreaker accepts it); one that trips the circuit
    propagates as itself, the circuit open (pybreaker raises CircuitBreakerError instead)."""
    with pytest.raises(InvalidConfigError, match="always counts as a failure"):
        compat.CircuitBreaker(exclude=[KeyboardInterrupt])
    with pytest.raises(InvalidConfigError):
        compat.CircuitBreaker().add_excluded_exception(asyncio.CancelledError)
    with pytest.raises(InvalidConfigError, match="exception classes or callables"):
        compat.CircuitBreaker(exclude=[42])  # type: ignore[list-item]
    pybreaker.CircuitBreaker(exclude=[KeyboardInterrupt])
    ours = compat.CircuitBreaker(fail_max=1, exclude=[lambda e: True])  # callables are not asked about interruptions
    with pytest.raises(Interrupt):
        ours.call(work, Interrupt())
    assert ours.current_state == "open"
    theirs = pybreaker.CircuitBreaker(fail_max=1)
    with pytest.raises(pybreaker.CircuitBreakerError):
        theirs.call(work, Interrupt())


def test_a_generator_closed_early_is_not_a_failure() -> None:
    """A guarded generator closed before its end, or never run, is neither a success nor a
    failure (released), so a half-open circuit's trial slot is freed; pybreaker counts an early
    close as a failure."""

    def numbers() -> Iterator[int]:
        yield from range(3)

    ours, theirs = compat.CircuitBreaker(fail_max=5), pybreaker.CircuitBreaker(fail_max=5)
    for cb in (ours, theirs):
        generator = cb.call(numbers)
        assert next(generator) == 0
        generator.close()
    assert (ours.fail_counter, theirs.fail_counter) == (0, 1)
    assert ours.runtime.stats.released == 1

    clock = ManualClock()
    cb = compat.CircuitBreaker(fail_max=1, reset_timeout=5, clock=clock)
    with pytest.raises(compat.CircuitBreakerError):
        cb.call(work, OSError())
    clock.advance(5)
    unstarted = cb.call(numbers)
    assert cb.current_state == "half-open"
    del unstarted
    gc.collect()
    assert list(cb.call(numbers)) == [0, 1, 2] and cb.current_state == "closed"
    assert cb.runtime.stats.released == 1


def test_a_memory_storage_serves_one_breaker() -> None:
    """A second breaker given a memory storage in use is refused (share the breaker instead);
    once the first is gone the storage may serve another; other storage objects are refused."""
    storage = compat.CircuitMemoryStorage(compat.STATE_CLOSED)
    first = compat.CircuitBreaker(state_storage=storage)
    with pytest.raises(InvalidConfigError, match="share the CircuitBreaker object"):
        compat.CircuitBreaker(state_storage=storage)
    del first
    gc.collect()
    assert compat.CircuitBreaker(state_storage=storage).current_state == "closed"
    with pytest.raises(TypeError, match="CircuitMemoryStorage"):
        compat.CircuitBreaker(state_storage=pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED))  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="'state' must be one of"):
        compat.CircuitMemoryStorage("half_opened")


def test_an_initial_open_state_lasts_reset_timeout() -> None:
    """A breaker whose memory storage starts open rejects calls until reset_timeout has passed;
    pybreaker's has no opened_at, so its first call goes half-open at once."""
    script = [OK, ("wait", 10), OK]
    ours = play("compat", script, initial=compat.STATE_OPEN, reset_timeout=10)
    theirs = play("pybreaker", script, initial=pybreaker.STATE_OPEN, reset_timeout=10)
    assert ours[0][1].startswith("raised CircuitBreakerError: Timeout not elapsed yet")
    assert theirs[0][1] == "returned 'ok'"
    assert ours[2][1] == "returned 'ok'" and ours[2][2] == "closed"
    half = play("compat", [OK], initial=compat.STATE_HALF_OPEN)
    assert half[0][7][-2:] == (("state_change", "half-open", "closed"), ("success",))


def test_redis_storage_holds_its_arguments_and_maps_the_fallback() -> None:
    """CircuitRedisStorage keeps pybreaker's arguments, maps fallback_circuit_state to the shared
    breaker's on_store_error (closed: fail_open, open: fail_closed, half-open: local), and
    refuses an initial state other than closed."""
    client = object()
    storage = compat.CircuitRedisStorage(compat.STATE_CLOSED, client, namespace="orders")
    assert (storage.redis_object, storage.namespace, storage.on_store_error, storage.name) == (
        client, "orders", "fail_open", "redis")
    policies = {s: compat.CircuitRedisStorage("closed", client, fallback_circuit_state=s).on_store_error
                for s in (compat.STATE_CLOSED, compat.STATE_OPEN, compat.STATE_HALF_OPEN)}
    assert policies == FALLBACK_POLICIES == {"closed": "fail_open", "open": "fail_closed", "half-open": "local"}
    with pytest.raises(InvalidConfigError, match="'state' must be 'closed'"):
        compat.CircuitRedisStorage(compat.STATE_OPEN, client)
    with pytest.raises(InvalidConfigError, match="'fallback_circuit_state' must be one of"):
        compat.CircuitRedisStorage("closed", client, fallback_circuit_state="ajar")


def test_state_objects_and_names() -> None:
    """state is one object per state (so ``cb.state is new_state`` in a listener), named as in
    pybreaker; the runtime's manual states keep breakerlab's names."""
    seen: list[bool] = []

    class Same(compat.CircuitBreakerListener):
        def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
            seen.append(cb.state is new_state)

    cb = compat.CircuitBreaker(listeners=[Same()])
    cb.open()
    assert isinstance(cb.state, compat.CircuitOpenState) and cb.state.name == "open" and seen == [True]
    cb.runtime.force_open()
    assert cb.current_state == State.FORCED_OPEN.value and repr(cb) == "<CircuitBreaker None forced_open>"


# -- the Redis storage (a real redis-server: the ``redis_server`` fixture of conftest.py) ------------

_namespaces = itertools.count()


def redis_breakers(client: Any) -> dict[str, Callable[..., contextlib.AbstractContextManager[Run]]]:
    """pybreaker with its CircuitRedisStorage, and this layer with its own, on ``client``; each
    breaker under a namespace of its own."""

    @contextlib.contextmanager
    def real(initial: str = pybreaker.STATE_CLOSED, **options: Any) -> Iterator[Run]:
        log: list[tuple[Any, ...]] = []
        with time_machine.travel(START, tick=False) as traveller:
            storage = pybreaker.CircuitRedisStorage(initial, client, namespace=f"theirs{next(_namespaces)}")
            cb = pybreaker.CircuitBreaker(listeners=[Recorder(log)], state_storage=storage, **options)
            yield Run(cb, lambda s: traveller.shift(timedelta(seconds=s)), lambda: storage.opened_at, log)

    @contextlib.contextmanager
    def ours(initial: str = compat.STATE_CLOSED, **options: Any) -> Iterator[Run]:
        log: list[tuple[Any, ...]] = []
        clock = ManualClock()
        storage = compat.CircuitRedisStorage(initial, client, namespace=f"ours{next(_namespaces)}")
        cb = compat.CircuitBreaker(
            listeners=[Recorder(log)], state_storage=storage, clock=clock, wall_clock=lambda: START, **options,
        )
        yield Run(cb, clock.advance, lambda: cb.opened_at, log)

    return {"pybreaker": real, "compat": ours}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_redis_storage_matches_pybreakers_redis_storage(
    scenario: str, redis_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With CircuitRedisStorage (the breaker shared through Redis), each scenario does what it
    does on pybreaker's CircuitRedisStorage: same outcomes, states, counters, opened_at, hooks."""
    options, script = SCENARIOS[scenario]
    in_memory = play("compat", script, **options)
    monkeypatch.setattr(sys.modules[__name__], "BREAKERS", redis_breakers(redis_server.client()))
    ours = play("compat", script, **options)
    assert ours == play("pybreaker", script, **options)
    assert ours == in_memory


def test_breakers_with_one_namespace_share_one_state(redis_server: Any) -> None:
    """Two breakers whose storages name one namespace count failures together and trip once for
    both (another namespace is another state); a breaker's listeners hear the changes made
    through it only."""
    client, clock = redis_server.client(), ManualClock()  # a clock every breaker shares
    logs: list[list[tuple[Any, ...]]] = [[], [], []]
    a, b, c = (
        compat.CircuitBreaker(fail_max=2, listeners=[Recorder(log)], clock=clock, wall_clock=lambda: START,
                              state_storage=compat.CircuitRedisStorage(compat.STATE_CLOSED, client, namespace=ns))
        for log, ns in zip(logs, ("shared", "shared", "other"))
    )
    with pytest.raises(OSError):
        a.call(work, OSError())
    assert b.fail_counter == 1 and c.fail_counter == 0
    with pytest.raises(compat.CircuitBreakerError, match="Failures threshold reached"):
        b.call(work, OSError())
    with pytest.raises(compat.CircuitBreakerError, match="Timeout not elapsed yet"):
        a.call(work, None)
    assert (a.current_state, b.current_state, c.call(work, None)) == ("open", "open", "ok")
    assert ("state_change", "closed", "open") in logs[1] and not any(e[0] == "state_change" for e in logs[0])
    assert a.opened_at == b.opened_at == START and c.opened_at is None


def test_while_redis_is_down_the_fallback_state_decides(tmp_path: pathlib.Path) -> None:
    """With Redis unreachable, fallback "closed" admits calls, "open" rejects them with
    CircuitBreakerError, "half-open" lets a local breaker decide; current_state reports the
    fallback (as pybreaker does) and the counters read 0."""
    import redis

    client = redis.Redis(unix_socket_path=str(tmp_path / "no-server.sock"))
    outcomes = {}
    for fallback in (compat.STATE_CLOSED, compat.STATE_OPEN, compat.STATE_HALF_OPEN):
        cb = compat.CircuitBreaker(
            fail_max=1, clock=ManualClock(),
            state_storage=compat.CircuitRedisStorage(compat.STATE_CLOSED, client, fallback_circuit_state=fallback),
        )
        seen = []
        for error in (OSError("down"), None):
            try:
                seen.append(str(cb.call(work, error)))
            except (OSError, compat.CircuitBreakerError) as exc:
                seen.append(type(exc).__name__)
        outcomes[fallback] = (seen, cb.current_state, cb.fail_counter, cb.opened_at)
    assert outcomes["closed"] == (["OSError", "ok"], "closed", 0, None)
    assert outcomes["open"] == (["CircuitBreakerError", "CircuitBreakerError"], "open", 0, None)
    seen, state, fail_counter, opened_at = outcomes["half-open"]
    assert seen[1] == "CircuitBreakerError" and (state, fail_counter, opened_at) == ("open", 0, None)  # the local breaker opened


def test_the_package_docstring_example_runs() -> None:
    """The example in breakerlab.compat's docstring gives the shown output."""
    import doctest

    import breakerlab.compat

    result = doctest.testmod(breakerlab.compat, verbose=False)
    assert result.attempted > 0 and result.failed == 0

"""What every library adapter shares: configuration, the ``Adapter`` protocol, frozen time, call bookkeeping."""

from __future__ import annotations

import abc
import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from breakerlab.model.errors import BreakerError, InvalidConfigError

from ..script import Observation, Step

__all__ = [
    "CALL_TIMEOUT_S",
    "START_EPOCH_S",
    "WINDOW_S",
    "Adapter",
    "AdapterError",
    "Backend",
    "Flight",
    "FrozenClock",
    "LibraryConfig",
    "frozen_time",
    "normalise_state",
    "time_label",
]

#: Where every run's frozen clock starts: 2023-11-14T22:13:20Z. An integer number of seconds,
#: so that virtual times reached by whole-second (and millisecond) advances are exact floats.
START_EPOCH_S = 1_700_000_000

#: A library's own call timeout, where it has one (opossum), in the catalogue's runs: longer
#: than any call of the catalogue stays in flight (hung_probe holds one 110 s) except in the
#: scenario that measures it (``call_timeout``).
CALL_TIMEOUT_S = 200.0
#: A library's rolling statistics window, where it has one (opossum's rollingCountTimeout), in
#: the catalogue's runs (opossum's default, and equal to the catalogue's reset_timeout).
WINDOW_S = 10.0

_NS = 1_000_000_000


class AdapterError(BreakerError, RuntimeError):
    """A library is missing or misbehaved in a way the harness cannot record (e.g. a call never returns)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class LibraryConfig:
    """The settings every adapter maps onto its library; everything else keeps the library's defaults.

    Attributes:
        fail_max: Consecutive failures that open the breaker, >= 1.
        reset_timeout_s: Seconds the breaker stays open, > 0.
        excluded: Exception types the breaker must not count as failures.
    """

    fail_max: int
    reset_timeout_s: float
    excluded: tuple[type[BaseException], ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.fail_max, bool) or not isinstance(self.fail_max, int) or self.fail_max < 1:
            raise InvalidConfigError("fail_max", "an int >= 1", self.fail_max)
        if isinstance(self.reset_timeout_s, bool) or not isinstance(self.reset_timeout_s, (int, float)):
            raise InvalidConfigError("reset_timeout", "a number of seconds", self.reset_timeout_s)
        if not self.reset_timeout_s > 0:
            raise InvalidConfigError("reset_timeout", "> 0", self.reset_timeout_s)
        for exc_type in self.excluded:
            if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
                raise InvalidConfigError("excluded", "a tuple of exception types", self.excluded)


@runtime_checkable
class Adapter(Protocol):
    """Drives one breaker library through scripts.

    ``configure`` must be called before ``run``; every ``run`` builds a fresh breaker, so runs
    are independent and repeatable.
    """

    @property
    def name(self) -> str:
        """The library's name, e.g. ``pybreaker``."""
        ...

    @property
    def version(self) -> str:
        """The installed version of the library (from its distribution metadata)."""
        ...

    def configure(
        self, fail_max: int, reset_timeout_s: float, excluded: tuple[type[BaseException], ...] = ()
    ) -> None:
        """Set the breaker settings used by the following runs."""
        ...

    def run(self, script: Sequence[Step]) -> tuple[Observation, ...]:
        """Run ``script`` against a fresh breaker under frozen time and return what it observed."""
        ...


def time_label(elapsed_ns: int) -> str:
    """An ``advance`` observation's result: ``t=<seconds since the start>``, e.g. ``t=9.999``."""
    return f"t={elapsed_ns / _NS:g}"


class FrozenClock:
    """The virtual clock of one run: the frozen time-machine traveller plus the time elapsed since the start.

    Time moves only by ``advance``; ``elapsed_ns`` is exact (nanoseconds, as time-machine keeps it).
    """

    def __init__(self, shift: Callable[[float], None]) -> None:
        self._shift = shift
        self.elapsed_ns = 0

    def advance(self, seconds: float) -> None:
        """Move every patched clock forward by ``seconds``."""
        self._shift(seconds)
        self.elapsed_ns += round(seconds * _NS)

    @property
    def label(self) -> str:
        """``t=<seconds since the start>``, e.g. ``t=9.999``."""
        return time_label(self.elapsed_ns)

    def __repr__(self) -> str:
        return f"<FrozenClock {self.label}>"


@contextlib.contextmanager
def frozen_time() -> Iterator[FrozenClock]:
    """Freeze time at ``START_EPOCH_S`` for the duration of the block (process-wide, every thread).

    time-machine patches ``time.time``/``time.time_ns``, ``datetime.datetime.now``/``utcnow``
    and friends at the C level, so references imported before the block are frozen too. It
    does **not** patch ``time.monotonic`` or ``time.perf_counter`` (so asyncio's loop and real
    timeouts keep working); an adapter whose library reads the monotonic clock patches that
    reference itself.
    """
    try:
        import time_machine
    except ImportError:
        raise AdapterError("time-machine is not installed; install the extra: pip install 'breakerlab[conform]'") from None

    with time_machine.travel(START_EPOCH_S, tick=False) as traveller:
        yield FrozenClock(traveller.shift)


def normalise_state(raw: object, names: Mapping[Any, str]) -> str:
    """Map a library's state value onto ``closed``/``open``/``half_open``.

    Raises:
        AdapterError: for a value ``names`` does not list.
    """
    try:
        return names[raw]
    except (KeyError, TypeError):
        valid = ", ".join(repr(name) for name in names)
        raise AdapterError(f"unknown library state {raw!r}; expected one of {valid}") from None


def caller_result(flight_entered: bool, error: BaseException | None) -> str:
    """What the caller got, in the observation vocabulary: ``ok``, ``raised:<Exc>`` (the
    protected function ran) or ``rejected:<Exc>`` (it never ran)."""
    if error is None:
        return "ok"
    return f"{'raised' if flight_entered else 'rejected'}:{type(error).__name__}"


@dataclasses.dataclass(eq=False)
class Flight:
    """One call of a run: its scripted outcome and what the library has done with it so far.

    Attributes:
        call_id: The script's id.
        begun: ``True`` for ``Begin`` (waits for ``Finish``), ``False`` for ``Call``.
        outcome: How the protected function completes; ``None`` until ``Finish`` arms it.
        entered: The protected function was invoked.
        done: The call returned to its caller, with ``result``.
        result: ``ok``, ``raised:<Exc>`` or ``rejected:<Exc>`` once done.
        changed: Order of the latest change (entered or done) among all calls of the run.
        reported: The status last recorded in an observation.
    """

    call_id: int
    begun: bool
    outcome: str | None
    entered: bool = False
    done: bool = False
    result: str = ""
    changed: int = 0
    reported: str = ""

    @property
    def armed(self) -> bool:
        """The call's outcome is known: it completes as soon as it is inside the protected function."""
        return self.outcome is not None

    @property
    def status(self) -> str:
        """``result`` once done; ``in_flight`` for an entered call still waiting for ``Finish``; else
        ``blocked``."""
        if self.done:
            return self.result
        if self.entered and not self.armed:
            return "in_flight"
        return "blocked"


class Backend(abc.ABC):
    """Runs a library's calls concurrently (worker threads or asyncio tasks) for the runner."""

    @abc.abstractmethod
    def start(self, flight: Flight) -> None:
        """Start the call; return without waiting for it to enter or complete."""

    @abc.abstractmethod
    def release(self, flight: Flight) -> None:
        """Let the call complete with ``flight.outcome`` (already set) once it is inside the function."""

    @abc.abstractmethod
    def wait_for(self, predicate: Callable[[], bool], long: bool = False) -> bool:
        """Let calls progress until ``predicate()`` holds or the backend's wait expires; return it.

        Args:
            predicate: Evaluated under ``locked()``.
            long: Use the generous end-of-run wait instead of the blocked-call detection wait.
        """

    @abc.abstractmethod
    def locked(self) -> contextlib.AbstractContextManager[object]:
        """A context in which flights are not mutated by running calls."""

    @abc.abstractmethod
    def read_state(self) -> str:
        """The library's reported state, normalised."""

    @abc.abstractmethod
    def close(self) -> None:
        """Finish every call still running (outcome ``success``) and release threads, tasks and loops.

        Raises:
            AdapterError: if some call could not be made to return.
        """

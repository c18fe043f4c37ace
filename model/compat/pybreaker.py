"""pybreaker 1.4.1's API in front of the verified breaker: change one import, keep the code.

``from breakerlab.compat.pybreaker import CircuitBreaker`` (or ``import
breakerlab.compat.pybreaker as pybreaker``) gives pybreaker's ``CircuitBreaker``, its listeners,
storages, constants and ``CircuitBreakerError``, driving ``breakerlab.runtime.CircuitBreaker``
configured from ``BreakerConfig.preset("pybreaker")``. This module translates arguments, names
and exceptions, and calls the runtime breaker's events (``acquire``, ``record_success``,
``record_failure``, ``release``, ``trip``, ``half_open``, ``reset``); every rule of the breaker
is the transition table's. What differs from pybreaker, on purpose, is listed with its reason
in ``model/compat/README.md`` (above all: calls are not serialised behind one lock).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import types
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, Protocol, TypeVar, overload

from breakerlab.model.classify import Settlement, settlement_for
from breakerlab.model.clock import Clock, utc_now
from breakerlab.model.config import BreakerConfig
from breakerlab.model.errors import InvalidConfigError
from breakerlab.model.events import StateChange
from breakerlab.model.states import State

from .calls import CallPath, CircuitBreakerError, calling_block, release_unsettled
from .exclusions import Exclusion, Exclusions
from .listener import CircuitBreakerListener, Hooks
from .states import STATE_CLOSED, STATE_HALF_OPEN, STATE_OPEN, CircuitBreakerState, state_name, state_objects
from .states import CircuitClosedState as CircuitClosedState
from .states import CircuitHalfOpenState as CircuitHalfOpenState
from .states import CircuitOpenState as CircuitOpenState
from .storage import CircuitBreakerStorage, CircuitMemoryStorage, CircuitRedisStorage, RuntimeBreaker

# pybreaker's __all__; its other public names (the state classes, CircuitBreakerStorage) are
# importable from here as from pybreaker.
__all__ = (
    "CircuitBreaker",
    "CircuitBreakerListener",
    "CircuitBreakerError",
    "CircuitMemoryStorage",
    "CircuitRedisStorage",
    "STATE_OPEN",
    "STATE_CLOSED",
    "STATE_HALF_OPEN",
)

P = ParamSpec("P")
R = TypeVar("R")

_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc_now() -> datetime:
    """The wall-clock time (``breakerlab.model.clock.utc_now``, the one place that reads it):
    read once per breaker, only to give ``opened_at`` as pybreaker does (a datetime); every
    time the breaker's rules use is on its monotonic clock."""
    return utc_now()


class Decorator(Protocol):
    """What ``breaker(**options)`` returns: a decorator keeping the function's signature."""

    def __call__(self, func: Callable[P, R], /) -> Callable[P, R]: ...


class _Relay:
    """The runtime breaker's listener: hands each state change on, until a rebuild (an option
    set before first use) retires it."""

    def __init__(self, heard: Callable[[StateChange], None]) -> None:
        self.heard = heard
        self.active = True

    def state_change(self, change: StateChange) -> None:
        if self.active:
            self.heard(change)


class CircuitBreaker:
    """pybreaker's ``CircuitBreaker``, backed by the verified runtime breaker.

    Args:
        fail_max: Consecutive failures that open the circuit (the ``fail_max``-th trips it).
        reset_timeout: Seconds the circuit stays open before a trial call is let through.
        success_threshold: Consecutive successful trial calls that close a half-open circuit.
        exclude: Exception classes, and callables taking the exception and returning true, for
            exceptions that are not failures: such a call counts as a success, as in pybreaker.
        listeners: ``CircuitBreakerListener`` objects.
        state_storage: ``CircuitMemoryStorage`` (default: this process) or ``CircuitRedisStorage``
            (shared through Redis).
        name: The breaker's name (for logs).
        throw_new_error_on_trip: The call whose failure opens the circuit raises
            ``CircuitBreakerError`` (else its own exception).
        clock: Extension, keyword only: the monotonic clock, in seconds, that the breaker's
            rules read (default ``MonotonicClock()``, or the Redis server's for a
            ``CircuitRedisStorage``); tests pass a ``ManualClock``.
        wall_clock: Extension, keyword only: returns the current time as an aware datetime;
            read once, at construction, to express ``opened_at`` (default: ``datetime.now(UTC)``).

    Raises:
        InvalidConfigError: an argument breaks its rule (``fail_max`` and ``success_threshold``
            ints >= 1, ``reset_timeout`` a finite number of seconds >= 0, ``exclude`` items
            exception classes or callables).
        TypeError: ``state_storage`` is not one of this module's storages.

    Every call is admitted, run and recorded by the runtime breaker outside any lock held
    across the call: one slow call never holds up another, and a half-open circuit rejects a
    call while its trial call is in flight (pybreaker makes it wait).
    """

    def __init__(
        self,
        fail_max: int = 5,
        reset_timeout: float = 60,
        success_threshold: int = 1,
        exclude: Iterable[Exclusion] | None = None,
        listeners: Iterable[CircuitBreakerListener] | None = None,
        state_storage: CircuitBreakerStorage | None = None,
        name: str | None = None,
        throw_new_error_on_trip: bool = True,
        *,
        clock: Clock | None = None,
        wall_clock: Callable[[], datetime] | None = None,
    ) -> None:
        if state_storage is None:
            state_storage = CircuitMemoryStorage(STATE_CLOSED)
        elif not isinstance(state_storage, CircuitBreakerStorage):
            raise TypeError(
                "'state_storage' must be CircuitMemoryStorage(...) or CircuitRedisStorage(...) from "
                f"breakerlab.compat.pybreaker (got {state_storage!r}); a storage of your own cannot hold "
                "the verified breaker's state"
            )
        self._storage = state_storage
        self._name = name
        self._options: dict[str, Any] = {
            "fail_max": fail_max, "reset_timeout": reset_timeout, "success_threshold": success_threshold,
        }
        self._exclusions = Exclusions(exclude or ())
        self._hooks = Hooks(self, listeners or ())
        self._states = state_objects(self)
        self._path = CallPath(self, self._hooks, self._states, bool(throw_new_error_on_trip))
        self._clock = clock
        self._wall_clock = wall_clock if wall_clock is not None else _utc_now
        self._relay: _Relay | None = None
        self._build()

    # -- the runtime breaker -------------------------------------------------------------------

    def _build(self) -> None:
        """Build the runtime breaker from the options (at construction, and when an option is
        set before first use)."""
        config = BreakerConfig.preset("pybreaker").replace(
            **self._options,
            # One trial call in flight at a time, as pybreaker's lock lets through (and
            # success_threshold of them in a row close the circuit).
            half_open_limit="concurrent",
            half_open_max_calls=1,
            is_failure=self._exclusions.is_failure,
            trip_error="circuit_open" if self._path.throw_new_error_on_trip else "original",
        )
        runtime_name = self._name if self._name is not None else "pybreaker"
        runtime, timebase = self._storage.build(self, config, clock=self._clock, name=runtime_name)
        if self._relay is not None:
            self._relay.active = False
        self._relay = _Relay(self._path.heard)
        runtime.add_listener(self._relay)
        self._runtime = runtime
        if timebase is None:
            self._wall_origin, self._clock_origin = _UNIX_EPOCH, 0.0
        else:
            self._clock_origin = timebase()
            self._wall_origin = self._wall_clock()
        # A memory storage may start open (a Redis storage starts closed, and is not read here:
        # a breaker is built while Redis is down too).
        self._path.ever_opened = self._storage.initial_state is State.OPEN

    @property
    def runtime(self) -> RuntimeBreaker:
        """Extension: the breakerlab breaker behind this one (``snapshot()``, ``stats``,
        ``force_open()``, its own listeners)."""
        return self._runtime

    # -- options -------------------------------------------------------------------------------

    def _set_option(self, name: str, value: object) -> None:
        """Set option ``name`` by rebuilding the runtime breaker, which is exact only before the
        breaker's first use (nothing counted yet)."""
        if self._path.used:
            raise InvalidConfigError(
                name, "set before the breaker's first call or manual state change", value,
                "the configuration of a breaker in use is fixed (its counts were made under it): "
                f"build a new CircuitBreaker({name}={value!r}, ...) instead",
            )
        previous = self._options[name]
        self._options[name] = value
        try:
            self._build()
        except BaseException:
            self._options[name] = previous
            raise

    @property
    def fail_max(self) -> int:
        """Consecutive failures that open the circuit. Settable before the breaker's first use."""
        return self._options["fail_max"]  # type: ignore[no-any-return]

    @fail_max.setter
    def fail_max(self, number: int) -> None:
        self._set_option("fail_max", number)

    @property
    def reset_timeout(self) -> float:
        """Seconds the circuit stays open. Settable before the breaker's first use."""
        return self._options["reset_timeout"]  # type: ignore[no-any-return]

    @reset_timeout.setter
    def reset_timeout(self, timeout: float) -> None:
        self._set_option("reset_timeout", timeout)

    @property
    def success_threshold(self) -> int:
        """Successful trial calls in a row that close the circuit. Settable before first use."""
        return self._options["success_threshold"]  # type: ignore[no-any-return]

    @success_threshold.setter
    def success_threshold(self, threshold: int) -> None:
        self._set_option("success_threshold", threshold)

    @property
    def name(self) -> str | None:
        """The name given (``None`` by default). Setting it changes this value only: the runtime
        breaker keeps the name it was built with (``"pybreaker"`` when none was given)."""
        return self._name

    @name.setter
    def name(self, name: str | None) -> None:
        self._name = name

    # -- exclusions ----------------------------------------------------------------------------

    @property
    def excluded_exceptions(self) -> tuple[Exclusion, ...]:
        """The exclusions, in the order given."""
        return self._exclusions.items

    def add_excluded_exception(self, exception: Exclusion) -> None:
        """Exclude ``exception`` (a class, or a callable taking the exception) from the next
        outcome on."""
        self._exclusions.add(exception)

    def add_excluded_exceptions(self, *exceptions: Exclusion) -> None:
        """Exclude each of ``exceptions``."""
        self._exclusions.add(*exceptions)

    def remove_excluded_exception(self, exception: Exclusion) -> None:
        """Stop excluding ``exception`` (``ValueError`` if it is not excluded)."""
        self._exclusions.remove(exception)

    def is_system_error(self, exception: BaseException) -> bool:
        """Whether ``exception`` counts as a failure (the runtime breaker's classification)."""
        return settlement_for(self._runtime.config, exception) is Settlement.FAILURE

    # -- listeners -----------------------------------------------------------------------------

    @property
    def listeners(self) -> tuple[object, ...]:
        """The registered listeners, in order."""
        return self._hooks.listeners

    def add_listener(self, listener: CircuitBreakerListener) -> None:
        """Register ``listener``."""
        self._hooks.add(listener)

    def add_listeners(self, *listeners: CircuitBreakerListener) -> None:
        """Register each of ``listeners``."""
        for listener in listeners:
            self._hooks.add(listener)

    def remove_listener(self, listener: CircuitBreakerListener) -> None:
        """Unregister ``listener`` (``ValueError`` if it is not registered)."""
        self._hooks.remove(listener)

    # -- reading -------------------------------------------------------------------------------

    @property
    def current_state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half-open"``."""
        return state_name(self._storage.read_state(self._runtime))

    @property
    def state(self) -> CircuitBreakerState:
        """The current state's object (its ``name`` is ``current_state``)."""
        return self._states[self._storage.read_state(self._runtime)]

    @property
    def fail_counter(self) -> int:
        """Consecutive failures counted towards ``fail_max`` (0 again once the circuit opens)."""
        snapshot = self._storage.read_snapshot(self._runtime)
        return 0 if snapshot is None else int(snapshot["consecutive_failures"])

    @property
    def success_counter(self) -> int:
        """Successful trial calls so far in the current half-open period (0 otherwise)."""
        snapshot = self._storage.read_snapshot(self._runtime)
        return 0 if snapshot is None else int(snapshot["probe_successes"])

    @property
    def opened_at(self) -> datetime | None:
        """When the circuit last opened, as an aware UTC datetime (``None`` before it first
        opened). The runtime breaker's time is converted with one offset between its clock and
        the wall clock, both read at construction, so it never jumps with the wall clock (for a
        ``CircuitRedisStorage`` on the Redis server's clock, it is that clock's Unix time)."""
        snapshot = self._storage.read_snapshot(self._runtime)
        if snapshot is None:
            return None
        if snapshot["state"] is State.OPEN:
            self._path.ever_opened = True
        if not self._path.ever_opened:
            return None
        return self._wall_origin + timedelta(seconds=float(snapshot["opened_at"]) - self._clock_origin)

    # -- manual control ------------------------------------------------------------------------

    def open(self) -> bool:
        """Open the circuit now, for ``reset_timeout`` (then a trial call is let through).
        Returns ``throw_new_error_on_trip``, as pybreaker does."""
        self._path.used = True
        self._runtime.trip()
        return self._path.throw_new_error_on_trip

    def half_open(self) -> None:
        """Half-open the circuit now: the next call is a trial call (nothing if half-open)."""
        self._path.used = True
        self._runtime.half_open()

    def close(self) -> None:
        """Close the circuit, clearing its counters."""
        self._path.used = True
        self._runtime.reset()

    # -- calls ---------------------------------------------------------------------------------

    def call(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Call ``func(*args, **kwargs)`` through the breaker and return its result.

        A generator returned by ``func`` is guarded until it ends: its outcome is recorded
        then (closed early, or never run, it is neither a success nor a failure).

        Raises:
            CircuitBreakerError: the call was rejected, or its failure opened the circuit
                (``throw_new_error_on_trip``).
        """
        runtime, path = self._runtime, self._path
        permit = path.admit(runtime, func, args, kwargs)
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            path.settle(runtime, permit, exc)
            raise
        if isinstance(result, types.GeneratorType):
            guarded = path.guard(runtime, permit, result)
            weakref.finalize(guarded, release_unsettled, runtime, permit)
            return guarded  # type: ignore[return-value]
        path.settle(runtime, permit, None)
        return result

    async def call_async(self, func: Callable[P, Awaitable[R]], *args: P.args, **kwargs: P.kwargs) -> R:
        """``await func(*args, **kwargs)`` through the breaker, as ``call`` does (asyncio; any
        awaitable works, so a Tornado coroutine on Tornado's asyncio loop too)."""
        runtime, path = self._runtime, self._path
        permit = path.admit(runtime, func, args, kwargs)
        try:
            result = await func(*args, **kwargs)
        except BaseException as exc:
            path.settle(runtime, permit, exc)
            raise
        path.settle(runtime, permit, None)
        return result

    @contextlib.contextmanager
    def calling(self) -> Iterator[None]:
        """``with breaker.calling():`` runs the block through the breaker, as ``call`` does
        (``before_call`` receives ``calling_block`` as the function)."""
        runtime, path = self._runtime, self._path
        permit = path.admit(runtime, calling_block, (), {})
        try:
            yield
        except GeneratorExit:
            release_unsettled(runtime, permit)
            raise
        except BaseException as exc:
            path.settle(runtime, permit, exc)
            raise
        path.settle(runtime, permit, None)

    @overload
    def __call__(self, func: Callable[P, R], /) -> Callable[P, R]: ...

    @overload
    def __call__(self, **options: bool) -> Decorator: ...

    def __call__(self, *call_args: Callable[..., Any], **options: bool) -> Any:
        """``@breaker`` or ``@breaker()``: every call of the function goes through the breaker;
        an ``async def`` is awaited through ``call_async``, as is any function decorated with
        ``@breaker(__pybreaker_call_async=True)`` (pybreaker's Tornado option).

        Raises:
            TypeError: another option, or more than one positional argument.
        """
        call_async = bool(options.pop("__pybreaker_call_async", False))
        if options or len(call_args) > 1:
            raise TypeError(
                "use @breaker, @breaker() or @breaker(__pybreaker_call_async=True) "
                f"(got {len(call_args)} positional arguments and the options {sorted(options)})"
            )

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            if call_async or inspect.iscoroutinefunction(func):

                @functools.wraps(func)
                async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                    return await self.call_async(func, *args, **kwargs)

                return async_wrapper

            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                return self.call(func, *args, **kwargs)

            return wrapper

        if call_args:
            return decorate(call_args[0])
        return decorate

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self._name!r} {self.current_state}>"

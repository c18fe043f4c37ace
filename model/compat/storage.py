"""pybreaker's state storages, as the choice of which runtime breaker holds the state.

In pybreaker a storage holds the breaker's state and counters, and the breaker's rules read
and write them. Here the state is the verified breaker's: a storage only says *which* one.

* ``CircuitMemoryStorage(state)``: the in-process ``breakerlab.runtime.CircuitBreaker``.
* ``CircuitRedisStorage(state, redis_object, ...)``: the breaker shared through Redis,
  ``breakerlab.runtime.shared.SharedCircuitBreaker`` (extra ``[redis]``), in which every event
  is one atomic script on the server.

Both hold their arguments and build the runtime breaker when a ``CircuitBreaker`` is given
them (``build``). Everything a storage builds satisfies ``RuntimeBreaker``, the part of the
runtime breakers' API that the compatibility layer drives.
"""

from __future__ import annotations

import abc
import weakref
from typing import Protocol, cast

from breakerlab.model.breaker import BreakerStats, Permit
from breakerlab.model.clock import Clock, MonotonicClock
from breakerlab.model.config import BreakerConfig
from breakerlab.model.errors import InvalidConfigError
from breakerlab.model.expr import Value
from breakerlab.model.states import State
from breakerlab.runtime import CircuitBreaker as RuntimeCircuitBreaker

from .states import STATE_CLOSED, STATE_HALF_OPEN, STATE_OPEN, model_state, state_name

__all__ = [
    "FALLBACK_POLICIES",
    "REDIS_BREAKER_NAME",
    "CircuitBreakerStorage",
    "CircuitMemoryStorage",
    "CircuitRedisStorage",
    "RuntimeBreaker",
]

#: pybreaker's ``fallback_circuit_state`` (what a breaker does while Redis cannot be reached)
#: and the shared breaker's ``on_store_error`` that does it. pybreaker's ``"half-open"``
#: fallback in effect admits every call (nothing it records can be stored, so it stays
#: half-open); its intent, a cautious fallback, is what ``"local"`` does: an in-process breaker
#: with the same configuration decides until the store is back.
FALLBACK_POLICIES: dict[str, str] = {
    STATE_CLOSED: "fail_open",
    STATE_OPEN: "fail_closed",
    STATE_HALF_OPEN: "local",
}

#: The name of every shared breaker a ``CircuitRedisStorage`` builds: as in pybreaker, the
#: Redis keys depend on the namespace alone (two breakers with the same namespace share one
#: state, whatever their names).
REDIS_BREAKER_NAME = "pybreaker"


class RuntimeBreaker(Protocol):
    """What the compatibility layer uses of a runtime breaker (``breakerlab.runtime.CircuitBreaker``
    and ``SharedCircuitBreaker`` both offer it)."""

    config: BreakerConfig
    name: str

    @property
    def state(self) -> State: ...

    @property
    def stats(self) -> BreakerStats: ...

    def snapshot(self) -> dict[str, Value]: ...

    def add_listener(self, listener: object) -> None: ...

    def acquire(self) -> Permit: ...

    def record_success(self, permit: Permit) -> None: ...

    def record_failure(self, permit: Permit, error: BaseException | None = None) -> None: ...

    def release(self, permit: Permit) -> None: ...

    def trip(self) -> None: ...

    def half_open(self) -> None: ...

    def reset(self) -> None: ...

    def force_open(self) -> None: ...

    def disable(self) -> None: ...


class CircuitBreakerStorage(abc.ABC):
    """Where a breaker's state lives: builds the runtime breaker that holds it.

    Attributes:
        name: ``"memory"`` or ``"redis"``, as in pybreaker.
        initial_state: The state a new breaker starts in.
    """

    name: str

    def __init__(self, state: str) -> None:
        self.initial_state: State = model_state(state)

    @abc.abstractmethod
    def build(
        self, owner: object, config: BreakerConfig, *, clock: Clock | None, name: str
    ) -> tuple[RuntimeBreaker, Clock | None]:
        """The runtime breaker for ``owner`` (a compat ``CircuitBreaker``) with ``config``, and
        the clock its times are read on (``None``: they are Unix time, in seconds)."""

    def read_state(self, runtime: RuntimeBreaker) -> State:
        """The state of ``runtime``, a breaker this storage built."""
        return runtime.state

    def read_snapshot(self, runtime: RuntimeBreaker) -> dict[str, Value] | None:
        """The formal state of ``runtime`` (``None``: it cannot be read now)."""
        return runtime.snapshot()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.initial_state.value!r})"


class CircuitMemoryStorage(CircuitBreakerStorage):
    """The state in this process: a ``breakerlab.runtime.CircuitBreaker``.

    Args:
        state: The initial state: ``"closed"``, ``"open"`` (opened at construction, for
            ``reset_timeout``) or ``"half-open"`` (the next call is a trial call).

    One storage serves one ``CircuitBreaker`` (pybreaker lets two breakers share a memory
    storage; here, to share a state, share the ``CircuitBreaker`` object itself).

    Raises:
        InvalidConfigError: ``state`` is not one of pybreaker's state names.
    """

    name = "memory"

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self._owner: weakref.ref[object] | None = None

    def build(
        self, owner: object, config: BreakerConfig, *, clock: Clock | None, name: str
    ) -> tuple[RuntimeBreaker, Clock | None]:
        """An in-process runtime breaker in ``initial_state``, on ``clock`` (default: monotonic).

        Raises:
            InvalidConfigError: this storage already serves another live ``CircuitBreaker``.
        """
        current = self._owner() if self._owner is not None else None
        if current is not None and current is not owner:
            raise InvalidConfigError(
                "state_storage", "a CircuitMemoryStorage that no other CircuitBreaker uses", self,
                "a memory storage is one in-process breaker: to share its state, share the CircuitBreaker object",
            )
        self._owner = weakref.ref(owner)
        clock = clock if clock is not None else MonotonicClock()
        breaker = RuntimeCircuitBreaker(config, clock=clock, name=name)
        if self.initial_state is State.OPEN:
            breaker.trip()
        elif self.initial_state is State.HALF_OPEN:
            breaker.half_open()
        return breaker, clock


class CircuitRedisStorage(CircuitBreakerStorage):
    """The state in Redis, shared by every process (and breaker) using the same ``namespace``:
    a ``breakerlab.runtime.shared.SharedCircuitBreaker`` (extra ``[redis]``).

    Args:
        state: ``"closed"`` (a shared breaker starts closed, unless another process has already
            changed it; open it with ``CircuitBreaker.open()``).
        redis_object: A ``redis.Redis`` client (``redis.StrictRedis`` is the same class).
        namespace: The key prefix; breakers with the same namespace share one state.
        fallback_circuit_state: What to do while Redis cannot be reached, as pybreaker's state
            names (mapped to the shared breaker's ``on_store_error`` by ``FALLBACK_POLICIES``).
        cluster_mode: Accepted for compatibility and not needed: the shared breaker's keys
            carry one hash tag, and each event is one script, on Redis Cluster too.

    Raises:
        InvalidConfigError: ``state`` is not ``"closed"``, or ``fallback_circuit_state`` is not a
            pybreaker state name.
    """

    name = "redis"

    def __init__(
        self,
        state: str,
        redis_object: object,
        namespace: str | None = None,
        fallback_circuit_state: str = STATE_CLOSED,
        cluster_mode: bool = False,
    ) -> None:
        super().__init__(state)
        if self.initial_state is not State.CLOSED:
            raise InvalidConfigError(
                "state", "'closed' for a CircuitRedisStorage", state,
                "the shared breaker starts closed unless another process has changed it; "
                "to open it, call breaker.open() once it is built",
            )
        fallback = model_state(fallback_circuit_state, "fallback_circuit_state")
        self.redis_object = redis_object
        self.namespace = namespace
        self.fallback_circuit_state = fallback_circuit_state
        self.cluster_mode = cluster_mode
        self.on_store_error: str = FALLBACK_POLICIES[state_name(fallback)]

    def build(
        self, owner: object, config: BreakerConfig, *, clock: Clock | None, name: str
    ) -> tuple[RuntimeBreaker, Clock | None]:
        """A ``SharedCircuitBreaker`` named ``REDIS_BREAKER_NAME`` under ``namespace``, on the
        Redis server's clock (Unix time) unless ``clock`` is given.

        Raises:
            ImportError: the ``redis`` package is missing (the message names the extra).
        """
        try:
            from breakerlab.runtime.shared import SharedCircuitBreaker
        except ImportError as exc:
            if "redis" not in (exc.name, getattr(exc.__cause__, "name", None)):
                raise
            raise ImportError(
                "CircuitRedisStorage needs the redis client: pip install 'breakerlab[redis]'", name="redis"
            ) from exc
        breaker = SharedCircuitBreaker(
            config,
            redis=self.redis_object,  # type: ignore[arg-type]  # SharedCircuitBreaker checks it is a redis.Redis
            name=REDIS_BREAKER_NAME,
            namespace=self.namespace,
            on_store_error=self.on_store_error,
            clock=clock,
        )
        return cast(RuntimeBreaker, breaker), clock

    def read_state(self, runtime: RuntimeBreaker) -> State:
        """The shared state; while Redis cannot be reached, ``fallback_circuit_state`` (what
        calls then meet, by ``FALLBACK_POLICIES``), as pybreaker reports it."""
        from breakerlab.runtime.shared import StoreError

        try:
            return runtime.state
        except StoreError:
            return model_state(self.fallback_circuit_state)

    def read_snapshot(self, runtime: RuntimeBreaker) -> dict[str, Value] | None:
        """The shared formal state; ``None`` while Redis cannot be reached (pybreaker then
        reports zero counts and no ``opened_at``)."""
        from breakerlab.runtime.shared import StoreError

        try:
            return runtime.snapshot()
        except StoreError:
            return None

    def __repr__(self) -> str:
        return (
            f"CircuitRedisStorage({self.initial_state.value!r}, {self.redis_object!r}, namespace={self.namespace!r}, "
            f"fallback_circuit_state={self.fallback_circuit_state!r})"
        )

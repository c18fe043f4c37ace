"""``SharedCircuitBreaker``: one breaker shared by every process and thread that names it.

The breaker's whole state (the table's formal variables, its trip window, its outstanding
permits, its totals) lives in Redis, and every event is one atomic run of the script generated
from the transition table (``lua.py``): two processes can never both take the last half-open
slot, and no outcome is lost between a read and a write, because there is no read and write
on the client, only the event on the server.

What it adds around the store:

* **One clock**: the Redis server's (``TIME``), read inside the event, so callers whose own
  clocks disagree still see one deadline. A caller may instead give ``clock=`` (a clock every
  caller shares, e.g. a ``ManualClock`` in tests); time never runs back either way.
* **Permits across processes**: an admission carries the fleet-wide permit id and the
  generation that admitted it; a late result from an earlier generation is handled by the
  table's late-result rows exactly as in one process. Settling is idempotent on the server,
  so a settlement whose reply was lost is sent again safely.
* **Store errors** (down, slow, restarting) follow ``on_store_error``: ``"fail_open"`` (admit,
  unguarded), ``"fail_closed"`` (reject with ``StoreUnavailableError``) or ``"local"`` (a
  per-process breaker with the same configuration takes over). Each failure skips the store for
  ``store_retry_s``. A settlement of a shared permit that cannot be sent is kept and sent before
  the next event that reaches the store, so nothing is lost, and nothing is counted twice.
"""

from __future__ import annotations

import enum
import itertools
import math
import random
import secrets
import threading
from typing import Any, ParamSpec, TypeVar

import redis

from breakerlab.model.breaker import BreakerStats, Permit
from breakerlab.model.classify import Settlement, settlement_for, settlement_for_result
from breakerlab.model.clock import Clock, MonotonicClock
from breakerlab.model.config import BreakerConfig
from breakerlab.model.errors import BreakerError, CircuitOpenError, PermitError
from breakerlab.model.events import Outcome, Rejection, StateChange
from breakerlab.model.expr import Value
from breakerlab.model.listeners import Listeners
from breakerlab.model.permit import require_error, require_permit
from breakerlab.model.rejection import remaining_s, trip_error_for
from breakerlab.model.states import State
from breakerlab.model.table import TABLE, Table, Verdict
from breakerlab.runtime import CircuitBreaker
from breakerlab.runtime.calling import ProtectedCalls
from breakerlab.runtime.eventlog import EventLogTarget, Record, header, open_sink

from .store import EventReply, RedisStore, StoreError

__all__ = ["SharedCircuitBreaker", "SharedPermit", "StoreErrorPolicy", "StoreUnavailableError"]

P = ParamSpec("P")
R = TypeVar("R")


class StoreErrorPolicy(enum.StrEnum):
    """What a shared breaker does with a call while its store cannot be reached."""

    FAIL_OPEN = "fail_open"
    """Admit the call unguarded (its outcome is counted nowhere but ``unguarded_calls``)."""
    FAIL_CLOSED = "fail_closed"
    """Reject the call with ``StoreUnavailableError`` (a ``CircuitOpenError``)."""
    LOCAL = "local"
    """Let a per-process breaker with the same configuration decide, until the store returns."""


class StoreUnavailableError(CircuitOpenError):
    """A call rejected because the shared breaker's store could not be reached
    (``on_store_error="fail_closed"``); ``remaining_s`` is the time until the store is tried again."""

    def __str__(self) -> str:
        return f"shared breaker store unavailable: call rejected (store tried again in {self.remaining_s:.3g} s)"


class SharedPermit(Permit):
    """A permit of a shared breaker.

    Attributes:
        token: The name this process gave the admission (what its settlement names).
        where: ``"shared"`` (admitted by the store: ``id`` is fleet-wide), ``"local"``
            (admitted by the per-process fallback breaker) or ``"unguarded"`` (admitted
            without a breaker under ``fail_open``).
        local: The fallback breaker's own permit (``where == "local"``).
    """

    __slots__ = ("token", "where", "local", "settled_as")

    def __init__(
        self, id: int, admission: tuple[int, State, bool, float], owner: object, where: str, token: str = ""
    ) -> None:
        super().__init__(id, admission, owner)
        self.token = token
        self.where = where
        self.local: Permit | None = None
        self.settled_as = ""


class _Forward:
    """Passes the local fallback breaker's notifications to the shared breaker's listeners."""

    def __init__(self, listeners: Listeners) -> None:
        self._listeners = listeners

    def state_change(self, change: StateChange) -> None:
        if self._listeners.state_change:
            self._listeners.notify(self._listeners.state_change, change)

    def rejection(self, rejection: Rejection) -> None:
        if self._listeners.rejection:
            self._listeners.notify(self._listeners.rejection, rejection)

    def success(self, outcome: Outcome) -> None:
        if self._listeners.success:
            self._listeners.notify(self._listeners.success, outcome)

    def failure(self, outcome: Outcome) -> None:
        if self._listeners.failure:
            self._listeners.notify(self._listeners.failure, outcome)


_KNOWN_OPTIONS = frozenset(BreakerConfig.__dataclass_fields__)


def _config(config: BreakerConfig | None, options: dict[str, Any]) -> BreakerConfig:
    if options:
        unknown = sorted(set(options) - _KNOWN_OPTIONS)
        if unknown:
            raise TypeError(
                f"unknown breaker option(s) {', '.join(unknown)}; valid: {', '.join(sorted(_KNOWN_OPTIONS))}"
            )
        if config is not None:
            raise TypeError("give either config=BreakerConfig(...) or option keywords (fail_max=5, ...), not both")
        return BreakerConfig(**options)
    if config is not None and not isinstance(config, BreakerConfig):
        raise TypeError(f"'config' must be a BreakerConfig, e.g. BreakerConfig(fail_max=3) (got {config!r})")
    return config if config is not None else BreakerConfig()


class SharedCircuitBreaker(ProtectedCalls[SharedPermit]):
    """A circuit breaker whose state is shared through Redis by every process naming it.

    Args:
        config: Options (or give them as keywords: ``fail_max=5, reset_timeout=60``). Every
            process sharing ``name`` must use the same configuration (checked: a process with
            another is refused with ``ConfigMismatchError``).
        redis: A ``redis.Redis`` client (its connection settings are used; see ``RedisStore``).
        name: The breaker's name: its keys are ``[namespace:]breakerlab:{name}:*``.
        namespace: A key prefix, e.g. one per environment.
        on_store_error: ``"fail_open"``, ``"fail_closed"`` or ``"local"`` (see ``StoreErrorPolicy``).
        store_timeout_s: How long one event may take on the store before it is a store error.
        store_retry_s: After a store error, how long calls skip the store before trying again.
        permit_expiry_s: Outstanding permits older than this are forgotten (``None``: never).
        clock: ``None`` (the Redis server's clock), or a clock shared by every caller.
        event_log: Log every event this process performs (a path, a text stream or a callable
            taking a record). Records carry the breaker's fleet-wide ``seq``: merge the logs of
            all processes with ``merge_event_logs`` and ``breakerlab replay`` the result.
        table: The transition table (``TABLE``).

    Raises:
        TypeError: a bad ``config``, ``redis`` client or option keyword.
        ValueError: a bad name, policy or duration.
    """

    def __init__(
        self,
        config: BreakerConfig | None = None,
        *,
        redis: redis.Redis,
        name: str = "breaker",
        namespace: str | None = None,
        on_store_error: str = "local",
        store_timeout_s: float = 0.25,
        store_retry_s: float = 1.0,
        permit_expiry_s: float | None = 3600.0,
        clock: Clock | None = None,
        event_log: EventLogTarget | None = None,
        table: Table = TABLE,
        **options: Any,
    ) -> None:
        self.config = _config(config, options)
        self.name = name
        try:
            self.on_store_error = StoreErrorPolicy(on_store_error)
        except ValueError:
            raise ValueError(
                f"'on_store_error' must be one of {', '.join(p.value for p in StoreErrorPolicy)} "
                f"(got {on_store_error!r})"
            ) from None
        if not (isinstance(store_retry_s, int | float) and 0 <= store_retry_s < math.inf):
            raise ValueError(f"'store_retry_s' must be a number of seconds >= 0, e.g. 1.0 (got {store_retry_s!r})")
        if clock is not None and not callable(clock):
            raise TypeError(f"'clock' must be None (the Redis server's clock) or a callable returning seconds (got {clock!r})")
        self._table = table
        self._store = RedisStore(
            redis, name, self.config, namespace=namespace, timeout_s=store_timeout_s,
            permit_expiry_s=permit_expiry_s, table=table,
        )
        self._clock = clock
        self._local_clock: Clock = clock if clock is not None else MonotonicClock()
        self._retry_s = float(store_retry_s)
        self._store_skipped_until = -math.inf
        self._local: CircuitBreaker | None = None
        if self.on_store_error is StoreErrorPolicy.LOCAL:
            self._local = CircuitBreaker(self.config, clock=self._local_clock, name=f"{name} (local)", table=table)
        self._rng = random.Random(self.config.jitter_seed)
        self._listeners = Listeners(name)
        if self._local is not None:
            # this process's listeners hear the local breaker's events too
            self._local.add_listener(_Forward(self._listeners))
        self._lock = threading.Lock()
        # Settlements (trigger, permit, token) not sent yet: of shared permits settled while the
        # store was unavailable, and releases of admissions whose reply was lost (permit None).
        self._pending: list[tuple[str, SharedPermit | None, str]] = []
        self._token_prefix = secrets.token_hex(8)
        self._tokens = itertools.count(1)
        self.unguarded_calls = 0
        self.store_errors = 0
        self._init_calls(name)
        self._sink, self._owned_log = open_sink(event_log)
        if self._sink is not None:
            self._sink(header(self.config, name))

    # -- the store ---------------------------------------------------------------------------

    @property
    def store(self) -> RedisStore:
        """The Redis store of this breaker."""
        return self._store

    @property
    def local(self) -> CircuitBreaker | None:
        """The per-process breaker used while the store is unavailable (``on_store_error="local"``)."""
        return self._local

    @property
    def pending_settlements(self) -> int:
        """Settlements of shared permits kept while the store was unavailable, not yet sent."""
        with self._lock:
            return len(self._pending)

    def _now(self) -> float | None:
        return None if self._clock is None else self._clock()

    def _jitter(self) -> float:
        ratio = self.config.jitter_ratio
        if ratio <= 0:
            return 0.0
        with self._lock:
            return self._rng.random() * ratio

    def _perform(
        self,
        trigger: str,
        permit: SharedPermit | None = None,
        *,
        token: str = "",
        only_if_due: bool = False,
        full: bool = False,
    ) -> EventReply:
        """Perform one event on the store (sending kept settlements first), then log it and
        notify this process's listeners. Raises ``StoreError`` if the store failed."""
        if self._local_clock() < self._store_skipped_until:
            raise StoreError(f"the Redis store of breaker {self.name!r} failed recently; skipped for now")
        self.flush()
        if permit is not None:
            token = permit.token
        try:
            reply = self._send(trigger, token, only_if_due=only_if_due, full=full)
        except StoreError:
            if trigger == "acquire":
                # The admission may have run with its reply lost: release it when the store
                # returns (a release of an admission that never ran changes nothing).
                with self._lock:
                    self._pending.append(("release", None, token))
            raise
        if reply.performed:
            self._after(reply, permit, token)
        return reply

    def _send(self, trigger: str, token: str, *, only_if_due: bool = False, full: bool = False) -> EventReply:
        try:
            return self._store.perform(
                trigger, now=self._now(), token=token, jitter=self._jitter(), only_if_due=only_if_due,
                full=full or self._sink is not None,  # the event log records every variable
            )
        except StoreError:
            with self._lock:
                self.store_errors += 1
                self._store_skipped_until = self._local_clock() + self._retry_s
            raise

    def flush(self) -> int:
        """Send the settlements kept while the store was unavailable, oldest first; returns
        how many were sent (a kept settlement that fails again stays kept).

        Raises:
            StoreError: the store failed again (what was sent before stays sent).
        """
        sent = 0
        while True:
            with self._lock:
                if not self._pending:
                    return sent
                trigger, permit, token = self._pending[0]
            reply = self._send(trigger, token)
            with self._lock:
                if self._pending and self._pending[0][2] == token:
                    self._pending.pop(0)
            if reply.performed:
                self._after(reply, permit, token)
            sent += 1

    def _after(self, reply: EventReply, permit: SharedPermit | None, token: str) -> None:
        row = self._table.rows[reply.row]
        change: StateChange | None = None
        if row.dest is not None:
            change = StateChange(reply.now, reply.source, reply.state, row.cause, int(reply.variables["generation"]), reply.trigger)
        if self._sink is not None:
            self._log(reply, permit, change)
        listeners = self._listeners
        if reply.trigger in ("record_success", "record_failure") and reply.held is not None:
            callbacks = listeners.success if reply.trigger == "record_success" else listeners.failure
            if callbacks:
                generation, permit_state, admitted_at = reply.held
                outcome = Outcome(
                    reply.now, reply.source, reply.source_generation, permit_state,
                    generation != reply.source_generation, reply.now - admitted_at,
                )
                listeners.notify(callbacks, outcome)
        if change is not None and listeners.state_change:
            listeners.notify(listeners.state_change, change)
        if row.verdict is Verdict.REJECT and listeners.rejection:
            rejection = Rejection(reply.now, reply.state, self._remaining(reply), row.cause)
            listeners.notify(listeners.rejection, rejection)

    def _remaining(self, reply: EventReply) -> float:
        return remaining_s(reply.state, float(reply.variables["open_until"]), reply.now)

    def _log(self, reply: EventReply, permit: SharedPermit | None, change: StateChange | None) -> None:
        event = reply.trigger
        if permit is not None and event == "record_failure" and permit.settled_as == "record_success":
            event = "record_success"  # a success over call_timeout: logged as what the caller reported
        record: Record = {
            "seq": reply.seq,
            "t": reply.now,
            "event": event,
            "permit": reply.permit,
            "permit_generation": reply.held[0] if reply.held is not None else None,
            "permit_state": reply.held[1].value if reply.held is not None else None,
            "verdict": None,
            "source": reply.source.value,
            "dest": reply.state.value,
            "generation": reply.variables["generation"],
            "cause": change.cause if change is not None else None,
            "counters": dict(reply.variables),
        }
        if event == "acquire":
            verdict = self._table.rows[reply.row].verdict
            assert verdict is not None
            record["verdict"] = verdict.value
            if verdict is Verdict.REJECT:
                record["remaining_s"] = self._remaining(reply)
        assert self._sink is not None
        self._sink(record)

    # -- reading -----------------------------------------------------------------------------

    def _read(self, *, full: bool = False) -> EventReply:
        """The breaker as it is now, after the time-driven transition that is due (performed
        as a ``poll`` event); ``full``: with every formal variable."""
        return self._perform("poll", only_if_due=True, full=full)

    @property
    def state(self) -> State:
        """The shared state, after the due time-driven transition. While the store is
        unavailable: the local breaker's state (``on_store_error="local"``), else ``StoreError``."""
        try:
            return self._read().state
        except StoreError:
            if self._local is not None:
                return self._local.state
            raise

    def snapshot(self) -> dict[str, Value]:
        """The shared formal state (``state`` plus every table variable), read atomically."""
        reply = self._read(full=True)
        return {"state": reply.state, **reply.variables}

    def time_until_half_open(self) -> float:
        """Seconds until a probe can be admitted (0 unless open; ``inf`` when forced open)."""
        return self._remaining(self._read())

    @property
    def stats(self) -> BreakerStats:
        """The shared breaker's totals, over every process."""
        values = self._store.stats()
        return BreakerStats(**values)

    def add_listener(self, listener: object) -> None:
        """Register ``listener`` (``state_change``, ``rejection``, ``success``, ``failure``, each
        optional) for the events *this process* performs (another process's listeners hear
        its own). A listener's error is logged, never raised."""
        with self._lock:
            self._listeners.add(listener)

    # -- events ------------------------------------------------------------------------------

    def acquire(self) -> SharedPermit:
        """Ask to make a call: a ``SharedPermit``, or ``CircuitOpenError``."""
        token = f"{self._token_prefix}:{next(self._tokens)}"
        try:
            reply = self._perform("acquire", token=token)
        except StoreError:
            return self._acquire_without_store()
        verdict = self._table.rows[reply.row].verdict
        if verdict is Verdict.REJECT:
            raise CircuitOpenError(self._remaining(reply), reply.state)
        assert reply.permit is not None
        admission = (int(reply.variables["generation"]), reply.state, verdict is Verdict.ADMIT_PROBE, reply.now)
        return SharedPermit(reply.permit, admission, self, "shared", token)

    def _permit(self, id: int, admission: tuple[int, State, bool, float], where: str) -> SharedPermit:
        return SharedPermit(id, admission, self, where)

    def _acquire_without_store(self) -> SharedPermit:
        policy = self.on_store_error
        if policy is StoreErrorPolicy.FAIL_CLOSED:
            raise StoreUnavailableError(max(0.0, self._store_skipped_until - self._local_clock()), State.OPEN)
        if policy is StoreErrorPolicy.FAIL_OPEN:
            with self._lock:
                self.unguarded_calls += 1
            return self._permit(0, (-1, State.CLOSED, False, self._local_clock()), "unguarded")
        assert self._local is not None
        local = self._local.acquire()
        permit = self._permit(local.id, local.admission, "local")
        permit.local = local
        return permit

    def record_success(self, permit: SharedPermit) -> None:
        """The call succeeded (a failure if it overran ``call_timeout``)."""
        self._settle(permit, Settlement.SUCCESS.value)

    def record_failure(self, permit: SharedPermit, error: BaseException | None = None) -> None:
        """The call failed; ``error`` is classified first (see ``Breaker.settle_exception``)."""
        require_error(error)
        trigger = Settlement.FAILURE if error is None else settlement_for(self.config, error)
        self._settle(permit, trigger.value)

    def release(self, permit: SharedPermit) -> None:
        """Settle without an outcome (excluded error, cancellation)."""
        self._settle(permit, Settlement.DISCARD.value)

    def _settle(self, permit: SharedPermit, trigger: str) -> tuple[StateChange | None, float]:
        """Settle ``permit``; the state change it caused (if the store performed it now) and
        ``open_until`` after it."""
        require_permit(permit)
        if permit.owner is not self or not isinstance(permit, SharedPermit):
            raise PermitError(f"{permit!r} was issued by another breaker; settle it with the breaker that issued it")
        with self._lock:
            if permit.settled:
                raise PermitError(f"{permit!r} was already settled: record each call's outcome exactly once")
            permit.settled = True
            permit.settled_as = trigger
        if permit.where == "unguarded":
            return None, 0.0
        if permit.where == "local":
            assert self._local is not None and permit.local is not None
            getattr(self._local, trigger)(permit.local)
            return None, 0.0
        try:
            reply = self._perform(trigger, permit)
        except StoreError:
            with self._lock:
                self._pending.append((trigger, permit, permit.token))
            return None, 0.0
        open_until = float(reply.variables["open_until"])
        row = self._table.rows[reply.row] if reply.performed else None
        if row is None or row.dest is None:
            return None, open_until
        change = StateChange(reply.now, reply.source, reply.state, row.cause, int(reply.variables["generation"]), reply.trigger)
        return change, open_until

    def _manual(self, trigger: str) -> None:
        try:
            self._perform(trigger)
        except StoreError as exc:
            raise BreakerError(
                f"{trigger}() on shared breaker {self.name!r} needs its store, which is unavailable: {exc}"
            ) from exc

    def poll(self) -> None:
        """Let time-driven transitions happen (reading ``state`` does it when one is due)."""
        self._manual("poll")

    def force_open(self) -> None:
        """Reject every call, in every process, until ``reset()`` or ``disable()``."""
        self._manual("force_open")

    def disable(self) -> None:
        """Admit every call and count nothing, in every process, until ``reset()`` or ``force_open()``."""
        self._manual("disable")

    def reset(self) -> None:
        """Close, clearing every counter, the window and the backoff, for every process."""
        self._manual("reset")

    def trip(self) -> None:
        """Open now, as a tripped breaker does (half-open after the open duration)."""
        self._manual("trip")

    def half_open(self) -> None:
        """Enter half-open now (the next calls are probes)."""
        self._manual("half_open")

    # -- protected calls ---------------------------------------------------------------------

    def _settle_error(self, permit: SharedPermit, exc: BaseException, *, force_failure: bool = False) -> None:
        trigger = Settlement.FAILURE if force_failure else settlement_for(self.config, exc)
        error = trip_error_for(self.config, *self._settle(permit, trigger.value))
        if error is not None:
            raise error from exc

    def _settle_result(self, permit: SharedPermit, result: object) -> None:
        try:
            settlement = settlement_for_result(self.config, result)
        except BaseException:
            self._settle(permit, Settlement.DISCARD.value)
            raise
        error = trip_error_for(self.config, *self._settle(permit, settlement.value))
        if error is not None:
            raise error

    def _settle_success(self, permit: SharedPermit) -> None:
        self._settle(permit, Settlement.SUCCESS.value)

    def close(self) -> None:
        """Flush and close the event log this breaker opened, and the store's connections."""
        if self._owned_log is not None:
            self._owned_log.close()
        self._store.close()

    def __repr__(self) -> str:
        return f"<SharedCircuitBreaker {self.name!r} on {self._store.keys[0]}>"

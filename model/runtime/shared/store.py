"""One breaker's state in Redis, changed only by the generated script (``lua.py``).

``RedisStore`` owns the keys of one breaker name, loads the generated function library, runs
one event at a time as one ``FCALL`` and parses the reply. It never retries an event on its own: a retried admission whose first
attempt did run on the server would admit a second call (and take a second half-open slot), so
the client is built with retries off and the caller decides (``SharedCircuitBreaker`` re-sends
only settlements, which the script recognises when they arrive twice).
"""

from __future__ import annotations

import dataclasses
import re
import threading
from typing import Any, cast

import redis
import redis.exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry

from breakerlab.model.config import BreakerConfig
from breakerlab.model.expr import Value
from breakerlab.model.states import State
from breakerlab.model.table import TABLE, Table

from .lua import INTEGER_VARIABLES, REPLY_FIELDS, STATS_FIELDS, SharedScript, shared_script

__all__ = ["ConfigMismatchError", "EventReply", "RedisStore", "StoreError", "keys_for"]

#: What a breaker name or namespace may contain (it becomes part of Redis keys).
_NAME = re.compile(r"^[A-Za-z0-9_.:/-]{1,200}$")

#: Errors of the store (the server down, slow, restarting, or refusing the script).
STORE_ERRORS: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)


class StoreError(Exception):
    """The store could not perform an event (unreachable, too slow, loading, or an error)."""


class ConfigMismatchError(ValueError):
    """The breaker in Redis was created by a process with another configuration or table."""


def keys_for(name: str, namespace: str | None = None) -> tuple[str, str, str, str]:
    """The keys of breaker ``name``: its hash, trip window, outstanding permits and their details.

    The name is in braces (a Redis Cluster hash tag), so the keys live on one node and one
    script can change them together.

    Raises:
        ValueError: ``name`` or ``namespace`` is empty, too long, or has characters other than
            letters, digits and ``_ . : / -``.
    """
    for field, value in (("name", name), ("namespace", namespace)):
        if value is not None and not _NAME.match(value):
            raise ValueError(
                f"{field} {value!r} cannot name Redis keys: use 1-200 letters, digits or _ . : / - "
                "(e.g. name='payments-api')"
            )
    prefix = f"{namespace}:" if namespace else ""
    base = f"{prefix}breakerlab:{{{name}}}"
    return f"{base}:state", f"{base}:window", f"{base}:permits", f"{base}:tokens"


@dataclasses.dataclass(frozen=True, slots=True)
class EventReply:
    """What the script did with one event.

    Attributes:
        status: ``ok`` (performed), ``duplicate`` (a settlement of a permit that is not
            outstanding: already settled, or expired; nothing changed), ``not_due`` (a poll
            that would have changed nothing, so it was not performed).
        row: Index of the table row taken (-1: none).
        trigger: The trigger performed (``record_failure`` for a success over ``call_timeout``).
        source: The state before the event.
        state: The state after it.
        seq: The event's number in the breaker's history (of the latest event if not performed).
        now: The time the event was performed at (server time unless the caller gave one).
        permit: The fleet-wide id of the permit admitted or settled (``None`` otherwise).
        source_generation: The generation before the event.
        held: For a settlement: the permit's ``(generation, admitting state, admitted at)``
            as the store recorded them at its admission (``None`` otherwise).
        variables: Every formal state variable after the event.
    """

    status: str
    row: int
    trigger: str
    source: State
    state: State
    seq: int
    now: float
    permit: int | None
    source_generation: int
    held: tuple[int, State, float] | None
    variables: dict[str, Value]

    @property
    def performed(self) -> bool:
        """Whether the event was performed (it changed the breaker's history)."""
        return self.status == "ok"


def _value(name: str, text: str | int) -> Value:
    if name in INTEGER_VARIABLES:
        return int(text)
    return float(text)


class RedisStore:
    """The state of breaker ``name`` (under ``namespace``) on a Redis server.

    Args:
        client: A ``redis.Redis`` client. Its connection settings are reused by a client of
            this store's own, with ``timeout_s`` as its socket timeouts and retries off.
        name: The breaker's name: processes using the same name share one breaker.
        config: The configuration; every process sharing ``name`` must use the same one.
        namespace: A prefix for the keys (e.g. one per environment).
        timeout_s: How long an event may take before it is a store error.
        permit_expiry_s: Forget outstanding permits older than this (a process that died
            never settles its permits); ``None``: keep them.
        table: The transition table (``TABLE``).
    """

    def __init__(
        self,
        client: redis.Redis,
        name: str,
        config: BreakerConfig,
        *,
        namespace: str | None = None,
        timeout_s: float = 0.25,
        permit_expiry_s: float | None = 3600.0,
        table: Table = TABLE,
    ) -> None:
        if not isinstance(client, redis.Redis):
            raise TypeError(
                f"'redis' must be a redis.Redis client, e.g. redis.Redis(host='localhost') (got {client!r})"
            )
        if not (isinstance(timeout_s, int | float) and 0 < timeout_s < float("inf")):
            raise ValueError(f"'store_timeout_s' must be a positive number of seconds, e.g. 0.25 (got {timeout_s!r})")
        if permit_expiry_s is not None and not (isinstance(permit_expiry_s, int | float) and permit_expiry_s > 0):
            raise ValueError(f"'permit_expiry_s' must be a positive number of seconds or None (got {permit_expiry_s!r})")
        self.keys = keys_for(name, namespace)
        self.name = name
        self.script: SharedScript = shared_script(config, table)
        settings: dict[str, Any] = dict(client.connection_pool.connection_kwargs)
        # No retries anywhere: re-sending an admission whose reply was lost would admit twice.
        settings.update(
            socket_timeout=timeout_s, socket_connect_timeout=timeout_s, retry_on_timeout=False,
            retry_on_error=[], retry=Retry(NoBackoff(), 0),
        )
        pool = client.connection_pool.__class__(
            connection_class=client.connection_pool.connection_class, **settings
        )
        self.client = redis.Redis(connection_pool=pool, retry=Retry(NoBackoff(), 0))
        self._pool = pool
        # Each thread keeps one connection of the pool for its events: a command sent on it
        # directly costs a third of the client's usual path (no pool round per command).
        self._connections = threading.local()
        self._loaded = False
        self._permit_expiry = "" if permit_expiry_s is None else repr(float(permit_expiry_s))

    def perform(
        self,
        trigger: str,
        *,
        now: float | None = None,
        token: str = "",
        jitter: float = 0.0,
        only_if_due: bool = False,
        full: bool = False,
    ) -> EventReply:
        """Perform one event atomically on the server.

        Args:
            trigger: A trigger of the table.
            now: The event's time (``None``: the server's clock).
            token: For an admission, the caller's unique name for it; for a settlement, the
                token of the admission it settles (the store knows the rest).
            jitter: The fraction added to an opening's duration, if this event opens the breaker.
            only_if_due: For a poll: perform it only if it changes the state.
            full: Reply with every formal variable (else only ``generation`` and
                ``open_until``, what an event's caller needs: less work on the server).

        Raises:
            StoreError: the store could not perform it (the event may or may not have happened).
            ConfigMismatchError: the breaker in Redis has another configuration.
        """
        args = [
            trigger,
            "" if now is None else repr(float(now)),
            token,
            repr(float(jitter)),
            "1" if only_if_due else "",
            self._permit_expiry,
            self.script.digest,
            "1" if full else "",
        ]
        try:
            if not self._loaded:
                self._load()
            try:
                raw = self._fcall(args)
            except redis.exceptions.ResponseError as exc:
                if "function not found" not in str(exc).lower():
                    raise
                # the server lost the library (a restart without persistence): the event did
                # not run, so loading it again and sending the event once more is safe
                self._load()
                raw = self._fcall(args)
        except STORE_ERRORS as exc:
            raise StoreError(f"the Redis store of breaker {self.name!r} failed: {exc!r}") from exc
        reply = [item.decode() if isinstance(item, bytes) else item for item in raw]
        if reply[0] == "mismatch":
            raise ConfigMismatchError(
                f"breaker {self.name!r} in Redis ({self.keys[0]}) was created with another configuration "
                f"or table (script {reply[1][:12]}, this process {self.script.digest[:12]}): give every process "
                "sharing it the same BreakerConfig, or use another name"
            )
        fixed = len(REPLY_FIELDS)
        return EventReply(
            status=reply[0],
            row=int(reply[1]),
            trigger=reply[2],
            source=State(reply[3]),
            state=State(reply[4]),
            seq=int(reply[5]),
            now=float(reply[6]),
            permit=int(reply[7]) if reply[7] != "" else None,
            source_generation=int(reply[8]),
            held=(int(reply[9]), State(reply[10]), float(reply[11])) if reply[9] != "" else None,
            variables=(
                {name: _value(name, text) for name, text in zip(self.script.variables, reply[fixed:])}
                if full
                else {"generation": int(reply[fixed]), "open_until": float(reply[fixed + 1])}
            ),
        )

    def _fcall(self, args: list[str]) -> list[Any]:
        """Call the library's function on this thread's connection (reconnecting if it was
        dropped); on a connection error or timeout the connection is dropped and the error
        raised (the event may or may not have run)."""
        connection = getattr(self._connections, "connection", None)
        if connection is None:
            connection = self._connections.connection = self._pool.get_connection()
        try:
            connection.send_command("FCALL", self.script.function, len(self.keys), *self.keys, *args)
            return cast(list[Any], connection.read_response())
        except redis.exceptions.ResponseError:
            raise  # an error reply: the connection is fine
        except BaseException:
            connection.disconnect()  # a half-read reply must not be read by the next event
            raise

    def _load(self) -> None:
        """Load the generated function library (once per server: a library of the same name
        is the same code, since the name carries the code's digest)."""
        try:
            self.client.function_load(self.script.source)
        except redis.exceptions.ResponseError as exc:
            if "already exists" not in str(exc):
                raise
        self._loaded = True

    def _peek(self) -> list[Any] | None:
        """The stored breaker's reply to ``peek`` (every variable, then the totals), performing
        nothing; ``None`` before its first event."""
        try:
            if not self._loaded:
                self._load()
            args = ["peek", "", "", "0", "", "", self.script.digest, "1"]
            raw = self._fcall(args)
        except STORE_ERRORS as exc:
            raise StoreError(f"the Redis store of breaker {self.name!r} failed: {exc!r}") from exc
        reply = [item.decode() if isinstance(item, bytes) else item for item in raw]
        if reply[0] == "absent":
            return None
        if reply[0] == "mismatch":
            raise ConfigMismatchError(
                f"breaker {self.name!r} in Redis ({self.keys[0]}) was created with another configuration"
            )
        return reply

    def stats(self) -> dict[str, int]:
        """The breaker's totals (``BreakerStats`` fields), read without performing an event."""
        reply = self._peek()
        if reply is None:
            return dict.fromkeys(STATS_FIELDS, 0)
        totals = reply[len(REPLY_FIELDS) + len(self.script.variables):]
        return {name: int(value) for name, value in zip(STATS_FIELDS, totals)}

    def read(self) -> dict[str, Value] | None:
        """The stored state (``state`` and every formal variable) as it is, performing nothing
        (no due transition either): ``None`` before the breaker's first event."""
        reply = self._peek()
        if reply is None:
            return None
        result: dict[str, Value] = {"state": State(reply[4])}
        fixed = len(REPLY_FIELDS)
        for name, value in zip(self.script.variables, reply[fixed:]):
            result[name] = _value(name, value)
        return result

    def outstanding(self) -> int:
        """How many permits are admitted and not yet settled (or expired)."""
        try:
            return int(cast(int, self.client.zcard(self.keys[2])))
        except STORE_ERRORS as exc:
            raise StoreError(f"the Redis store of breaker {self.name!r} failed: {exc!r}") from exc

    def delete(self) -> None:
        """Remove the breaker from Redis (its next event creates it afresh)."""
        try:
            self.client.delete(*self.keys)
        except STORE_ERRORS as exc:
            raise StoreError(f"the Redis store of breaker {self.name!r} failed: {exc!r}") from exc

    def close(self) -> None:
        """Close this store's connections."""
        self._pool.disconnect()
        self.client.close()

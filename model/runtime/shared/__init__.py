"""breakerlab.runtime.shared: one circuit breaker shared by many processes through Redis.

Every event (admission, outcome, poll, manual control) is one atomic server-side script
generated from the transition table (``lua.py``), so the breaker shared by a fleet of
processes executes the very rows the proofs check. Needs the ``redis`` extra
(``pip install 'breakerlab[redis]'``) and a Redis server. See ``README.md`` beside this file.
"""

from __future__ import annotations

try:
    import redis  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by the layering test without extras
    raise ImportError(
        "breakerlab.runtime.shared needs the redis client: pip install 'breakerlab[redis]'"
    ) from exc

from breakerlab.runtime.merge import merge_event_logs

from .breaker import SharedCircuitBreaker, SharedPermit, StoreErrorPolicy, StoreUnavailableError
from .store import ConfigMismatchError, EventReply, RedisStore, StoreError, keys_for

__all__ = [
    "ConfigMismatchError",
    "EventReply",
    "RedisStore",
    "SharedCircuitBreaker",
    "SharedPermit",
    "StoreError",
    "StoreErrorPolicy",
    "StoreUnavailableError",
    "keys_for",
    "merge_event_logs",
]

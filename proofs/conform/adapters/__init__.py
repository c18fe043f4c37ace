"""One adapter per real breaker library, behind the common ``Adapter`` protocol.

Synchronous libraries (pybreaker, circuitbreaker) run every call in a worker thread;
asyncio libraries (aiobreaker, purgatory) run every call as a task in a loop the adapter
owns; npm libraries (opossum, cockatiel) run whole scripts in a node driver
(``node_process.py``). The libraries themselves are imported (or node started) only when a run
starts, so this package imports without the ``conform`` extra or node installed.
"""

from __future__ import annotations

from collections.abc import Callable

from .aiobreaker_adapter import AiobreakerAdapter
from .base import CALL_TIMEOUT_S, START_EPOCH_S, WINDOW_S, Adapter, AdapterError, LibraryConfig, frozen_time
from .circuitbreaker_adapter import CircuitbreakerAdapter
from .cockatiel_adapter import CockatielAdapter
from .library import InProcessAdapter, LibraryAdapter
from .node_process import NodeAdapter
from .opossum_adapter import OpossumAdapter
from .purgatory_adapter import PurgatoryAdapter
from .pybreaker_adapter import FifoRLock, PybreakerAdapter
from .tasks import AsyncioAdapter
from .threads import ThreadedAdapter

__all__ = [
    "ADAPTERS",
    "CALL_TIMEOUT_S",
    "START_EPOCH_S",
    "WINDOW_S",
    "Adapter",
    "AdapterError",
    "AiobreakerAdapter",
    "AsyncioAdapter",
    "CircuitbreakerAdapter",
    "CockatielAdapter",
    "FifoRLock",
    "InProcessAdapter",
    "LibraryAdapter",
    "LibraryConfig",
    "NodeAdapter",
    "OpossumAdapter",
    "PurgatoryAdapter",
    "PybreakerAdapter",
    "ThreadedAdapter",
    "frozen_time",
    "make_adapter",
]

#: Every adapter, by library name.
ADAPTERS: dict[str, Callable[[], LibraryAdapter]] = {
    PybreakerAdapter.name: PybreakerAdapter,
    CircuitbreakerAdapter.name: CircuitbreakerAdapter,
    AiobreakerAdapter.name: AiobreakerAdapter,
    PurgatoryAdapter.name: PurgatoryAdapter,
    OpossumAdapter.name: OpossumAdapter,
    CockatielAdapter.name: CockatielAdapter,
}


def make_adapter(name: str) -> LibraryAdapter:
    """A new adapter for the library called ``name``.

    Raises:
        AdapterError: for an unknown name (the message lists the known ones).
    """
    try:
        factory = ADAPTERS[name]
    except KeyError:
        raise AdapterError(f"'name' must be one of {', '.join(ADAPTERS)} (got {name!r})") from None
    return factory()

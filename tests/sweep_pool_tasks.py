"""Tasks for tests/test_sweep_pool.py, importable by the pool's spawned worker processes."""

from __future__ import annotations

import gc
import os

#: What each task's garbage holds, in bytes.
GARBAGE_BYTES = 40 * 1024 * 1024


def resident_bytes() -> int:
    """This process's resident memory now (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def leave_cyclic_garbage(index: int) -> tuple[int, int, int, int]:
    """Leave a reference cycle holding ``GARBAGE_BYTES`` (touched) behind, as a simulation
    does, with the automatic collector off (so only the pool can reclaim it); returns (index,
    process id, resident bytes before, and after)."""
    gc.disable()
    before = resident_bytes()
    node: dict[str, object] = {"payload": b"\x01" * GARBAGE_BYTES}  # written, so resident
    node["self"] = node
    del node
    return index, os.getpid(), before, resident_bytes()

"""Tasks for tests/test_sweep_pool.py, importable by the pool's spawned worker processes."""

from __future__ import annotations

import gc
import os
import resource

#: What each task's garbage holds, in bytes.
GARBAGE_BYTES = 40 * 1024 * 1024


def leave_cyclic_garbage(index: int) -> tuple[int, int, int, int]:
    """Leave a reference cycle holding ``GARBAGE_BYTES`` behind, as a simulation does, with the
    automatic collector off (so only the pool can reclaim it); returns (index, process id, peak
    RSS in KiB before, and after)."""
    gc.disable()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    node: dict[str, object] = {"payload": bytearray(GARBAGE_BYTES)}
    node["self"] = node
    del node
    return index, os.getpid(), before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

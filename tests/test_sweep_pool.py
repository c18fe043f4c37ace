"""The sweep's pool: a process's memory stays flat however many simulations it runs, though
each leaves reference cycles behind (in local workers and in the sweep's own process)."""

from __future__ import annotations

import gc

import pytest
from sweep_pool_tasks import GARBAGE_BYTES, leave_cyclic_garbage

from breakerlab.sim.sweeps.pool import Pool

TASKS = 16


@pytest.mark.parametrize("jobs", [1, 2], ids=["in-process", "two-workers"])
def test_each_tasks_cyclic_garbage_is_reclaimed(jobs: int) -> None:
    pool = Pool(jobs, None)
    try:
        results = sorted(pool.run(leave_cyclic_garbage, list(range(TASKS))))
    finally:
        pool.close()
        gc.enable()  # the tasks turn the collector off (in this process too, with jobs=1)
    assert [result[0] for result in results] == list(range(TASKS))
    for pid in {result[1] for result in results}:
        mine = [result for result in results if result[1] == pid]
        grown = max(after for *_, after in mine) - min(before for *_, before, _ in mine)
        # uncollected, a process running n of the tasks would grow by about n x 40 MiB
        assert grown < 2 * GARBAGE_BYTES, f"process {pid} grew by {grown / 2**20:.0f} MiB in {len(mine)} tasks"

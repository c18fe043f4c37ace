"""The sweep's local worker pool: a worker's memory stays flat however many simulations it
runs, though each leaves reference cycles behind."""

from __future__ import annotations

from sweep_pool_tasks import GARBAGE_BYTES, leave_cyclic_garbage

from breakerlab.sim.sweeps.pool import Pool

TASKS = 24


def test_workers_reclaim_each_tasks_cyclic_garbage() -> None:
    pool = Pool(2, None)
    try:
        results = sorted(pool.run(leave_cyclic_garbage, list(range(TASKS))))
    finally:
        pool.close()
    assert [result[0] for result in results] == list(range(TASKS))
    for pid in {result[1] for result in results}:
        mine = [result for result in results if result[1] == pid]
        grown_kib = max(after for *_, after in mine) - min(before for *_, before, _ in mine)
        # without collection a worker running n of the tasks would grow by about n x 40 MiB
        assert grown_kib * 1024 < 2 * GARBAGE_BYTES, f"worker {pid} grew by {grown_kib / 1024:.0f} MiB in {len(mine)} tasks"

"""A finished simulation leaves no reference cycle holding its run or its plan: the plan (some
15 MB in the built-in sweep) is freed as soon as the result is made, so a process running
hundreds of simulations (a sweep's worker) stays flat instead of growing to gigabytes while
the cyclic collector waits."""

from __future__ import annotations

import dataclasses
import gc
import sys

from breakerlab.sim import simulate
from breakerlab.sim.engine import Plan, Run
from breakerlab.sim.sweeps.run import plan_tasks
from breakerlab.sim.sweeps.spec import default_spec


def test_a_simulation_leaves_no_cyclic_garbage_holding_its_run_or_plan() -> None:
    task = plan_tasks(default_spec())[0]  # a fleet of 20 with a capacity service, the breaker and both baselines
    scenario = dataclasses.replace(task.scenario, horizon_s=60.0)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        simulate(scenario, task.seed)
        gc.collect()
        garbage = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert not [o for o in garbage if isinstance(o, Plan)]
    # a run may still be pointed at by its breakers' small cycles, but holds nothing any more
    assert not [o for o in garbage if isinstance(o, Run) and any(hasattr(o, name) for name in Run.__slots__)]
    held_bytes = sum(sys.getsizeof(o) for o in garbage)
    assert held_bytes < 1_000_000, f"cyclic garbage of {held_bytes:,} bytes"

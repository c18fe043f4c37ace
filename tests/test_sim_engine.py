"""The simulator's world: worker pool, timeouts, retries, the capacity service, pauses, polls,
determinism and the metrics' bookkeeping."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from breakerlab.model import BreakerConfig, InvalidConfigError
from breakerlab.sim import RetryPolicy, Scenario, Service, Trace, Workload, simulate
from breakerlab.sim.retries import RetryBreaker
from breakerlab.sim.scenario import Baseline, Jitter, ServiceKind
from breakerlab.sim.streams import STREAMS, stream
from breakerlab.sim.traces.families import BackgroundNoise, CapacityLoss, GcPauses, HardDown, HardDownHang, LoadSpike
from breakerlab.sim.traces.trace import Condition, Segment

HARD_DOWN = Scenario(trace=HardDown(start_s=60.0, duration_s=120.0), breaker=BreakerConfig(reset_timeout=10.0), horizon_s=300.0)


def _same(a: object, b: object) -> bool:
    return pickle.dumps(a) == pickle.dumps(b)


def test_same_scenario_and_seed_give_bit_identical_results() -> None:
    """Two runs of one scenario and seed agree on every metric and every time-series value."""
    first, second = simulate(HARD_DOWN, 11), simulate(HARD_DOWN, 11)
    assert first.as_dict(series=True) == second.as_dict(series=True)
    other = simulate(HARD_DOWN, 12)
    assert other.as_dict() != first.as_dict()


def test_results_do_not_depend_on_the_process() -> None:
    """A run in a fresh interpreter (another hash seed) gives the same JSON as this one."""
    code = (
        "import json; from breakerlab.sim import Scenario, simulate; from breakerlab.sim.traces.families import HardDown;"
        "from breakerlab.model import BreakerConfig;"
        "s = Scenario(trace=HardDown(start_s=60.0, duration_s=120.0), breaker=BreakerConfig(reset_timeout=10.0), horizon_s=300.0);"
        "print(json.dumps(simulate(s, 11).as_dict(series=True), sort_keys=True))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "123"})
    import json

    assert out.stdout.strip() == json.dumps(simulate(HARD_DOWN, 11).as_dict(series=True), sort_keys=True)


def test_breaker_settings_share_arrivals_and_draws() -> None:
    """Common random numbers: two breaker settings see the same requests and, while nothing
    differs yet (before the outage), the same outcomes."""
    a = simulate(HARD_DOWN, 5)
    b = simulate(HARD_DOWN.replace(breaker=BreakerConfig(fail_max=2, reset_timeout=30.0)), 5)
    assert a.metrics.offered == b.metrics.offered
    before = int(60 / HARD_DOWN.bin_s)
    assert np.array_equal(a.series.succeeded[:before], b.series.succeeded[:before])
    assert a.runs["no_breaker"].metrics.as_dict() == b.runs["no_breaker"].metrics.as_dict()


def test_named_streams_are_independent_of_each_other() -> None:
    """Each stream depends on the seed and its name only."""
    draws = {name: stream(7, name).random(4).tolist() for name in STREAMS}
    assert len({tuple(d) for d in draws.values()}) == len(STREAMS)
    assert stream(7, "errors").random(4).tolist() == draws["errors"]


def test_a_hanging_service_saturates_the_pool_without_a_breaker() -> None:
    """When the service hangs, every call holds its worker for the caller's timeout: without a
    breaker the pool fills and requests fail at once for lack of a worker; the breaker sheds
    the load instead."""
    scenario = Scenario(
        trace=HardDownHang(start_s=30.0, duration_s=60.0),
        breaker=BreakerConfig(fail_max=5, reset_timeout=5.0),
        workload=Workload(rate_rps=200.0, workers=32, call_timeout_s=2.0),
        horizon_s=150.0,
    )
    result = simulate(scenario, 2)
    none = result.runs[Baseline.NO_BREAKER].metrics
    assert none.pool_peak == 32 and none.pool_saturated_s > 50.0 and none.pool_full > 5000
    assert result.metrics.pool_saturated_s < 5.0
    assert result.metrics.pool_full < none.pool_full / 10
    # Busy-worker seconds: the time-series means integrate to the horizon mean.
    series = result.runs[Baseline.NO_BREAKER].series
    assert float(np.sum(series.pool_mean * series.bin_s)) / 150.0 == pytest.approx(none.pool_mean)


def test_queued_requests_wait_for_a_worker() -> None:
    """With a queue, a request that finds every worker busy waits instead of failing."""
    base = Scenario(
        trace=HardDownHang(start_s=10.0, duration_s=5.0),
        breaker=BreakerConfig(fail_max=1000),
        workload=Workload(rate_rps=100.0, workers=4, call_timeout_s=0.5, queue_limit=10_000),
        horizon_s=40.0,
        baselines=(),
    )
    metrics = simulate(base, 1).metrics
    assert metrics.pool_full == 0 and metrics.unfinished == 0
    assert metrics.latency_p99_s is not None and metrics.latency_p99_s > 1.0


def test_retries_amplify_load_and_respect_the_budget() -> None:
    """Retries multiply attempts during an outage; a retry budget of 10% caps them at about a
    tenth of requests; retries never follow a rejection unless asked."""
    def run(retry: RetryPolicy) -> object:
        scenario = HARD_DOWN.replace(
            breaker=BreakerConfig(fail_max=10_000),
            workload=Workload(rate_rps=50.0, retry=retry),
            baselines=(),
        )
        return simulate(scenario, 4).metrics

    plain = run(RetryPolicy())
    storm = run(RetryPolicy(max_retries=3, backoff_s=0.01, jitter=Jitter.NONE))
    budget = run(RetryPolicy(max_retries=3, backoff_s=0.01, budget_ratio=0.1, budget_burst=5.0))
    assert plain.amplification == 1.0  # type: ignore[attr-defined]
    assert storm.amplification > 1.5  # type: ignore[attr-defined]
    extra = budget.attempts - budget.offered  # type: ignore[attr-defined]
    assert extra <= 0.1 * budget.offered + 5  # type: ignore[attr-defined]
    assert budget.amplification < storm.amplification  # type: ignore[attr-defined]


def test_the_retry_breaker_stops_retries_in_an_outage_and_keeps_them_for_rare_errors() -> None:
    """Without a breaker under study, retries multiply the load on a dependency that is down; the
    retry breaker (Brooker 2022) stops them there, so the load stays at the first tries, while
    with 5% independent errors it stops none and retries still rescue requests."""
    def run(trace: object, threshold: float | None) -> object:
        retry = RetryPolicy(max_retries=3, backoff_s=0.01, jitter=Jitter.NONE, breaker_threshold=threshold)
        scenario = HARD_DOWN.replace(
            trace=trace, workload=Workload(rate_rps=50.0, retry=retry), baselines=(Baseline.NO_BREAKER,)
        )
        return simulate(scenario, 4, breaker=False).runs["no_breaker"].metrics

    storm, stopped = run(HARD_DOWN.trace, None), run(HARD_DOWN.trace, 0.5)
    assert storm.amplification > 2.0 and storm.retries_stopped == 0  # type: ignore[attr-defined]
    assert stopped.amplification < 1.05 and stopped.retries_stopped > 0.9 * stopped.offered * 120 / 300  # type: ignore[attr-defined]
    assert stopped.offered == storm.offered  # type: ignore[attr-defined]
    rare, plain = run(BackgroundNoise(error_rate=0.05), 0.5), run(BackgroundNoise(error_rate=0.05), None)
    assert rare.retries_stopped == 0 and _same(rare, plain)  # type: ignore[attr-defined]
    assert rare.amplification > 1.04 and rare.availability > 0.999  # type: ignore[attr-defined]


@given(
    threshold=st.floats(0, 1), window=st.integers(1, 12), outcomes=st.lists(st.booleans(), max_size=60)
)
def test_retry_breaker_allows_a_retry_iff_the_recent_failure_ratio_is_at_most_the_threshold(
    threshold: float, window: int, outcomes: list[bool]
) -> None:
    """Against the definition recomputed from scratch after every outcome: the failures among
    the last ``window`` answered attempts are at most ``threshold`` times their number."""
    breaker = RetryBreaker(threshold, window)
    assert breaker.allows_retry()
    for n, ok in enumerate(outcomes, 1):
        breaker.record(ok)
        recent = outcomes[max(0, n - window):n]
        assert breaker.allows_retry() == (recent.count(False) <= threshold * len(recent))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"breaker_threshold": 1.5}, "'breaker_threshold' must be a finite number in [0, 1] or None (got 1.5)"),
        ({"breaker_window": 0}, "'breaker_window' must be an int >= 1 (got 0)"),
    ],
)
def test_retry_breaker_options_are_validated(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidConfigError) as info:
        RetryPolicy(**options)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_rejected_attempts_are_retried_only_when_configured() -> None:
    """`retry_rejected=False` (the default): a rejection ends the request."""
    scenario = HARD_DOWN.replace(workload=Workload(retry=RetryPolicy(max_retries=2)), baselines=())
    metrics = simulate(scenario, 1).metrics
    retried = simulate(
        scenario.replace(workload=Workload(retry=RetryPolicy(max_retries=2, retry_rejected=True))), 1
    ).metrics
    assert retried.attempts > metrics.attempts + metrics.rejected


def test_capacity_loss_queues_and_a_breaker_sheds_load() -> None:
    """On the capacity service, losing 80% of capacity makes the queue grow and calls time out;
    without a breaker the abandoned work keeps the service behind after capacity returns, and
    with retries it never recovers (metastability); the breaker run recovers within seconds."""
    scenario = Scenario(
        trace=CapacityLoss(start_s=30.0, duration_s=30.0, capacity_factor=0.2),
        breaker=BreakerConfig(fail_max=5, reset_timeout=2.0),
        workload=Workload(rate_rps=150.0, workers=512, call_timeout_s=1.0),
        service=Service(kind=ServiceKind.CAPACITY, servers=10, queue_limit=5000, latency_median_s=0.05, latency_sigma=0.3),
        horizon_s=150.0,
    )
    result = simulate(scenario, 3)
    none = result.runs[Baseline.NO_BREAKER]
    assert none.metrics.failed > 500
    # The abandoned backlog keeps the service behind long after its capacity returns.
    assert none.metrics.time_to_recover_s is not None and none.metrics.time_to_recover_s > 30.0
    assert result.metrics.time_to_recover_s is not None and result.metrics.time_to_recover_s < 5.0
    with_retries = simulate(
        scenario.replace(workload=dataclasses.replace(scenario.workload, retry=RetryPolicy(max_retries=3, backoff_s=0.05))), 3
    )
    assert with_retries.runs[Baseline.NO_BREAKER].metrics.time_to_recover_s is None  # metastable: never recovers
    assert with_retries.metrics.time_to_recover_s is not None and with_retries.metrics.time_to_recover_s < 5.0
    late = slice(100, 150)
    assert result.series.succeeded[late].sum() >= 0.95 * none.series.succeeded[late].sum()
    assert result.metrics.unfinished == 0 and none.metrics.unfinished == 0


def test_load_spike_raises_the_offered_rate() -> None:
    """A load spike doubles arrivals during its window."""
    scenario = Scenario(
        trace=LoadSpike(start_s=10.0, duration_s=10.0, load_factor=3.0), workload=Workload(rate_rps=100.0), horizon_s=30.0, baselines=()
    )
    series = simulate(scenario, 1).series
    during = (series.admitted + series.rejected)[10:20].sum()
    outside = (series.admitted + series.rejected)[:10].sum()
    assert during > 2.4 * outside


def test_gc_pauses_delay_calls_past_the_timeout() -> None:
    """Stop-the-world pauses longer than the caller's timeout turn calls in flight into timeouts."""
    scenario = Scenario(
        trace=GcPauses(start_s=5.0, period_s=10.0, pause_s=2.0),
        breaker=BreakerConfig(fail_max=1000),
        workload=Workload(rate_rps=100.0, call_timeout_s=1.0),
        horizon_s=60.0,
        baselines=(),
    )
    metrics = simulate(scenario, 1).metrics
    assert metrics.failed > 0.1 * metrics.offered  # about 1 s of each 10 s period times out


def test_at_deadline_entry_is_polled_on_time() -> None:
    """With `half_open_entry=at_deadline` the run polls the breaker at the open deadline, so it
    is half-open there even when no call arrives."""
    trace = Trace("gap", [Segment(0.0, Condition(error_rate=1.0, healthy=False)), Segment(0.5, Condition(load_factor=1e-9, healthy=True))])
    scenario = Scenario(
        trace=trace,
        breaker=BreakerConfig(fail_max=2, reset_timeout=3.0, half_open_entry="at_deadline"),
        workload=Workload(rate_rps=20.0, arrivals="constant"),
        service=Service(latency_median_s=0.0, latency_sigma=0.0, error_latency_s=0.0),
        horizon_s=10.0,
        baselines=(),
    )
    changes = simulate(scenario, 0).series.state_changes
    assert [state for _, state in changes] == ["closed", "open", "half_open"]
    assert changes[2][0] == pytest.approx(changes[1][0] + 3.0)


def test_metrics_account_for_every_request() -> None:
    """Succeeded plus failed is offered; admitted plus rejected plus pool_full is attempts; the
    time series add up to the totals; time in states adds up to the horizon."""
    result = simulate(HARD_DOWN, 9)
    for run in result.runs.values():
        m, s = run.metrics, run.series
        assert m.succeeded + m.failed == m.offered and m.unfinished == 0
        assert m.admitted + m.rejected + m.pool_full == m.attempts
        assert int(s.admitted.sum()) == m.admitted and int(s.rejected.sum()) == m.rejected
        assert int(s.succeeded.sum()) <= m.succeeded + 1  # answers just past the horizon are not binned
    assert sum(result.metrics.time_in_state_s.values()) == pytest.approx(HARD_DOWN.horizon_s)


def test_a_crash_inside_a_run_names_the_scenario_and_seed() -> None:
    """An exception raised inside a run carries a note with its scenario and seed."""

    @dataclasses.dataclass(frozen=True)
    class Broken:
        def build(self, horizon_s: float, rng: object) -> Trace:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom") as caught:
        simulate(Scenario(trace=Broken(), name="broken one"), 42)
    assert any("broken one" in note and "42" in note for note in caught.value.__notes__)


def test_openings_caused_by_calls_of_the_outage_are_not_false_trips() -> None:
    """A probe sent just before a hang ends times out after it: the re-opening it causes is
    part of the outage, not a false trip; after the outage the breaker closes for good."""
    scenario = Scenario(
        trace=HardDownHang(start_s=20.0, duration_s=40.0),
        breaker=BreakerConfig(fail_max=3, reset_timeout=1.0),
        workload=Workload(rate_rps=100.0, call_timeout_s=2.0),
        horizon_s=120.0,
        baselines=(),
    )
    for seed in range(5):
        metrics = simulate(scenario, seed).metrics
        assert metrics.trips > 5 and metrics.false_trips == 0
        assert metrics.time_to_close_s is not None and metrics.time_to_close_s < 4.0
        assert metrics.time_to_open_s is not None and metrics.time_to_open_s > 2.0  # hung calls answer at the timeout


def test_a_breaker_lock_serialises_calls_and_callers_wait_holding_workers() -> None:
    """With `serialize_calls` (pybreaker's whole-call lock) one call goes through the breaker at
    a time: a 0.2 s service then answers at most 5 calls a second, the waiting callers hold
    their workers, and nobody is rejected for it; the baselines have no breaker and no lock."""
    scenario = Scenario(
        trace=Trace("healthy", [Segment(0.0, Condition())]),
        breaker=BreakerConfig(fail_max=5),
        workload=Workload(rate_rps=10.0, arrivals="constant", workers=8, call_timeout_s=5.0, queue_limit=1000),
        service=Service(latency_median_s=0.2, latency_sigma=0.0),
        horizon_s=20.0,
        serialize_calls=True,
    )
    result = simulate(scenario, 1)
    serial, free = result.metrics, result.runs[Baseline.NO_BREAKER].metrics
    assert serial.unfinished == 0 and serial.rejected == 0
    assert serial.pool_peak == 8 and serial.pool_saturated_s > 5.0  # callers block on the lock
    assert serial.latency_p99_s is not None and serial.latency_p99_s > 1.0
    assert free.pool_peak <= 3 and free.latency_p99_s == pytest.approx(0.2)
    assert int(result.series.succeeded[:20].max()) <= 5  # never more than 1/0.2 s per second
    unlocked = simulate(scenario.replace(serialize_calls=False), 1).metrics
    assert unlocked.pool_peak <= 3 and unlocked.succeeded == free.succeeded


def test_a_run_leaves_the_garbage_collector_as_it_found_it() -> None:
    """The engine freezes the objects that exist before a run (so the collector does not walk
    them again and again during it) and unfreezes them afterwards; a program's own freeze is
    left alone."""
    import gc

    from breakerlab.sim import Scenario, simulate
    from breakerlab.sim.traces.families import Brownout

    scenario = Scenario(trace=Brownout(error_rate=0.3), horizon_s=5.0)
    simulate(scenario, seed=1)
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        simulate(scenario, seed=1)
        # still the program's freeze (objects frozen may be freed meanwhile, never unfrozen)
        assert 0.99 * frozen <= gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()

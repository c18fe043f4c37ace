"""Trip windows against a naive recomputation from the full outcome history."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from breakerlab.model.window import CountWindow, TimeWindow


class _Outcome:
    def __init__(self, now: float, failed: bool, slow: bool) -> None:
        self.now, self.failed, self.slow = now, failed, slow


OUTCOMES = st.lists(
    st.tuples(st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.5]), st.booleans(), st.booleans(), st.booleans()), max_size=60
)


@given(size=st.integers(1, 8), outcomes=OUTCOMES)
def test_count_window_holds_exactly_the_last_size_outcomes(size: int, outcomes: list[tuple[float, bool, bool, bool]]) -> None:
    """counts_after predicts, and window_record produces, the counts of the last `size` outcomes."""
    window = CountWindow(size)
    history: list[tuple[bool, bool]] = []
    now = 0.0
    for dt, failed, slow, clear in outcomes:
        now += dt
        if clear:
            window.window_clear(None)
            history.clear()
            continue
        recent = (history + [(failed, slow)])[-size:]
        expected = (len(recent), sum(f for f, _ in recent), sum(s for _, s in recent))
        assert window.counts_after(now, failed, slow) == expected
        window.window_record(_Outcome(now, failed, slow))
        history.append((failed, slow))
        assert (window.calls, window.failures, window.slow) == expected


@given(duration=st.sampled_from([0.5, 1.0, 2.5]), outcomes=OUTCOMES)
def test_time_window_holds_exactly_the_outcomes_newer_than_the_horizon(
    duration: float, outcomes: list[tuple[float, bool, bool, bool]]
) -> None:
    """An outcome at t is counted at time now iff t > now - duration."""
    window = TimeWindow(duration)
    history: list[tuple[float, bool, bool]] = []
    now = 0.0
    for dt, failed, slow, peek_only in outcomes:
        now += dt
        recent = [(t, f, s) for t, f, s in history + [(now, failed, slow)] if t > now - duration]
        expected = (len(recent), sum(f for _, f, _ in recent), sum(s for _, _, s in recent))
        assert window.counts_after(now, failed, slow) == expected
        if not peek_only:
            window.window_record(_Outcome(now, failed, slow))
            history.append((now, failed, slow))

"""L5, bounded recovery: the scenario SPIN checks it on, and the bound it asserts.

L5 (bounded recovery) has its own scenario, ``SpinEnvironment(recovery=True)``: no manual control, no
lost results, and ``Env`` may recover for good (ghost bit ``up``, the time ``t1``). Before
``t1`` everything is as usual; from ``t1`` on every result is a success, no permit is released
(releases are allowed only before recovery: each release of a probe after it would add a
probe cycle to the bound), and calls keep arriving by a *round discipline*: the clock ticks
only after every caller has taken a step (acquire, or settle the permit it holds) since the
previous tick. A counter ``since_up`` of ticks since ``t1`` saturates at ``L5_BOUND + 1``, and each tick asserts
``since_up <= L5_BOUND || mode == CLOSED``. ``recovery_bound`` computes the bound, in ticks::

    L5_BOUND = leftover + open + entry + probe_rounds
    open         = backoff_cap if exponential else reset_timeout   (the longest opening)
    entry        = 0 if admit_at_deadline else 1                   (an exclusive deadline admits a tick later)
    probes       = success_threshold (close_rule consecutive) or half_open_max_calls (rate)
    waves        = ceil(probes / min(callers, half_open_max_calls))
    probe_rounds = 2 * waves - 1     (a caller acquires in one round and, at worst, reports in the next)
    leftover     = 2 * waves if close_rule == "rate" or half_open_max_wait is set, else 0

The worst case is an opening for the longest duration just before ``t1``: its deadline comes
after ``open + entry`` ticks, and the probes of the episode it starts report after
``probe_rounds`` more. ``leftover`` is for the half-open episode in progress at ``t1`` (or
starting in its first round): under the rate rule a failure recorded before ``t1`` may doom
it, and with a maximum wait it may expire, so it can end in one more opening. It is decided by
``2 * waves`` ticks: every caller settles the permit it held at ``t1`` in the first round,
which can delay that episode's probes by one round (one tick of slack over ``probe_rounds``;
SPIN needs it with a maximum wait of 2 and two probes, the suite's ``max_wait_two_probes``).
Without them the episode at ``t1`` has no failure and can only close. The formula is an upper
bound checked by SPIN on the suite's cases, not a proof for every configuration; one tick less
fails on every case except ``rate_close``, ``max_wait`` and ``max_wait_admitting``, where the
slack of ``leftover`` is not needed. It does not hold when
``half_open_max_wait < 2 * waves``: an ``acquire`` or ``poll`` in the round after a probe was
admitted can end the episode before the probe reports, every time, and unless late results are
handled by the admitting state the breaker never closes (L5 fails for every bound).
"""

from __future__ import annotations

from breakerlab.model import BreakerConfig
from breakerlab.model.config import CloseRule, OpenDurationPolicy

from .scope import check_config

__all__ = ["recovery_bound", "recovery_header", "recovery_terms"]


def recovery_bound(config: BreakerConfig, callers: int) -> int:
    """L5's bound: ticks after recovery by which the breaker is closed (formula in the module
    docstring). Meaningful only when ``half_open_max_wait`` is unset or at least two ticks per
    probe wave; with a shorter maximum wait L5 fails whatever the bound."""
    terms = recovery_terms(config, callers)
    return terms["leftover"] + terms["open"] + terms["entry"] + terms["probe_rounds"]


def recovery_terms(config: BreakerConfig, callers: int) -> dict[str, int]:
    """The terms of L5's bound (and the probe count and waves behind ``probe_rounds``)."""
    check_config(config)
    if callers < 1:
        raise ValueError(f"'callers' must be >= 1 (got {callers!r})")
    exponential = config.open_duration_policy is OpenDurationPolicy.EXPONENTIAL
    consecutive = config.close_rule is CloseRule.CONSECUTIVE
    probes = config.success_threshold if consecutive else config.half_open_max_calls
    waves = -(-probes // min(callers, config.half_open_max_calls))
    probe_rounds = 2 * waves - 1
    return {
        "open": int(config.backoff_cap if exponential and config.backoff_cap is not None else config.reset_timeout),
        "entry": 0 if config.admit_at_deadline else 1,
        "probes": probes,
        "waves": waves,
        "probe_rounds": probe_rounds,
        "leftover": 2 * waves if not consecutive or config.half_open_max_wait is not None else 0,
    }


def recovery_header(config: BreakerConfig, callers: int, bound: int) -> list[str]:
    """The header lines of L5's scenario: what it assumes and how its ``bound`` is computed."""
    t = recovery_terms(config, callers)
    formula = recovery_bound(config, callers)
    given = "" if bound == formula else f" (set by the scenario; the formula gives {formula})"
    return [
        " * assertions (L5 run): S1 S2 S3 S4 S6 S7 S8 S9 S10 and L5, written from the configuration;",
        " * L5 (bounded recovery): Env may recover for good (up, time t1); from t1 on every result is a",
        " *   success, nothing is released, and calls keep arriving: the Clock ticks only after every",
        " *   caller has stepped (acquired, or settled its permit) since the last tick. No manual control,",
        " *   no lost result. Each tick asserts since_up <= L5_BOUND || mode == CLOSED, with",
        f" *   L5_BOUND = {bound}{given}",
        " *            = leftover + open + entry + probe_rounds",
        f" *            = {t['leftover']} + {t['open']} + {t['entry']} + {t['probe_rounds']}: "
        "open = the longest opening (reset_timeout, or backoff_cap),",
        " *   entry = 1 tick if the deadline is exclusive, probe_rounds = 2 * waves - 1 with waves =",
        f" *   ceil({t['probes']} probes / min({callers} callers, {config.half_open_max_calls} slots)) "
        f"= {t['waves']} (acquire in one round, report in the next),",
        " *   leftover = 2 * waves when the episode in progress at t1 may still re-open (rate close",
        " *   rule, or a half-open maximum wait), else 0: it is decided by then, its probes delayed by at",
        " *   most one round while callers settle the permits they held at t1.",
    ]

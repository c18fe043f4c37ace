"""Every property ``breakerlab prove`` checks: plain words, formal statement, method, command.

``proofs/README.md`` embeds ``markdown_table()`` verbatim (a test keeps them equal).
"""

from __future__ import annotations

import dataclasses

__all__ = ["PROPERTY_CATALOGUE", "PropertyInfo", "markdown_table"]

Z3 = "z3 induction"
SPIN_SAFETY = "SPIN safety"
SPIN_LIVENESS = "SPIN liveness"
REFINEMENT = "refinement"
TESTS = "Hypothesis stateful tests"


@dataclasses.dataclass(frozen=True)
class PropertyInfo:
    """One property: id, plain words, formal statement, methods that check it."""

    id: str
    words: str
    formal: str
    methods: tuple[str, ...]


PROPERTY_CATALOGUE: tuple[PropertyInfo, ...] = (
    PropertyInfo(
        "S1",
        "No call is admitted while the breaker is open, before its deadline; forced-open admits nothing.",
        "mode=open ∧ admits(e) ⇒ now ≥ open_until (now > open_until when ¬admit_at_deadline); mode=forced_open ⇒ ¬admits(e)",
        (Z3, SPIN_SAFETY, REFINEMENT, TESTS),
    ),
    PropertyInfo(
        "S2",
        "Every opening lasts at least its open duration: the deadline is set at opening to now plus the policy's current duration (fixed, or the backoff step), which is at least reset_timeout; open is left automatically only at the deadline.",
        "inv: mode=open ⇒ open_until ≥ opened_at + reset_timeout ∧ opened_at ≤ clock; step: entering open ⇒ opened_at'=now ∧ open_until' ≥ now + d ∧ d' = (exp ? min(d·factor, cap) : d); leaving open (not manual) ⇒ deadline reached",
        (Z3, SPIN_SAFETY, REFINEMENT, TESTS),
    ),
    PropertyInfo(
        "S3",
        "Half-open never admits more probes than configured (per episode or concurrently), and a released probe frees its slot.",
        "inv: mode=half_open ⇒ 0 ≤ inflight ≤ admitted ∧ inflight ≤ P ∧ (per_episode ⇒ admitted ≤ P); step: release of a current probe ⇒ inflight'=inflight−1 ∧ admitted'=admitted−1",
        (Z3, SPIN_SAFETY, REFINEMENT, TESTS),
    ),
    PropertyInfo(
        "S4",
        "Closed opens exactly when the trip rule is met by a counted outcome, never earlier or later: the fail_max-th consecutive failure (consecutive rule), or the window's failure or slow-call rate reaching its threshold with at least minimum_calls (window rules, for every window size: the window's counts are symbolic).",
        "inv: mode=closed ∧ consecutive ⇒ cf < fail_max; step: counted failure ⇒ (mode'=open ⇔ cf+1 = fail_max); window: (mode'=open ⇔ calls ≥ min_calls ∧ (failures/calls ⋈ num/den ∨ slow_on ∧ slow/calls ⋈ snum/sden)), ⋈ = ≥ or > per trip_on_equal_rate",
        (Z3, SPIN_SAFETY, REFINEMENT, TESTS),
    ),
    PropertyInfo(
        "S5",
        "Only legal transitions exist: closed→open, open→half_open, half_open→closed, half_open→open; open→open and open→closed only by a late result under late_result=admitting_state (a late probe success); forced_open and disabled are left only manually; reset→closed and trip→open from anywhere, a trip always a new opening (open→open restarts the open period); half_open→half_open with no probe admitted yet (in half-open it changes nothing); every state change increments the generation.",
        "step: (mode, mode') ∈ allowed(trigger) ∧ (mode' ≠ mode ⇒ generation' = generation+1)",
        (Z3, REFINEMENT),
    ),
    PropertyInfo(
        "S6",
        "A counted probe failure (close rule consecutive) re-opens the breaker and restarts the timer at the failure time.",
        "step: mode=half_open ∧ record_failure ∧ counted ∧ close_rule=consecutive ⇒ mode'=open ∧ opened_at'=now ∧ open_until' ≥ now + reset_timeout",
        (Z3, SPIN_SAFETY, REFINEMENT, TESTS),
    ),
    PropertyInfo(
        "S7",
        "Half-open closes only after the configured successes of the current episode (success_threshold, or a passing rate over half_open_max_calls outcomes), or by a late probe success under admitting_state.",
        "step: mode=half_open ∧ mode'=closed ∧ trigger≠reset ⇒ late_probe_success ∨ counted ∧ (successes+1 ≥ S ∨ rate rule passes)",
        (Z3, SPIN_SAFETY, REFINEMENT, TESTS),
    ),
    PropertyInfo(
        "S8",
        "Under late_result=ignore, an outcome with a permit from an earlier generation changes nothing.",
        "step: late=ignore ∧ outcome ∧ permit_generation ≠ generation ⇒ state' = state",
        (Z3, SPIN_SAFETY, REFINEMENT, TESTS),
    ),
    PropertyInfo(
        "S9",
        "Counters and timers stay within bounds: no negative counters, counters of other states are zero, the backoff duration is between reset_timeout and the cap and back at reset_timeout whenever closed, probe successes below the threshold while half-open.",
        "inv: see proofs/properties.py `_bounds` and `_probe_bounds`",
        (Z3, SPIN_SAFETY, REFINEMENT, TESTS),
    ),
    PropertyInfo(
        "S10",
        "Excluded or cancelled outcomes (release) never count: no failure, no success, no state change.",
        "step: trigger=release ⇒ mode'=mode ∧ cf'=cf ∧ successes'=successes ∧ failures'=failures ∧ timers unchanged",
        (Z3, SPIN_SAFETY, REFINEMENT, TESTS),
    ),
    PropertyInfo(
        "L1",
        "If the service is healthy from some time on and calls keep arriving, the breaker is eventually closed and stays closed. Weak fairness bounds no response time, so with half_open_max_wait set it fails (a probe slower than the maximum wait re-opens the breaker, forever): SPIN finds that counterexample, and L1 is claimed only without a maximum wait or for probes that report within it.",
        "(◇□ healthy) ⇒ ◇□ mode=closed, under weak fairness of callers and clock; expected violated with half_open_max_wait",
        (SPIN_LIVENESS,),
    ),
    PropertyInfo(
        "L2",
        "Open is always left eventually (calls keep arriving or the driver polls).",
        "□(mode=open ⇒ ◇ mode≠open), under weak fairness",
        (SPIN_LIVENESS,),
    ),
    PropertyInfo(
        "L3",
        "Half-open is always left eventually when probes report or half_open_max_wait is set; without a maximum wait a lost probe wedges half-open (SPIN must find that counterexample).",
        "□(mode=half_open ⇒ ◇ mode≠half_open), under weak fairness; expected violated with lossy callers and no max wait",
        (SPIN_LIVENESS, Z3),
    ),
    PropertyInfo(
        "L3a",
        "With half_open_max_wait set, an expired half-open episode ends (→ open, restarting the timer) at the next acquire or poll.",
        "step: mode=half_open ∧ max_wait ∧ now ≥ half_open_since + max_wait ∧ trigger ∈ {acquire, poll} ⇒ mode'=open ∧ ¬admits ∧ opened_at'=now",
        (Z3, REFINEMENT),
    ),
    PropertyInfo(
        "L4",
        "Bounded detection: under a hard outage from t0, the breaker has opened by the time fail_max failures of calls admitted after t0 are recorded.",
        "ghost counters: down ∧ failures recorded of calls admitted after t0 ≥ fail_max ⇒ opened since t0 (assertion in the SPIN safety run)",
        (SPIN_SAFETY,),
    ),
    PropertyInfo(
        "L5",
        "Bounded recovery: after the service recovers for good at t1 and calls keep arriving (every caller takes a step each tick), the breaker is closed within the open duration plus the probes' time. The bound is an upper bound checked per SPIN case (tight on most: one tick less is violated), not proved for every configuration; with a half_open_max_wait shorter than a probe round and late results ignored it genuinely fails (SPIN shows the counterexample).",
        "up ∧ since_up > L5_BOUND ⇒ mode=closed; L5_BOUND = leftover + open + entry + probe_rounds (proofs/spin/recovery.py)",
        ("SPIN bounded",),
    ),
    PropertyInfo(
        "R",
        "The executable Python breaker refines the proved relation: over every reachable abstract state (small parameters), each step it takes is a step of the z3 relation, and it takes every step the relation allows.",
        "∀ reachable (s, e): Breaker.step(s, e) = s' ⇒ Trans(s, e, s'); Env(s, e) ⇒ the breaker accepts e",
        (REFINEMENT,),
    ),
    PropertyInfo(
        "drift",
        "The committed encodings (SMT-LIB relation, Promela models) are exactly what the current table generates, and their manifest records its digest: the proofs were re-run after the table last changed.",
        "generate_all(TABLE) = proofs/generated/* ∧ manifest.table_digest = TABLE.digest()",
        ("regeneration",),
    ),
)


def markdown_table() -> str:
    """The catalogue as a Markdown table."""
    lines = ["| id | property | formal statement | checked by |", "| --- | --- | --- | --- |"]
    for info in PROPERTY_CATALOGUE:
        lines.append(f"| {info.id} | {info.words} | {info.formal} | {', '.join(info.methods)} |")
    return "\n".join(lines)

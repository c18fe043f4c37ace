"""SPIN trails: the ``@@STEP`` lines of a run read back, printed as numbered steps, and replayed.

Every atomic step of a generated model prints one ``@@STEP key=value ...`` line (codes from
``vocabulary``). ``parse_steps`` turns a replayed trail (``spin -t``) or a random simulation
into one dict per step, ``format_steps`` prints them as a numbered step list, and
``follow_trail`` (``replay_trail``: its differences only) re-executes them on the Python
``Breaker``, so a SPIN trail is also a regression test of the code that runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from breakerlab.model import TABLE, BreakerConfig, Table
from breakerlab.model.driver import EVENTS as DRIVER_EVENTS
from breakerlab.model.driver import OUTCOMES, Driver

from ..counterexample import TraceReplay
from ..encoding import decode
from ..time_abstraction import RELATIVE_SUFFIX, TimeAbstraction
from .vocabulary import AGENTS, EVENTS, VERDICTS

__all__ = ["ENVIRONMENT_INITIAL", "STEP_KEYS", "follow_trail", "format_steps", "parse_steps", "replay_trail"]

#: The keys of a parsed step that are not model variables: the rest is the state after the step.
STEP_KEYS = ("n", "who", "event", "verdict", "cycle", "mode", "row", "now")
#: The environment's variables as the generated model declares them initially (``promela.py``;
#: a test compares them with the generated text): healthy, no outage, no recovery yet.
ENVIRONMENT_INITIAL: Mapping[str, int] = {"healthy": 1, "down": 0, "up": 0, "since_up": 0}


def parse_steps(replay_output: str) -> tuple[dict[str, object], ...]:
    """The ``@@STEP`` lines of a trail replay, as dicts with readable ``who``/``event``/``verdict``."""
    steps: list[dict[str, object]] = []
    cycle = False
    for line in replay_output.splitlines():
        if "START OF CYCLE" in line:
            cycle = True
            continue
        if not line.startswith("@@STEP "):
            continue
        fields = dict(item.split("=", 1) for item in line.split()[1:])
        values = {key: int(value) for key, value in fields.items()}
        who = values.pop("who")
        step: dict[str, object] = {
            "n": len(steps) + 1,
            "who": AGENTS.get(who, f"caller{who}"),
            "event": EVENTS[values.pop("ev")],
            "verdict": VERDICTS[values.pop("verdict")],
            "cycle": cycle,
            "mode": decode(values.pop("mode")),
        }
        step.update(values)
        steps.append(step)
    return tuple(steps)


def follow_trail(steps: Sequence[Mapping[str, object]], config: BreakerConfig, table: Table = TABLE) -> TraceReplay:
    """Re-execute a trail on the Python ``Breaker`` and compare every step with SPIN's: the
    acquire verdict, the mode and every printed variable (a relative time below the model's
    floor on both sides is a match: the model clamps it).

    The events go on after the breaker leaves the trail, until one settles or loses a permit
    the breaker never admitted to that caller. ``violated_step`` is the trail's last step when
    the breaker follows all of it: SPIN's violation (an assertion on those states, or a cycle
    back to one of them) is then the breaker's too.
    """
    problems, first, steps_run = _follow(steps, config, table)
    if first is None:
        return TraceReplay(True, len(steps), "every step matches", len(steps) if steps else None, steps_run)
    detail = "; ".join(p.removeprefix(f"step {first}: ") for p in problems if p.startswith(f"step {first}: "))
    return TraceReplay(False, first - 1, f"step {first}: {detail}", None, steps_run)


def replay_trail(steps: Sequence[Mapping[str, object]], config: BreakerConfig, table: Table = TABLE) -> list[str]:
    """Re-execute a trail on the Python ``Breaker``; return every difference found (none: the
    model and the code agree on the whole trail). See ``follow_trail``."""
    return _follow(steps, config, table)[0]


def _follow(
    steps: Sequence[Mapping[str, object]], config: BreakerConfig, table: Table
) -> tuple[list[str], int | None, int]:
    """Every difference, the first step with one (``None``: none) and the steps performed."""
    driver = Driver(config, table)
    breaker, clock = driver.breaker, driver.clock
    floor = TimeAbstraction.of(config, table).floor
    problems: list[str] = []
    first: int | None = None
    steps_run = 0
    for step in steps:
        n, who, event = step["n"], step["who"], step["event"]
        now = float(step["now"])  # type: ignore[arg-type]
        if (event == "lost" or event in OUTCOMES) and who not in driver.permits:
            problems.append(f"step {n}: {who} {'loses' if event == 'lost' else 'settles'} a permit the breaker never admitted")
            first = first if first is not None else int(n)  # type: ignore[call-overload]
            break
        found: list[str] = []
        if event == "lost":  # the caller never reports: its permit is simply dropped
            driver.permits.pop(who)
            clock.advance(now - clock())
        elif event in DRIVER_EVENTS:  # a trigger of the table (the rest: tick, env steps, ...)
            verdict = driver.step(now, str(event), who)
            if event == "acquire" and (verdict != "reject") != (step["verdict"] in ("admit", "admit_probe")):
                did = "rejected" if verdict == "reject" else "admitted"
                found.append(f"step {n}: SPIN's verdict {step['verdict']}, the breaker {did}")
        else:
            clock.advance(now - clock())  # tick, env steps: only time moves
        steps_run += 1
        snapshot = breaker.snapshot()
        now = clock()
        state = snapshot["state"].value  # type: ignore[union-attr]
        if state != step["mode"]:
            found.append(f"step {n}: SPIN mode {step['mode']}, breaker {state}")
        for key, value in step.items():
            relative = key.endswith(RELATIVE_SUFFIX)
            var = key.removesuffix(RELATIVE_SUFFIX)
            if var not in snapshot or var == "state":
                continue
            actual = snapshot[var] - now if relative else snapshot[var]  # type: ignore[operator]
            if relative and value <= floor and actual <= floor:  # type: ignore[operator]
                continue  # clamped
            if actual != value:
                found.append(f"step {n}: SPIN {key}={value}, breaker {actual!r}")
        if found and first is None:
            first = int(n)  # type: ignore[call-overload]
        problems += found
    return problems, first, steps_run


def format_steps(steps: Sequence[Mapping[str, object]], table: Table = TABLE) -> str:
    """A numbered step list: time, who, event (row cause, verdict), new mode, changed values."""
    lines: list[str] = []
    previous: Mapping[str, object] = {}
    skip = set(STEP_KEYS)
    for step in steps:
        row = step["row"]  # a row index of ``table``, or (read back from JSON) the row's cause
        cause = row if isinstance(row, str) else table.rows[row].cause if isinstance(row, int) and row >= 0 else ""
        detail = ", ".join(str(x) for x in (cause, step["verdict"]) if x)
        what = f"{step['event']} ({detail})" if cause else str(step["event"])
        changed = " ".join(f"{k}={v}" for k, v in step.items() if k not in skip and previous.get(k) != v)
        marker = "  <cycle starts>" if step["cycle"] and not previous.get("cycle") else ""
        lines.append(
            f"{step['n']:4}. t={step['now']:<3} {step['who']:<8} {what:<44} -> {step['mode']:<11} {changed}{marker}"
        )
        previous = step
    return "\n".join(lines)

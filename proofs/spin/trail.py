"""SPIN trails: the ``@@STEP`` lines of a run read back, printed as numbered steps, and replayed.

Every atomic step of a generated model prints one ``@@STEP key=value ...`` line (codes from
``vocabulary``). ``parse_steps`` turns a replayed trail (``spin -t``) or a random simulation
into one dict per step, ``format_steps`` prints them as a numbered step list, and
``replay_trail`` re-executes them on the Python ``Breaker``, so a SPIN trail is also a
regression test of the code that runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from breakerlab.model import TABLE, BreakerConfig, Table
from breakerlab.model.driver import EVENTS as DRIVER_EVENTS
from breakerlab.model.driver import Driver

from ..encoding import decode
from ..time_abstraction import RELATIVE_SUFFIX, TimeAbstraction
from .vocabulary import AGENTS, EVENTS, VERDICTS

__all__ = ["format_steps", "parse_steps", "replay_trail"]


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


def replay_trail(steps: Sequence[Mapping[str, object]], config: BreakerConfig, table: Table = TABLE) -> list[str]:
    """Re-execute a trail on the Python ``Breaker``; return every difference found (none: the
    model and the code agree on the whole trail). A relative time below the model's floor on
    both sides is a match (the model clamps it)."""
    driver = Driver(config, table)
    breaker, clock = driver.breaker, driver.clock
    floor = TimeAbstraction.of(config, table).floor
    problems: list[str] = []
    for step in steps:
        n, who, event = step["n"], step["who"], step["event"]
        now = float(step["now"])  # type: ignore[arg-type]
        if event == "lost":  # the caller never reports: its permit is simply dropped
            driver.permits.pop(who)
            clock.advance(now - clock())
        elif event in DRIVER_EVENTS:  # a trigger of the table (the rest: tick, env steps, ...)
            verdict = driver.step(now, str(event), who)
            if event == "acquire" and (verdict != "reject") != (step["verdict"] in ("admit", "admit_probe")):
                did = "rejected" if verdict == "reject" else "admitted"
                problems.append(f"step {n}: SPIN's verdict {step['verdict']}, the breaker {did}")
        else:
            clock.advance(now - clock())  # tick, env steps: only time moves
        snapshot = breaker.snapshot()
        now = clock()
        state = snapshot["state"].value  # type: ignore[union-attr]
        if state != step["mode"]:
            problems.append(f"step {n}: SPIN mode {step['mode']}, breaker {state}")
        for key, value in step.items():
            relative = key.endswith(RELATIVE_SUFFIX)
            var = key.removesuffix(RELATIVE_SUFFIX)
            if var not in snapshot or var == "state":
                continue
            actual = snapshot[var] - now if relative else snapshot[var]  # type: ignore[operator]
            if relative and value <= floor and actual <= floor:  # type: ignore[operator]
                continue  # clamped
            if actual != value:
                problems.append(f"step {n}: SPIN {key}={value}, breaker {actual!r}")
    return problems


def format_steps(steps: Sequence[Mapping[str, object]], table: Table = TABLE) -> str:
    """A numbered step list: time, who, event (row cause, verdict), new mode, changed values."""
    lines: list[str] = []
    previous: Mapping[str, object] = {}
    skip = {"n", "who", "event", "row", "verdict", "now", "mode", "cycle"}
    for step in steps:
        row = step["row"]
        cause = table.rows[row].cause if isinstance(row, int) and row >= 0 else ""
        detail = ", ".join(str(x) for x in (cause, step["verdict"]) if x)
        what = f"{step['event']} ({detail})" if cause else str(step["event"])
        changed = " ".join(f"{k}={v}" for k, v in step.items() if k not in skip and previous.get(k) != v)
        marker = "  <cycle starts>" if step["cycle"] and not previous.get("cycle") else ""
        lines.append(
            f"{step['n']:4}. t={step['now']:<3} {step['who']:<8} {what:<44} -> {step['mode']:<11} {changed}{marker}"
        )
        previous = step
    return "\n".join(lines)

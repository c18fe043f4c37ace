"""A breaker's per-call entry points (the clock clamp, admit, succeed), generated per configuration.

Admitting and recording a call are the cost every protected call pays, so they are generated
as closures with everything they read bound as free variables, and the common cases inlined:
the clock clamp (written once, in ``CLAMP``), an admission the compiled table makes with no
action and no state change, every other state's admissions and rejections that change no
state (half the calls of an outage are rejections), and a success whose rows read only
``now`` and the admission (the rows themselves, inlined from the table by
``pycompile.first_match_lines``). The admission is generated twice from the same rows: ``admit``
raises a rejection, ``try_admit`` returns ``None`` for it (raising costs more than the whole
admission). Everything else is handed to the breaker's general methods. Tests check the generated entries against the general
path (``tests/test_table.py``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

from .permit import Admission
from .pycompile import KERNEL_ARGS, CompiledTable, first_match_lines
from .states import State
from .table import Row, Verdict

__all__ = ["CLAMP", "Entries", "Tally", "build_call", "build_entries"]

#: The one definition of the clock clamp: time never runs back. An event read before the latest
#: one is performed at the latest one's time (this protects the open duration from a clock, or a
#: caller passing explicit times, that steps back). ``t`` is the breaker's ``Tally``.
CLAMP = (
    "if now is None:",
    "    now = read_clock()",
    "if now < t.last_now:",
    "    now = t.last_now",
    "else:",
    "    t.last_now = now",
)


class Tally:
    """A breaker's bookkeeping beside the formal state: the latest event time and the totals."""

    __slots__ = (
        "last_now",
        "admitted",
        "successes",
        "failures",
        "released",
        "rejections",
        "state_changes",
        "plain_success",
    )

    def __init__(self) -> None:
        self.last_now = -math.inf
        self.admitted = self.successes = self.failures = self.released = 0
        self.rejections = self.state_changes = 0
        self.plain_success = False
        """Whether a success needs nothing but the table's rows (no window, no call_timeout,
        no success listener): the breaker keeps it current."""


@dataclasses.dataclass(frozen=True)
class Entries:
    """The generated entry points of one breaker.

    Attributes:
        time: ``time(now) -> float``: the clamp alone (``now=None`` reads the clock).
        admit: ``admit(now=None) -> Admission``, or the general admission's exception.
        try_admit: ``try_admit(now=None) -> Admission | None``: ``None`` for a rejection.
        succeed: ``succeed(admission, now=None) -> StateChange | None``.
        source: The generated Python source.
    """

    time: Callable[[float | None], float]
    admit: Callable[..., Admission]
    try_admit: Callable[..., Admission | None]
    succeed: Callable[..., Any]
    source: str


def _indent(lines: tuple[str, ...] | list[str], spaces: int) -> list[str]:
    return [" " * spaces + line for line in lines]


def build_entries(
    compiled: CompiledTable,
    core: Any,
    tally: Tally,
    read_clock: Callable[[], float],
    general_admit: Callable[[float], Admission],
    general_try_admit: Callable[[float], Admission | None],
    general_succeed: Callable[[Admission, float], Any],
    reject: Callable[[float, int], None],
    refuse: Callable[[float, int], None],
    *,
    fast_path: bool,
) -> Entries:
    """Generate the entry points of a breaker whose formal state is ``core``.

    ``general_admit(now)``, ``general_try_admit(now)`` and ``general_succeed(admission, now)``
    perform an event at an already clamped ``now`` in every case the inlined code does not
    cover; ``reject(now, index)`` performs a rejection by row ``index`` that changed no state
    (it raises), ``refuse(now, index)`` the same rejection for ``try_admit`` (it returns
    ``None``).
    """
    trivial = compiled.trivial_admission if fast_path else None
    source = _entries_source(compiled, fast_path)
    time_of, admit, try_admit, succeed = _factory(source, "<breakerlab entries>")(
        core, tally, read_clock, general_admit, general_try_admit, general_succeed, reject, refuse, trivial, _STATES
    )
    return Entries(time_of, admit, try_admit, succeed, source)


_SOURCES: dict[tuple[int, bool], tuple[CompiledTable, str]] = {}
_SOURCES_LIMIT = 512


def _entries_source(compiled: CompiledTable, fast_path: bool) -> str:
    """The source of the entry points' ``make`` for ``compiled``, generated once per compiled
    table (breakers of one configuration share it)."""
    cached = _SOURCES.get((id(compiled), fast_path))
    if cached is not None and cached[0] is compiled:
        return cached[1]
    trivial = compiled.trivial_admission if fast_path else None
    lines = [
        "def make(v, t, read_clock, general_admit, general_try_admit, general_succeed, reject, refuse, TRIVIAL, S):"
    ]
    lines += [f"    {state.name} = S[{state.name!r}]" for state in State]
    lines += ["    def time_of(now):", *_indent(CLAMP, 8), "        return now", ""]
    for name, general, rejection in (("admit", "general_admit", "reject"), ("try_admit", "general_try_admit", "refuse")):
        lines += [f"    def {name}(now=None):", *_indent(CLAMP, 8)]
        if trivial is not None:
            lines += [
                "        if v.state is TRIVIAL:",
                "            t.admitted += 1",
                "            return (v.generation, TRIVIAL, False, now)",
            ]
            for state, body in _inlined_admissions(compiled, general, rejection).items():
                lines += [f"        if v.state is {state.name}:", *_indent(body, 8)]
        lines += [f"        return {general}(now)", ""]
    lines += ["    def succeed(admission, now=None):", *_indent(CLAMP, 8)]
    inlined = _inlined_success(compiled) if trivial is not None else None
    if inlined is not None:
        lines += [
            "        if t.plain_success and v.state is TRIVIAL:",
            "            permit_generation = admission[0]",
            "            permit_state = admission[1]",
            *_indent(inlined, 8),
        ]
    lines += ["        return general_succeed(admission, now)", ""]
    lines += ["    return time_of, admit, try_admit, succeed", ""]
    source = "\n".join(lines)
    if len(_SOURCES) >= _SOURCES_LIMIT:
        _SOURCES.clear()
    _SOURCES[(id(compiled), fast_path)] = (compiled, source)
    return source


_STATES = {state.name: state for state in State}
#: What an inlined admission's guards and actions may read of the event: its time.
_ADMISSION_ARGS = {"now": "now"}


def _inlined_admissions(compiled: CompiledTable, general: str, rejection: str) -> dict[State, list[str]]:
    """Per state (but the trivial one), its ``acquire`` rows inlined: a rejection (handed to
    the function named ``rejection``) or an admission that changes no state is performed there
    (internal rows' actions included); a row that changes state hands the event to the general
    admission named ``general``, which takes it through the machine. States whose rows read
    more than ``now``, or have effects, are left out."""

    def terminal(index: int, row: Row) -> list[str]:
        verdict = compiled.verdicts[index]
        if row.changes_state:
            return [f"return {general}(now)"]
        if verdict is Verdict.REJECT:
            return [f"return {rejection}(now, {index})"]
        return ["t.admitted += 1", f"return (v.generation, v.state, {verdict is Verdict.ADMIT_PROBE}, now)"]

    inlined: dict[State, list[str]] = {}
    for (state, trigger), indices in compiled.live_rows.items():
        if trigger != "acquire" or state is compiled.trivial_admission:
            continue
        try:
            body, _ = first_match_lines(compiled.table, indices, compiled.params, _ADMISSION_ARGS, terminal)
        except KeyError:
            continue
        inlined[state] = body
    return inlined


def _success_terminal(index: int, row: Row) -> list[str]:
    if row.changes_state:
        return ["return general_succeed(admission, now)"]
    return ["t.successes += 1", "return None"]


def _inlined_success(compiled: CompiledTable) -> list[str] | None:
    """The closed state's ``record_success`` rows inlined (internal rows performed there), or
    ``None`` if they read more of the event than ``now`` and the admission."""
    indices = compiled.live_rows.get((State.CLOSED, "record_success"))
    if indices is None:
        return None
    try:
        body, _ = first_match_lines(compiled.table, indices, compiled.params, KERNEL_ARGS, _success_terminal)
    except KeyError:
        return None
    return body


def build_call(
    compiled: CompiledTable,
    core: Any,
    tally: Tally,
    read_clock: Callable[[], float],
    enter: Callable[[], object],
    leave: Callable[[], object],
    admit: Callable[[], Admission],
    succeed: Callable[[Admission], object],
    settle: Callable[[Admission, BaseException], None],
) -> Callable[..., Any]:
    """Generate ``call(fn, /, *args, **kwargs)``: admit, run ``fn(*args, **kwargs)``, record its
    success, with the clock clamp, the trivial admission and the closed state's success rows
    inlined, each between ``enter()`` and ``leave()`` (a lock's acquire and release).

    Every case the inlined code does not cover is handed over outside ``enter``/``leave``:
    ``admit()`` and ``succeed(admission)`` perform the event in full (and notify), and
    ``settle(admission, error)`` records the exception ``fn`` raised (raising a trip error).
    """
    trivial = compiled.trivial_admission
    inlined = _inlined_success(compiled) if trivial is not None else None
    lines = ["def make(v, t, read_clock, enter, leave, admit, succeed, settle, TRIVIAL):"]
    lines += ["    def call(fn, /, *args, **kwargs):"]
    if trivial is not None:
        lines += [
            "        enter()",
            "        now = None",
            *_indent(CLAMP, 8),
            "        if v.state is TRIVIAL:",
            "            t.admitted += 1",
            "            admission = (v.generation, TRIVIAL, False, now)",
            "            leave()",
            "        else:",
            "            leave()",
            "            admission = admit()",
        ]
    else:
        lines += ["        admission = admit()"]
    lines += [
        "        try:",
        "            result = fn(*args, **kwargs)",
        "        except BaseException as error:",
        "            settle(admission, error)",
        "            raise",
    ]
    if inlined is not None:
        body, _ = first_match_lines(compiled.table, compiled.live_rows[(State.CLOSED, "record_success")],
                                    compiled.params, KERNEL_ARGS, _call_terminal)
        lines += [
            "        enter()",
            "        now = None",
            *_indent(CLAMP, 8),
            "        if t.plain_success and v.state is TRIVIAL:",
            "            permit_generation = admission[0]",
            "            permit_state = admission[1]",
            *_indent(body, 8),
            "        leave()",
        ]
    lines += ["        succeed(admission)", "        return result", "", "    return call", ""]
    make = _factory("\n".join(lines), "<breakerlab call>")
    call: Callable[..., Any] = make(core, tally, read_clock, enter, leave, admit, succeed, settle, trivial)
    return call


@functools.lru_cache(maxsize=256)
def _factory(source: str, filename: str) -> Callable[..., Any]:
    """The ``make`` function the generated ``source`` defines, compiled once per distinct
    source (breakers of one configuration share it; each call of ``make`` binds its own)."""
    namespace: dict[str, Any] = {"_inf": math.inf, "_min": min}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    make: Callable[..., Any] = namespace["make"]
    return make


def _call_terminal(index: int, row: Row) -> list[str]:
    if row.changes_state:
        return ["leave()", "succeed(admission)", "return result"]
    return ["t.successes += 1", "leave()", "return result"]

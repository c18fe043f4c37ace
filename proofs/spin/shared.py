"""The shared breaker in Promela: processes whose events are atomic steps on one store, over a lossy network.

``breakerlab.runtime.shared`` keeps one breaker in Redis and performs every event as one atomic
script run generated from the table. This module generates the SPIN model of that design: the
breaker's steps are exactly the single-breaker model's (``promela.generate``: the table's rows,
its invariant assertions), run by a *store* that also keeps the set of outstanding permits, and
``PROCESSES`` client processes make ``PERMITS`` calls each, every call with its own permit
token. Between a client and the store the network may lose a request (the event did not run)
or its reply (it ran, and the client does not know). Clients send settlements at least once
(a settlement not acknowledged is kept and sent again), and an admission whose outcome the
client never learnt (an *orphan*) is settled by a release of its token. The store performs a
settlement only if its token is outstanding; any other is a *duplicate* and changes nothing.

Checked (``fleet.run_shared``), besides the single model's invariants in every store step
(S2 S3 S4 S9):

* **SH1** (fleet-wide probe limit): while half-open, the probes of the current episode that are
  outstanding on the store, counted from the permits themselves, are at most
  ``half_open_max_calls``.
* **SH2** (no outcome counted twice): the table performs a settlement only of a permit the
  store admitted and has not settled before, and a permit of the current generation was admitted
  in the current state. This is the permit discipline the z3 step proofs assume
  (``Encoding.environment``), so their step properties (S1, S5-S8, S10) hold for every step
  the store performs.
* **SH3** (no outcome lost): ``(<>[] net_ok) -> <> SETTLED`` under weak fairness: if the network
  is eventually reachable for good, every call ends with its client done and every admitted
  permit settled by the table exactly once.

``SharedProtocol`` seeds the protocol's mutants (a store that does not deduplicate, a client
that sends once, a client that forgets its orphans); each must fail one of these checks.
"""

from __future__ import annotations

import dataclasses

from breakerlab.model import BreakerConfig, State, Table
from breakerlab.model.driver import OUTCOMES
from breakerlab.model.table import TRIGGERS

from .processes import SpinEnvironment
from .promela import PromelaModel, generate
from .trail import parse_steps
from .vocabulary import CLOCK, EVENTS, MANUAL, MANUAL_EVENTS, POLLER

__all__ = ["NET", "NET_EVENTS", "PROTOCOL_MUTANTS", "REFERENCE", "SharedProtocol", "format_shared_steps", "generate_shared",
           "parse_shared_steps", "slot_name"]

#: What a ``@@NET`` line reports: what the network or the store did with a message (no table row).
NET_EVENTS: tuple[str, ...] = ("request_lost", "reply_lost", "duplicate", "net_down", "net_up", "net_stable",
                               "given_up", "orphan_forgotten")
#: ``who`` of the network's own steps (``@@NET`` lines; slots print their index).
NET = 104


@dataclasses.dataclass(frozen=True, kw_only=True)
class SharedProtocol:
    """What the store and the clients do about lost messages (the reference: all three on).

    Attributes:
        deduplicate: The store performs a settlement only if its permit is outstanding (the
            script's ``ZREM``); off, it performs every settlement it receives.
        resend: A client sends a settlement again until it sees the reply (at least once);
            off, it sends it once (at most once).
        release_orphans: A client releases the token of an admission whose reply it did not
            see; off, it forgets it.
    """

    deduplicate: bool = True
    resend: bool = True
    release_orphans: bool = True


#: The protocol ``breakerlab.runtime.shared`` is designed to: every switch on.
REFERENCE = SharedProtocol()

#: Seeded mutants of the protocol, and the check each must fail (``fleet.run_shared``).
PROTOCOL_MUTANTS: dict[str, tuple[SharedProtocol, str]] = {
    "store_without_dedup": (SharedProtocol(deduplicate=False), "safety"),
    "client_sends_once": (SharedProtocol(resend=False), "SH3"),
    "client_forgets_orphans": (SharedProtocol(release_orphans=False), "SH3"),
}


def generate_shared(
    table: Table,
    config: BreakerConfig,
    *,
    processes: int = 2,
    permits: int = 2,
    manual: int | None = None,
    protocol: SharedProtocol = REFERENCE,
) -> str:
    """The Promela model of ``processes`` clients sharing one breaker through one store (text,
    deterministic).

    Args:
        table, config: As for ``promela.generate`` (the same configurations are supported).
        processes: Client processes (each a ``Process`` of the model).
        permits: Calls each process makes, each with its own permit token; all of a process's
            calls may be in flight at once, their messages sent in any order.
        manual: How many manual triggers a ``Manual`` process fires on the store, at any time
            (``None``: any number; ``0``: no ``Manual`` process).
        protocol: The reference protocol, or one of ``PROTOCOL_MUTANTS``.

    Raises:
        ValueError: a bad count, or a configuration or table ``promela.generate`` refuses.
    """
    for name, value in (("processes", processes), ("permits", permits)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"'{name}' must be an int >= 1 (got {value!r})")
    if manual is not None and (not isinstance(manual, int) or manual < 0):
        raise ValueError(f"'manual' must be None (any number) or an int >= 0 (got {manual!r})")
    slots = processes * permits
    single = generate(table, config, callers=slots, environment=SpinEnvironment(releases=0, outage=False))
    model = PromelaModel(table, config)
    # The breaker is promela.generate's, verbatim: everything between its header comment and its
    # first process (defines, globals, the step inlines with the invariant assertions, and one
    # on_<trigger> inline per trigger, from the table). promela has no call for that part alone,
    # so it is taken from the whole model between those two boundaries.
    body, cut = single.find("*/") + 2, single.find("\nproctype ")
    if not single.startswith("/*") or cut < body:
        raise ValueError("promela.generate's output must be its header comment, the breaker, then the processes; "
                         "update breakerlab.proofs.spin.shared to its new layout")
    breaker = single[body:cut].strip("\n")
    lines = [*_header(model, processes, permits, manual, protocol), breaker, "",
             *_store(model, processes, permits, protocol), *_clients(permits, protocol),
             *_environment(model, processes, manual)]
    return "\n".join(lines) + "\n"


def _header(m: PromelaModel, processes: int, permits: int, manual: int | None, protocol: SharedProtocol) -> list[str]:
    params = m.config.table_params()
    width = max(len(k) for k in params)
    return [
        "/*",
        " * generated by breakerlab.proofs.spin.shared — do not edit",
        f" * table digest: {m.table.digest()}",
        " * config (the table's parameters):",
        *[f" *   {k.ljust(width)} = {v!r}" for k, v in params.items()],
        f" * the shared breaker: {processes} processes x {permits} permit{'s' if permits != 1 else ''} "
        f"(one call each, tokens 0..{processes * permits - 1}),",
        " *   one store, a lossy network, Clock, Net" + (", Poller" if m.poll else "") + _manual_words(manual),
        f" * protocol: deduplicate={protocol.deduplicate}, resend={protocol.resend}, "
        f"release_orphans={protocol.release_orphans}",
        " * the store: the breaker below (promela.generate's steps, abstractions and assertions; its",
        " *   caller c is token c) and its outstanding permits: holds[s] (token s admitted, not yet",
        " *   settled); with each it keeps the permit's admitting state and whether a state change came",
        " *   since (pstate[s], stale[s]), so a settlement is judged by its admission even when the client",
        " *   never saw it.",
        " * the network: while net_ok = 0 a request may be lost (the event did not run) or its reply (it",
        " *   ran, the client does not know); Net takes it down and up any number of times, and may stop.",
        " *   Polls and manual triggers carry no permit: a lost one is one not sent, so they are plain store",
        " *   events here.",
        " * a client's call s: cl[s] = CALL_IDLE, CALL_PENDING (a settlement out[s] to deliver) or",
        " *   CALL_DONE. An admission it saw is settled with any outcome; one it did not see (an orphan)",
        " *   with a release. A process's calls send in any order (the runtime sends kept settlements",
        " *   oldest first: one of these orders).",
        " * assertions (safety run): S2 S3 S4 S9 after every store step (as in the single model), SH1 (the",
        " *   outstanding probes of the current episode fleet-wide), SH2 (the table settles a permit only",
        " *   if the store admitted it and did not settle it before, current generation => admitted in",
        " *   the current state).",
        " * LTL: SH3 (<>[] net_ok) -> <> SETTLED: every client done, every admitted permit settled once.",
        " * fairness (pan -a -f, weak fairness): a process that stays enabled eventually moves.",
        " */",
        "",
    ]


def _store(m: PromelaModel, processes: int, permits: int, protocol: SharedProtocol) -> list[str]:
    """The shared globals and the store's two events that carry a permit: admission, settlement."""
    slots = range(processes * permits)
    probes = " + ".join(f"((holds[{s}] && !stale[{s}] && pstate[{s}] == HALF_OPEN) -> 1 : 0)" for s in slots)
    settled = " && ".join(f"cl[{s}] == CALL_DONE" for s in slots) + " && !unsettled"
    net = {name: i for i, name in enumerate(NET_EVENTS)}
    ev = EVENTS.index
    admitted = "holds[s] = 1; stale[s] = 0; pstate[s] = mode; issued[s] = 1; admitted = 1"
    lines = [
        "/* the shared breaker: clients, network, and the store's outstanding permits */",
        f"#define PERMITS {permits}",
        "#define CALL_IDLE 0       /* cl[s]: call s not sent yet */",
        "#define CALL_PENDING 1    /* ... a settlement to deliver (out[s]; 0: the call is still running) */",
        "#define CALL_DONE 2       /* ... finished */",
        "#define SLOT(p, k) ((p) * PERMITS + (k))",
        f"#define PROBES_OUT ({probes})",
        f"#define SETTLED ({settled})",
        "",
        "bit net_ok = 1;           /* the network delivers every message */",
        "byte cl[NCALLERS];        /* client's call s: CALL_IDLE, CALL_PENDING, CALL_DONE */",
        "byte out[NCALLERS];       /* ... the settlement (an event code) */",
        "bit issued[NCALLERS];     /* ghost: the store admitted token s */",
        "bit recorded[NCALLERS];   /* ghost: the table performed a settlement of token s */",
        "bit unsettled = 0;        /* ghost: a call finished with its admission not settled exactly once */",
        "",
        "/* call s is finished: its ghosts are folded into unsettled (nothing refers to token s again) */",
        "inline finish(s) {",
        "  unsettled = unsettled || issued[s] != recorded[s];",
        "  cl[s] = CALL_DONE; out[s] = 0; issued[s] = 0; recorded[s] = 0",
        "}",
        "",
        "inline net_log(who, ev) {",
        '  printf("@@NET who=%d ev=%d now=%d\\n", who, ev, now_abs)',
        "}",
        "",
        "/* the store performs an admission of token s */",
        "inline store_acquire(s) {",
        "  begin_step(s);",
        "  on_acquire(s);",
        f"  if :: verdict == 1 || verdict == 2 -> {admitted} :: else fi;",
        f"  end_step(s, {ev('acquire')});",
        "  assert(mode != HALF_OPEN || PROBES_OUT <= MAX_CALLS)  /* SH1 */",
        "}",
        "",
        "/* the store receives the settlement out[s] of token s */",
        "inline store_settle(s) {",
        "  if",
        "  :: holds[s] ->  /* outstanding: the script's ZREM removes it */" if protocol.deduplicate
        else "  :: true ->  /* MUTANT: the store performs every settlement it receives */",
        *([] if protocol.deduplicate else [f"     if :: !holds[s] -> net_log(s, {net['duplicate']}) :: else fi;"]),
        "     assert(issued[s] && !recorded[s] && (stale[s] || pstate[s] == mode));  /* SH2 */",
        "     recorded[s] = 1;",
        "     begin_step(s);",
        "     if",
        *[f"     :: out[s] == {ev(t)} -> on_{t}(s); end_step(s, {ev(t)})" for t in OUTCOMES],
        "     fi;",
        "     holds[s] = 0; stale[s] = 0; pstate[s] = 0; scrub()",
    ]
    if protocol.deduplicate:
        lines.append(f"  :: else -> net_log(s, {net['duplicate']})  /* not outstanding: changes nothing */")
    lines += ["  fi", "}", ""]
    return lines


def _clients(permits: int, protocol: SharedProtocol) -> list[str]:
    """``Process(p)``: its calls ``SLOT(p, k)``, each an admission then a settlement, at least once."""
    net = {name: i for i, name in enumerate(NET_EVENTS)}
    ev = EVENTS.index
    choose = " ".join(f":: out[s] = {ev(t)}" for t in OUTCOMES)
    orphan = (f"cl[s] = CALL_PENDING; out[s] = {ev('release')}" if protocol.release_orphans
              else f"finish(s); net_log(s, {net['orphan_forgotten']})  /* MUTANT */")
    unacknowledged = ("skip  /* kept: sent again later */" if protocol.resend
                      else f"finish(s); net_log(s, {net['given_up']})  /* MUTANT: sent once */")
    lines = [
        "/* call s sends its admission; a reply it does not see makes it an orphan */",
        "inline send_acquire(s) {",
        "  if",
        f"  :: !net_ok -> net_log(s, {net['request_lost']}); {orphan}",
        "  :: true ->",
        "     store_acquire(s);",
        "     if",
        "     :: net_ok && admitted -> cl[s] = CALL_PENDING  /* the call runs; out[s] = 0: outcome not known yet */",
        "     :: net_ok && !admitted -> finish(s)  /* rejected */",
        f"     :: !net_ok -> net_log(s, {net['reply_lost']}); {orphan}",
        "     fi;",
        "     scrub()",
        "  fi",
        "}",
        "",
        "/* call s sends its settlement; done when it sees the reply */",
        "inline send_settle(s) {",
        f"  if :: out[s] == 0 -> if {choose} fi :: else fi;  /* the call's outcome, when it ends */",
        "  if",
        f"  :: !net_ok -> net_log(s, {net['request_lost']}); {unacknowledged}",
        "  :: true ->",
        "     store_settle(s);",
        "     if",
        "     :: net_ok -> finish(s)",
        f"     :: !net_ok -> net_log(s, {net['reply_lost']}); {unacknowledged}",
        "     fi",
        "  fi",
        "}",
        "",
        "proctype Process(byte p) {",
        "  do",
    ]
    for k in range(permits):
        slot = f"SLOT(p, {k})"
        lines += [f"  :: atomic {{ cl[{slot}] == CALL_IDLE -> send_acquire({slot}) }}",
                  f"  :: atomic {{ cl[{slot}] == CALL_PENDING -> send_settle({slot}) }}"]
    finished = " && ".join(f"cl[SLOT(p, {k})] == CALL_DONE" for k in range(permits))
    lines += [f"  :: {finished} -> break", "  od", "}", ""]
    return lines


def _environment(m: PromelaModel, processes: int, manual: int | None) -> list[str]:
    """``Clock``, ``Net`` (and ``Poller``, ``Manual``), ``init`` and the LTL claim."""
    net = {name: i for i, name in enumerate(NET_EVENTS)}
    ev = EVENTS.index
    tick = " ".join(f"{n} = ({n} > FLOOR -> {n} - 1 : FLOOR);"
                    for n in (m.times.stored_name(v) for v in m.vars if m.times.is_time(v)))
    lines = ["proctype Clock() {", "  do", f"  :: atomic {{ {tick} now_abs++; log_step({CLOCK}, {ev('tick')}) }}",
             "  od", "}", "",
             "proctype Net() {", "  do",
             f"  :: atomic {{ net_ok -> net_ok = 0; net_log({NET}, {net['net_down']}) }}",
             f"  :: atomic {{ !net_ok -> net_ok = 1; net_log({NET}, {net['net_up']}) }}",
             f"  :: atomic {{ net_ok -> net_log({NET}, {net['net_stable']}) }}; break  /* reachable for good */",
             "  od", "}", ""]
    if m.poll:
        lines += ["proctype Poller() {", "  do",
                  f"  :: atomic {{ begin_step(0); on_poll(0); end_step({POLLER}, {ev('poll')}); scrub() }}",
                  "  od", "}", ""]
    if manual != 0:
        budget = "" if manual is None else "manual_left > 0 -> manual_left--; "
        lines += ["proctype Manual() {", *([f"  byte manual_left = {manual};"] if manual is not None else []), "  do"]
        lines += [f"  :: atomic {{ {budget}begin_step(0); on_{t}(0); end_step({MANUAL}, {ev(t)}); scrub() }}"
                  for t in MANUAL_EVENTS if t in TRIGGERS]
        lines += [*(["  :: manual_left == 0 -> break"] if manual is not None else []), "  od", "}", ""]
    runs = [f"run Process({p});" for p in range(processes)] + ["run Clock();", "run Net();"]
    runs += ["run Poller();"] * m.poll + ["run Manual();"] * (manual != 0)
    return [*lines, "init {", "  atomic { " + " ".join(runs) + " }", "}", "",
            "ltl SH3 { (<>[] net_ok) -> <> SETTLED }"]


def _manual_words(manual: int | None) -> str:
    if manual == 0:
        return ""
    return ", Manual (any number of manual triggers)" if manual is None else f", Manual (at most {manual} manual triggers)"


# -- trails --------------------------------------------------------------------------------------


def parse_shared_steps(replay_output: str) -> tuple[dict[str, object], ...]:
    """The ``@@STEP`` and ``@@NET`` lines of a trail replay, in order, as dicts.

    A ``@@STEP`` line (a store event, a tick, a manual step) is read as ``trail.parse_steps``
    reads it (``who`` is ``caller<s>`` for token ``s``); a ``@@NET`` line has ``n``, ``who``,
    ``event`` (one of ``NET_EVENTS``), ``now`` and ``cycle``.
    """
    steps: list[dict[str, object]] = []
    cycle = False
    for line in replay_output.splitlines():
        if "START OF CYCLE" in line:
            cycle = True
        elif line.startswith("@@STEP "):
            [step] = parse_steps(line)
            steps.append(step | {"n": len(steps) + 1, "cycle": cycle})
        elif line.startswith("@@NET "):
            fields = {key: int(value) for key, value in (item.split("=", 1) for item in line.split()[1:])}
            who = "net" if fields["who"] == NET else f"caller{fields['who']}"
            steps.append({"n": len(steps) + 1, "who": who, "event": NET_EVENTS[fields["ev"]], "now": fields["now"],
                          "cycle": cycle})
    return tuple(steps)


def slot_name(who: object, permits: int) -> str:
    """``caller<s>`` as the call it is: ``p<process>.<permit>`` (other names unchanged)."""
    text = str(who)
    if text.startswith("caller") and text[6:].isdigit():
        slot = int(text[6:])
        return f"p{slot // permits}.{slot % permits}"
    return text


def format_shared_steps(steps: tuple[dict[str, object], ...], permits: int, table: Table) -> str:
    """A numbered step list: time, the call (``p0.1``) or process, event (row cause, verdict), mode."""
    lines = []
    for step in steps:
        row = step.get("row", -1)
        cause = table.rows[row].cause if isinstance(row, int) and row >= 0 else ""
        detail = ", ".join(str(x) for x in (cause, step.get("verdict")) if x)
        what = f"{step['event']} ({detail})" if detail else str(step["event"])
        mode = step.get("mode")
        after = f"-> {mode}" if isinstance(mode, str) and mode in {s.value for s in State} else ""
        marker = "  <cycle>" if step["cycle"] else ""
        lines.append(f"{step['n']:4}. t={step['now']!s:<3} {slot_name(step['who'], permits):<7} {what:<44} {after}{marker}")
    return "\n".join(line.rstrip() for line in lines)

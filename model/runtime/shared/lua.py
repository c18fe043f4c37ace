"""The transition table as one Redis function (Lua), specialised to one configuration.

Like the compiled Python (``breakerlab.model.pycompile``), the z3 terms and the Promela models,
the script is generated from ``TABLE``: the table is folded with the configuration's parameters
(``BreakerConfig.table_params()``), and every (state, trigger) pair becomes a Lua function that
tries the pair's rows in order and returns the index of the first whose guard holds. The
script then performs that row (its actions as one simultaneous assignment, its effects on the
trip window, its destination), so one ``FCALL`` performs one whole event atomically on the
server: no other client's event can interleave with it. The code is a Redis function library
(Redis 7): its tables and dispatch functions are built once, when the library is loaded, and
each event runs only the registered function.

Beyond the table, the script performs what ``Breaker`` does around it, each a rule of the
model written once here in Lua and checked against the Python breaker by the differential
test (``tests/test_shared_lua.py``):

* the clock: the event's time is the Redis server's (``TIME``), or the caller's when given, and
  never runs back (an event timed before the latest one is performed at the latest one's time);
* the trip window (``breakerlab.model.window``): a count or time window kept as a Redis list;
* ``call_timeout`` (a success that lasted longer is a failure) and the slow-call threshold;
* permits: every admission gets a fleet-wide id and is kept, under the token its caller chose,
  among the outstanding permits until it is settled, so that settling a permit twice (a
  retry after a lost reply) is recognised and changes nothing;
* the totals of ``BreakerStats`` and the event sequence number of the event log.

The breaker is stored as one MessagePack array (Redis's ``cmsgpack``), which keeps every
double exactly; replies carry integers as numbers and other numbers as ``%.17g`` strings, which
a double survives exactly too (a Lua number in a reply is truncated to an integer, and Lua's
own ``tostring`` keeps 14 digits).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping

from breakerlab.model.config import BreakerConfig, TripRule
from breakerlab.model.expr import (
    Arg,
    Assign,
    BinOp,
    BoolOp,
    Cmp,
    Const,
    Effect,
    Expr,
    Ite,
    Not,
    Param,
    Value,
    Var,
    evaluate,
    fold,
    names,
)
from breakerlab.model.states import State
from breakerlab.model.table import TABLE, TRIGGERS, VARIABLES, Row, Table

__all__ = ["INTEGER_VARIABLES", "REPLY_FIELDS", "STATS_FIELDS", "SharedScript", "lua_source", "shared_script"]

#: The totals kept beside the formal state (``BreakerStats``' fields).
STATS_FIELDS: tuple[str, ...] = ("admitted", "successes", "failures", "released", "rejections", "state_changes")

#: The fields of the script's reply, in order (every value a string); the formal state
#: variables (``VARIABLES``) follow them.
REPLY_FIELDS: tuple[str, ...] = (
    "status",  # ok | duplicate | not_due | mismatch
    "row",  # index of the row taken (-1 when none was)
    "trigger",  # the trigger performed (a success that overran call_timeout is a record_failure)
    "source",  # the state before the event
    "state",  # the state after it
    "seq",  # the event's number in the breaker's history (1, 2, ...)
    "now",  # the time it was performed at
    "permit",  # the fleet-wide id of the permit admitted or settled ("" otherwise)
    "source_generation",  # the generation before the event
    "permit_generation",  # the settled permit's generation ("" otherwise)
    "permit_state",  # the state that admitted the settled permit ("" otherwise)
    "admitted_at",  # when the settled permit was admitted ("" otherwise)
)

#: The formal variables that hold integers (declared with an integer initial value): the reply
#: carries them as numbers, which Redis keeps exact only for integers.
INTEGER_VARIABLES: frozenset[str] = frozenset(
    name for name, expr in VARIABLES.items() if isinstance(expr, Const) and type(expr.value) is int
)


def lua_literal(value: Value) -> str:
    """A Lua literal for a constant of the table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "math.huge" if value > 0 else "(-math.huge)"
        if math.isnan(value):
            raise ValueError("NaN has no place in the breaker's state")
        return repr(value)  # the shortest repr reads back as the same double
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lua_source(expr: Expr) -> str:
    """Lua source for a folded expression: ``Var`` s read ``v``, ``Arg`` s read ``a``."""
    if isinstance(expr, Const):
        return lua_literal(expr.value)
    if isinstance(expr, Var):
        return f"v.{expr.name}"
    if isinstance(expr, Arg):
        return f"a.{expr.name}"
    if isinstance(expr, Param):
        raise ValueError(f"parameter {expr.name!r} has no value: fold the expression with the config first")
    if isinstance(expr, BinOp):
        left, right = lua_source(expr.left), lua_source(expr.right)
        if expr.op == "min":
            return f"math.min({left}, {right})"
        return f"({left} {expr.op} {right})"
    if isinstance(expr, Cmp):
        op = {"==": "==", "!=": "~="}.get(expr.op, expr.op)
        return f"({lua_source(expr.left)} {op} {lua_source(expr.right)})"
    if isinstance(expr, BoolOp):
        return "(" + f" {expr.op} ".join(lua_source(o) for o in expr.operands) + ")"
    if isinstance(expr, Not):
        return f"(not {lua_source(expr.operand)})"
    if isinstance(expr, Ite):
        # Both branches are plain values (no side effects), so a function is a faithful ternary
        # (``c and x or y`` is not: it yields y when x is false).
        return f"_ite({lua_source(expr.cond)}, {lua_source(expr.then)}, {lua_source(expr.orelse)})"
    raise TypeError(f"unknown expression node {expr!r}")


def _apply_lines(row: Row, params: Mapping[str, Value]) -> list[str]:
    """A row's actions: every right-hand side evaluated first, then assigned; then its effects."""
    folded = [(a.var, fold(a.expr, params)) for a in row.actions if isinstance(a, Assign)]
    folded = [(var, expr) for var, expr in folded if expr != Var(var)]
    lines = [f"  local t{n} = {lua_source(expr)}" for n, (_, expr) in enumerate(folded)]
    lines += [f"  v.{var} = t{n}" for n, (var, _) in enumerate(folded)]
    for effect in (a for a in row.actions if isinstance(a, Effect)):
        when = fold(effect.when, params)
        if when == Const(False):
            continue
        call = f"fx_{effect.name}(v, a)"
        lines.append(f"  {call}" if when == Const(True) else f"  if {lua_source(when)} then {call} end")
    return lines


def _dispatch_lines(table: Table, state: State, trigger: str, params: Mapping[str, Value]) -> list[str]:
    lines = [f'DISPATCH["{state.value}"]["{trigger}"] = function(v, a)']
    for index, row in enumerate(table.rows):
        if row.source is not state or row.trigger != trigger:
            continue
        guard = fold(row.guard, params)
        if guard == Const(False):
            continue
        if guard == Const(True):
            lines.append(f"  return {index}")
            break
        lines.append(f"  if {lua_source(guard)} then return {index} end")
    lines.append("end")
    return lines


def _window_lines(config: BreakerConfig) -> list[str]:
    """The trip window (``breakerlab.model.window``) on the Redis list ``KEYS[2]`` and the
    counters ``w_calls``/``w_failures``/``w_slow``: entries ``"t f s"`` (time, failed, slow)."""
    if config.trip_rule is TripRule.CONSECUTIVE:
        return [
            "local function window_counts(v, a) end",
            "local function fx_window_record(v, a) end",
            "local function fx_window_clear(v, a) end",
        ]
    lines = [
        "local function window_entry(i)",
        "  local e = redis.call('LINDEX', WINDOW_KEY, i)",
        "  local t, f, s = string.match(e, '^(%S+) (%d) (%d)$')",
        "  return tonumber(t), tonumber(f), tonumber(s)",
        "end",
        "local function window_pop(v)",
        "  local _, f, s = window_entry(0)",
        "  redis.call('LPOP', WINDOW_KEY)",
        "  v.w_calls = v.w_calls - 1",
        "  v.w_failures = v.w_failures - f",
        "  v.w_slow = v.w_slow - s",
        "end",
    ]
    if config.trip_rule is TripRule.COUNT_WINDOW:
        size = lua_literal(config.window_size)
        lines += [
            "local function window_counts(v, a)",
            f"  if v.w_calls < {size} then",
            "    a.window_calls = v.w_calls + 1",
            "    a.window_failures = v.w_failures + a.failed",
            "    a.window_slow = v.w_slow + a.slow",
            "  else",
            "    local _, f, s = window_entry(0)",
            "    a.window_calls = v.w_calls",
            "    a.window_failures = v.w_failures + a.failed - f",
            "    a.window_slow = v.w_slow + a.slow - s",
            "  end",
            "end",
            "local function fx_window_record(v, a)",
            f"  if v.w_calls == {size} then window_pop(v) end",
        ]
    else:
        duration = lua_literal(float(config.window_duration))
        lines += [
            "local function window_expire(v, now)",
            f"  local horizon = now - {duration}",
            "  while v.w_calls > 0 do",
            "    local t = window_entry(0)",
            "    if t > horizon then break end",
            "    window_pop(v)",
            "  end",
            "end",
            "local function window_counts(v, a)",
            "  window_expire(v, a.now)",
            "  a.window_calls = v.w_calls + 1",
            "  a.window_failures = v.w_failures + a.failed",
            "  a.window_slow = v.w_slow + a.slow",
            "end",
            "local function fx_window_record(v, a)",
            "  window_expire(v, a.now)",
        ]
    lines += [
        "  redis.call('RPUSH', WINDOW_KEY, _num(a.now) .. ' ' .. a.failed .. ' ' .. a.slow)",
        "  v.w_calls = v.w_calls + 1",
        "  v.w_failures = v.w_failures + a.failed",
        "  v.w_slow = v.w_slow + a.slow",
        "end",
        "local function fx_window_clear(v, a)",
        "  redis.call('DEL', WINDOW_KEY)",
        "  v.w_calls = 0",
        "  v.w_failures = 0",
        "  v.w_slow = 0",
        "end",
    ]
    return lines


def _optional(value: float | None) -> str:
    return "false" if value is None else lua_literal(float(value))


def _generate(table: Table, config: BreakerConfig) -> str:
    params = config.table_params()
    variables = list(VARIABLES)
    numeric = [*variables, "w_calls", "w_failures", "w_slow", "last_now", "seq", "next_permit", *STATS_FIELDS]
    initial = {name: evaluate(expr, params) for name, expr in VARIABLES.items()}
    state_values = [s.value for s in State]
    lines = [
        f"-- breakerlab: transition table {table.digest()[:16]}, generated for one configuration.",
        "-- A Redis function library: this code runs once, when the library is loaded; each event",
        "-- is one call of the registered function (FCALL), atomic on the server.",
        "-- KEYS: the breaker's hash, its trip window, its outstanding permits (a sorted set of",
        "--       tokens by admission time) and their details (token -> 'id generation state at').",
        "-- ARGV: trigger, now ('' = server time), permit token (the caller's unique name for an",
        "--       admission, and what a settlement names), jitter, only-if-due ('1': a poll performs",
        "--       nothing unless it changes the state), permit expiry seconds ('' = never), script id.",
        "local function _ite(c, x, y) if c then return x else return y end end",
        "local function _num(x) return string.format('%.17g', x) end",
        f"local NUMERIC = {{{', '.join(lua_literal(n) for n in numeric)}}}",
        f"local VARIABLES = {{{', '.join(lua_literal(n) for n in variables)}}}",
        f"local STATS = {{{', '.join(lua_literal(n) for n in STATS_FIELDS)}}}",
        "local INITIAL = {" + ", ".join(f"{n} = {lua_literal(initial[n])}" for n in variables) + "}",
        f"local INITIAL_STATE = {lua_literal(table.initial.value)}",
        "local INTEGER = {" + ", ".join(f"{n} = true" for n in sorted(INTEGER_VARIABLES)) + "}",
        "local WINDOW_KEY = nil  -- the trip window's key, set at the start of each event",
        "",
        *_window_lines(config),
        "",
        "local DISPATCH = {" + ", ".join(f'["{s}"] = {{}}' for s in state_values) + "}",
    ]
    for state in State:
        for trigger in TRIGGERS:
            lines += _dispatch_lines(table, state, trigger, params)
    lines.append("local APPLY = {}")
    for index, row in enumerate(table.rows):
        body = _apply_lines(row, params)
        if body:
            lines += [f"APPLY[{index}] = function(v, a)", *body, "end"]
    dests = ", ".join(f"[{i}] = {lua_literal(r.dest.value)}" for i, r in enumerate(table.rows) if r.dest is not None)
    verdicts = ", ".join(
        f"[{i}] = {lua_literal(r.verdict.value)}" for i, r in enumerate(table.rows) if r.verdict is not None
    )
    lines += [
        f"local DEST = {{{dests}}}",
        f"local VERDICT = {{{verdicts}}}",
        f"local CALL_TIMEOUT = {_optional(config.call_timeout)}",
        f"local SLOW_THRESHOLD = {_optional(config.slow_call_duration_threshold)}",
        "",
        _BODY,
    ]
    return "\n".join(lines) + "\n"


def function_name(digest: str) -> str:
    """The name under which the library for the script ``digest`` registers its function."""
    return f"breakerlab_{digest[:24]}"


_BODY = """
-- Integers travel as numbers (a reply keeps an integer exactly), other numbers as %.17g text.
-- Every variable is sent only when asked for (ARGV[8] == '1': a snapshot, an event log);
-- otherwise only the two an event's caller needs (the generation and open_until).
local function reply_for(status, row, trigger, source, v, now, permit, source_generation, held, full)
  local reply = {status, row, trigger, source, v.state, v.seq, _num(now), permit, source_generation}
  if held then
    reply[10] = held[2]
    reply[11] = held[3]
    reply[12] = _num(held[4])
  else
    reply[10] = ''
    reply[11] = ''
    reply[12] = ''
  end
  if full then
    for _, name in ipairs(VARIABLES) do
      local x = v[name]
      if INTEGER[name] then reply[#reply + 1] = x else reply[#reply + 1] = _num(x) end
    end
  else
    reply[#reply + 1] = v.generation
    reply[#reply + 1] = _num(v.open_until)
  end
  return reply
end

local function event(KEYS, ARGV)
WINDOW_KEY = KEYS[2]
local SCRIPT_ID = ARGV[7]
local full = ARGV[8] == '1'
local trigger = ARGV[1]
if trigger ~= 'peek' and DISPATCH[INITIAL_STATE][trigger] == nil then
  return redis.error_reply('breakerlab: unknown trigger ' .. tostring(trigger))
end

-- load the breaker (one MessagePack array: script id, state, then NUMERIC in order, every
-- double exact), creating it on first use (a new process never resets it)
local v = {}
local blob = redis.call('GET', KEYS[1])
if not blob then
  if trigger == 'peek' then return {'absent'} end
  for name, value in pairs(INITIAL) do v[name] = value end
  v.state = INITIAL_STATE
  for _, name in ipairs({'w_calls', 'w_failures', 'w_slow', 'seq', 'next_permit'}) do v[name] = 0 end
  for _, name in ipairs(STATS) do v[name] = 0 end
  v.last_now = -math.huge
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
else
  local data = cmsgpack.unpack(blob)
  if data[1] ~= SCRIPT_ID then return {'mismatch', data[1]} end
  v.state = data[2]
  for i, name in ipairs(NUMERIC) do v[name] = data[i + 2] end
end

if trigger == 'peek' then
  -- the stored state as it is, performing nothing; the totals follow the variables
  local reply = reply_for('peek', -1, trigger, v.state, v, v.last_now, '', v.generation, nil, true)
  for _, name in ipairs(STATS) do reply[#reply + 1] = v[name] end
  return reply
end

-- the event's time: the caller's, or the server's; never before the latest event's
local now = tonumber(ARGV[2])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
if now < v.last_now then now = v.last_now end

local a = {now = now, jitter = tonumber(ARGV[4]) or 0, failed = 0, slow = 0,
           permit_generation = -1, permit_state = 'closed',
           window_calls = 0, window_failures = 0, window_slow = 0}
local token = ARGV[3]
if trigger == 'acquire' and token == '' then
  return redis.error_reply('breakerlab: an admission needs a permit token')
end
local held = nil
local is_outcome = trigger == 'record_success' or trigger == 'record_failure' or trigger == 'release'
if is_outcome then
  -- a permit is settled once: a settlement of a token that is not outstanding (a second
  -- delivery after a lost reply, or the release of an admission that never ran) changes nothing
  local details = redis.call('HGET', KEYS[4], token)
  if not details then
    return reply_for('duplicate', -1, trigger, v.state, v, now, '', v.generation, nil, full)
  end
  redis.call('ZREM', KEYS[3], token)
  redis.call('HDEL', KEYS[4], token)
  held = cmsgpack.unpack(details)  -- {id, generation, admitting state, admitted at}
  a.permit_generation = held[2]
  a.permit_state = held[3]
  local admitted_at = held[4]
  if trigger == 'record_success' and CALL_TIMEOUT and now - admitted_at > CALL_TIMEOUT then
    trigger = 'record_failure'
  end
  if trigger ~= 'release' then
    if trigger == 'record_failure' then a.failed = 1 end
    if SLOW_THRESHOLD and now - admitted_at > SLOW_THRESHOLD then a.slow = 1 end
    window_counts(v, a)
  end
end

local source = v.state
local source_generation = v.generation
local row = DISPATCH[source][trigger](v, a)
local dest = DEST[row]
if trigger == 'poll' and ARGV[5] == '1' and dest == nil then
  return reply_for('not_due', row, trigger, source, v, now, '', v.generation, nil, full)
end
if APPLY[row] then APPLY[row](v, a) end
if dest ~= nil then
  v.state = dest
  v.state_changes = v.state_changes + 1
end

local issued = ''
if trigger == 'acquire' then
  if VERDICT[row] == 'reject' then
    v.rejections = v.rejections + 1
  else
    v.admitted = v.admitted + 1
    v.next_permit = v.next_permit + 1
    issued = v.next_permit
    redis.call('ZADD', KEYS[3], now, token)
    redis.call('HSET', KEYS[4], token, cmsgpack.pack({issued, v.generation, v.state, now}))
    local expiry = tonumber(ARGV[6])
    if expiry then
      local horizon = '(' .. _num(now - expiry)
      local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', horizon)
      if #old > 0 then
        redis.call('HDEL', KEYS[4], unpack(old))
        redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', horizon)
      end
    end
  end
elseif trigger == 'record_success' then v.successes = v.successes + 1
elseif trigger == 'record_failure' then v.failures = v.failures + 1
elseif trigger == 'release' then v.released = v.released + 1
end
v.seq = v.seq + 1
v.last_now = now

local data = {SCRIPT_ID, v.state}
for i, name in ipairs(NUMERIC) do data[i + 2] = v[name] end
redis.call('SET', KEYS[1], cmsgpack.pack(data))

if held then issued = held[1] end
return reply_for('ok', row, trigger, source, v, now, issued, source_generation, held, full)
end
"""


@dataclasses.dataclass(frozen=True)
class SharedScript:
    """The generated script for one (table, configuration), and its identity.

    Attributes:
        source: The Lua source of a Redis function library (``FUNCTION LOAD``).
        digest: SHA-256 of the generated code: the identity stored with the breaker in Redis,
            so that a process whose configuration differs is refused instead of mixing two
            breakers.
        variables: The formal state variables in the order the reply carries them.
        function: The name of the library's function (``FCALL function 4 keys... args...``).
    """

    source: str
    digest: str
    variables: tuple[str, ...]
    function: str


def shared_script(config: BreakerConfig, table: Table = TABLE) -> SharedScript:
    """The script performing ``table``'s events for ``config`` on a Redis server.

    Raises:
        ValueError: a configuration value the script cannot carry (a NaN).
    """
    code = _generate(table, config)
    unused = names_outside(table)
    assert not unused, unused
    digest = hashlib.sha256(code.encode()).hexdigest()
    name = function_name(digest)
    source = f"#!lua name={name}\n{code}redis.register_function('{name}', event)\n"
    return SharedScript(source, digest, tuple(VARIABLES), name)


def names_outside(table: Table) -> frozenset[str]:
    """Event arguments the table reads that the script does not set (none: a test keeps it so)."""
    provided = {"now", "jitter", "permit_generation", "permit_state", "window_calls", "window_failures", "window_slow"}
    used: set[str] = set()
    for row in table.rows:
        used |= names(row.guard, Arg)
        for action in row.actions:
            used |= names(action.expr if isinstance(action, Assign) else action.when, Arg)
    return frozenset(used - provided)

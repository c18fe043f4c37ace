"""Conformance of six breaker libraries: what each does in every catalogue scenario.

The libraries are pybreaker, circuitbreaker, aiobreaker and purgatory (Python, run in process) and
opossum and cockatiel (npm, run by the node driver ``proofs/conform/node/driver.mjs``).
``EXPECTED`` is the observed-behaviour table, written after checking each run against the
libraries' installed source (``.venv/lib/python3.11/site-packages`` for the Python ones;
``proofs/conform/node/node_modules/opossum/lib/{circuit,status}.js`` and
``proofs/conform/node/node_modules/cockatiel/dist/{CircuitBreakerPolicy,breaker/*}.js`` for the npm
ones) and the reference notes (``/work/shared/reference/breaker-libraries.md``). Every scenario uses
``fail_max=3``, ``reset_timeout=10`` s and ``Excluded`` as the excluded error (opossum also gets a
10 s rolling window and a 200 s call timeout: ``WINDOW_S``, ``CALL_TIMEOUT_S``); the breaker trips at
virtual time 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import json
import os
import pathlib
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator

import pytest

from breakerlab.model.errors import InvalidConfigError
from breakerlab.proofs.conform import (
    ADAPTERS,
    CATALOGUE,
    Adapter,
    AdapterError,
    Advance,
    Begin,
    Call,
    Finish,
    Observation,
    ReadState,
    ScriptError,
    failures,
    make_adapter,
    run_catalogue,
    script,
)
from breakerlab.proofs.conform.adapters import FifoRLock, NodeAdapter
from breakerlab.proofs.conform.adapters.library import LibraryAdapter
from breakerlab.proofs.conform.adapters.threads import ThreadedAdapter
from breakerlab.proofs.conform.catalogue import FAIL_MAX, RESET_TIMEOUT_S
from breakerlab.proofs.conform.script import Excluded

ROOT = pathlib.Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "proofs" / "conform" / "node"
LIBRARIES = tuple(ADAPTERS)
NODE_LIBRARIES = tuple(name for name in LIBRARIES if isinstance(make_adapter(name), NodeAdapter))
PYTHON_LIBRARIES = tuple(name for name in LIBRARIES if name not in NODE_LIBRARIES)

# The three failures that trip every breaker at t=0. pybreaker and aiobreaker answer the
# tripping call with their own CircuitBreakerError (chained to Boom); circuitbreaker,
# purgatory, opossum and cockatiel re-raise the caller's Boom. opossum trips on a rate, not a
# count: it opens on a failure once its window holds volumeThreshold (= fail_max) fires and
# failures / fires > 50% (circuit.js fail()), and 'fire' counts every call, rejected and still
# in flight ones included; from a fresh window fail_max failures in a row are 100%.
WRAPPED = "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:CircuitBreakerError"
ORIGINAL = "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:Boom"

# Versions: pybreaker 1.4.1, circuitbreaker 2.1.3, aiobreaker 1.2.0 (the notes read "1.1.0" at
# 9b8ac0e; the semantics-bearing files and every line they cite are the same in 1.2.0), purgatory 3.0.1,
# opossum 9.0.0, cockatiel 3.2.1 (pinned in proofs/conform/node/package-lock.json).
# scenario -> library -> the observations' brief() forms, joined by " | ".
# "blocked" (pybreaker and cockatiel) is a caller waiting on pybreaker's lock or on cockatiel's
# half-open test promise; "resumed" is what a call did once that was free (or, for opossum's call
# timeout, what it did during the last advance); "drained" is a call the harness finished
# (success) after the last step.
EXPECTED: dict[str, dict[str, str]] = {
    "trip_index": {
        "pybreaker": (
            "call 1: raised:Boom | call 2: raised:Boom | state: closed | "
            "call 3: raised:CircuitBreakerError | state: open | "
            "call 4: rejected:CircuitBreakerError"
        ),
        "circuitbreaker": (
            "call 1: raised:Boom | call 2: raised:Boom | state: closed | call 3: raised:Boom | "
            "state: open | call 4: rejected:CircuitBreakerError"
        ),
        "aiobreaker": (
            "call 1: raised:Boom | call 2: raised:Boom | state: closed | "
            "call 3: raised:CircuitBreakerError | state: open | "
            "call 4: rejected:CircuitBreakerError"
        ),
        "purgatory": (
            "call 1: raised:Boom | call 2: raised:Boom | state: closed | call 3: raised:Boom | "
            "state: open | call 4: rejected:OpenedState"
        ),
        "opossum": (
            "call 1: raised:Boom | call 2: raised:Boom | state: closed | call 3: raised:Boom | state: open | "
            "call 4: rejected:EOPENBREAKER"
        ),
        "cockatiel": (
            "call 1: raised:Boom | call 2: raised:Boom | state: closed | call 3: raised:Boom | state: open | "
            "call 4: rejected:BrokenCircuitError"
        ),
    },
    "success_resets_count": {
        "pybreaker": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: ok | call 4: raised:Boom | "
            "call 5: raised:Boom | state: closed | call 6: ok"
        ),
        "circuitbreaker": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: ok | call 4: raised:Boom | "
            "call 5: raised:Boom | state: closed | call 6: ok"
        ),
        "aiobreaker": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: ok | call 4: raised:Boom | "
            "call 5: raised:Boom | state: closed | call 6: ok"
        ),
        "purgatory": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: ok | call 4: raised:Boom | "
            "call 5: raised:Boom | state: closed | call 6: ok"
        ),
        # opossum resets nothing on a success: at call 4 the window holds 3 failures of 4 fires (75% > 50%,
        # volumeThreshold 3 reached), so fail() opens it.
        "opossum": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: ok | call 4: raised:Boom | "
            "call 5: rejected:EOPENBREAKER | state: open | call 6: rejected:EOPENBREAKER"
        ),
        "cockatiel": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: ok | call 4: raised:Boom | call 5: raised:Boom | "
            "state: closed | call 6: ok"
        ),
    },
    "trip_error": {
        "pybreaker": (
            f"{WRAPPED} | t=10.001 | call 4: raised:CircuitBreakerError | state: open | "
            "call 5: rejected:CircuitBreakerError"
        ),
        "circuitbreaker": (
            f"{ORIGINAL} | t=10.001 | call 4: raised:Boom | state: open | "
            "call 5: rejected:CircuitBreakerError"
        ),
        "aiobreaker": (
            f"{WRAPPED} | t=10.001 | call 4: raised:CircuitBreakerError | state: open | "
            "call 5: rejected:CircuitBreakerError"
        ),
        "purgatory": f"{ORIGINAL} | t=10.001 | call 4: raised:Boom | state: open | call 5: rejected:OpenedState",
        "opossum": f"{ORIGINAL} | t=10.001 | call 4: raised:Boom | state: open | call 5: rejected:EOPENBREAKER",
        "cockatiel": f"{ORIGINAL} | t=10.001 | call 4: raised:Boom | state: open | call 5: rejected:BrokenCircuitError",
    },
    "deadline_boundary": {
        "pybreaker": (
            f"{WRAPPED} | t=9.999 | call 4: rejected:CircuitBreakerError | t=10 | call 5: ok | t=10.001 | "
            "call 6: ok | state: closed"
        ),
        "circuitbreaker": (
            f"{ORIGINAL} | t=9.999 | call 4: rejected:CircuitBreakerError | t=10 | call 5: ok | t=10.001 | "
            "call 6: ok | state: closed"
        ),
        "aiobreaker": (
            f"{WRAPPED} | t=9.999 | call 4: rejected:CircuitBreakerError | t=10 | call 5: ok | t=10.001 | "
            "call 6: ok | state: closed"
        ),
        "purgatory": (
            f"{ORIGINAL} | t=9.999 | call 4: rejected:OpenedState | t=10 | call 5: rejected:OpenedState | "
            "t=10.001 | call 6: ok | state: closed"
        ),
        "opossum": (
            f"{ORIGINAL} | t=9.999 | call 4: rejected:EOPENBREAKER | t=10 | call 5: ok | t=10.001 | call 6: ok | "
            "state: closed"
        ),
        "cockatiel": (
            f"{ORIGINAL} | t=9.999 | call 4: rejected:BrokenCircuitError | t=10 | call 5: ok | t=10.001 | call 6: ok | "
            "state: closed"
        ),
    },
    "state_after_timeout": {
        "pybreaker": f"{WRAPPED} | state: open | t=10.001 | state: open | t=110.001 | state: open",
        "circuitbreaker": f"{ORIGINAL} | state: open | t=10.001 | state: half_open | t=110.001 | state: half_open",
        "aiobreaker": f"{WRAPPED} | state: open | t=10.001 | state: open | t=110.001 | state: open",
        "purgatory": f"{ORIGINAL} | state: open | t=10.001 | state: open | t=110.001 | state: open",
        # opossum: a timer (_halfOpen) moves it to half-open at the deadline, with no call; cockatiel
        # turns half-open only when a call comes (execute(), case Open).
        "opossum": f"{ORIGINAL} | state: open | t=10.001 | state: half_open | t=110.001 | state: half_open",
        "cockatiel": f"{ORIGINAL} | state: open | t=10.001 | state: open | t=110.001 | state: open",
    },
    "half_open_concurrency": {
        "pybreaker": (
            f"{WRAPPED} | t=10.001 | begin 4: in_flight | call 5: blocked | call 6: blocked | "
            "call 7: blocked | state: half_open | finish 4: ok | resumed 5: ok | resumed 6: ok | "
            "resumed 7: ok | state: closed"
        ),
        "circuitbreaker": (
            f"{ORIGINAL} | t=10.001 | begin 4: in_flight | call 5: ok | call 6: ok | call 7: ok | "
            "state: closed | finish 4: ok | state: closed"
        ),
        "aiobreaker": (
            f"{WRAPPED} | t=10.001 | begin 4: in_flight | call 5: ok | call 6: ok | call 7: ok | "
            "state: closed | finish 4: ok | state: closed"
        ),
        "purgatory": (
            f"{ORIGINAL} | t=10.001 | begin 4: in_flight | call 5: ok | call 6: ok | call 7: ok | "
            "state: closed | finish 4: ok | state: closed"
        ),
        # opossum: the probe clears PENDING_CLOSE, so later callers are rejected until it decides.
        "opossum": (
            f"{ORIGINAL} | t=10.001 | begin 4: in_flight | call 5: rejected:EOPENBREAKER | "
            "call 6: rejected:EOPENBREAKER | call 7: rejected:EOPENBREAKER | state: half_open | finish 4: ok | "
            "state: closed"
        ),
        # cockatiel: a caller in half-open awaits the probe's promise (state.test) and then calls execute()
        # again in the new state: blocked, then resumed (and run) once the probe closed it.
        "cockatiel": (
            f"{ORIGINAL} | t=10.001 | begin 4: in_flight | call 5: blocked | call 6: blocked | call 7: blocked | "
            "state: half_open | finish 4: ok | resumed 5: ok | resumed 6: ok | resumed 7: ok | state: closed"
        ),
    },
    "probe_fail_after_success": {
        # Notes differ (§2.2 and S6 say "last writer wins" for circuitbreaker): the source resets the
        # count on success (`reset()`), so the later failure is the 1st of fail_max in closed.
        "pybreaker": (
            f"{WRAPPED} | t=10.001 | begin 4: in_flight | begin 5: blocked | finish 4: ok | "
            "resumed 5: in_flight | finish 5: raised:Boom | state: closed | call 6: ok"
        ),
        "circuitbreaker": (
            f"{ORIGINAL} | t=10.001 | begin 4: in_flight | begin 5: in_flight | finish 4: ok | "
            "finish 5: raised:Boom | state: closed | call 6: ok"
        ),
        "aiobreaker": (
            f"{WRAPPED} | t=10.001 | begin 4: in_flight | begin 5: in_flight | finish 4: ok | "
            "finish 5: raised:CircuitBreakerError | state: open | "
            "call 6: rejected:CircuitBreakerError"
        ),
        "purgatory": (
            f"{ORIGINAL} | t=10.001 | begin 4: in_flight | begin 5: in_flight | finish 4: ok | "
            "finish 5: raised:Boom | state: closed | call 6: ok"
        ),
        "opossum": (
            f"{ORIGINAL} | t=10.001 | begin 4: in_flight | begin 5: rejected:EOPENBREAKER | finish 4: ok | "
            "finish 5: not_in_flight | state: closed | call 6: ok"
        ),
        # cockatiel: call 5 waits for probe 4, then runs in closed; its failure is the 1st of fail_max.
        "cockatiel": (
            f"{ORIGINAL} | t=10.001 | begin 4: in_flight | begin 5: blocked | finish 4: ok | resumed 5: in_flight | "
            "finish 5: raised:Boom | state: closed | call 6: ok"
        ),
    },
    "probe_success_after_failure": {
        "pybreaker": (
            f"{WRAPPED} | t=10.001 | begin 4: in_flight | begin 5: blocked | "
            "finish 4: raised:CircuitBreakerError | resumed 5: rejected:CircuitBreakerError | "
            "finish 5: not_in_flight | state: open | call 6: rejected:CircuitBreakerError"
        ),
        "circuitbreaker": (
            f"{ORIGINAL} | t=10.001 | begin 4: in_flight | begin 5: in_flight | finish 4: raised:Boom | "
            "finish 5: ok | state: closed | call 6: ok"
        ),
        "aiobreaker": (
            f"{WRAPPED} | t=10.001 | begin 4: in_flight | begin 5: in_flight | "
            "finish 4: raised:CircuitBreakerError | finish 5: ok | state: closed | call 6: ok"
        ),
        "purgatory": (
            f"{ORIGINAL} | t=10.001 | begin 4: in_flight | begin 5: in_flight | finish 4: raised:Boom | "
            "finish 5: ok | state: open | call 6: rejected:OpenedState"
        ),
        "opossum": (
            f"{ORIGINAL} | t=10.001 | begin 4: in_flight | begin 5: rejected:EOPENBREAKER | finish 4: raised:Boom | "
            "finish 5: not_in_flight | state: open | call 6: rejected:EOPENBREAKER"
        ),
        # cockatiel: the waiting call re-executes after probe 4 re-opened it and is rejected, like
        # pybreaker's caller behind the lock.
        "cockatiel": (
            f"{ORIGINAL} | t=10.001 | begin 4: in_flight | begin 5: blocked | finish 4: raised:Boom | "
            "resumed 5: rejected:BrokenCircuitError | finish 5: not_in_flight | state: open | "
            "call 6: rejected:BrokenCircuitError"
        ),
    },
    "hung_probe": {
        "pybreaker": (
            f"{WRAPPED} | t=10.001 | begin 4: in_flight | t=20.001 | call 5: blocked | state: half_open | "
            "t=120.001 | call 6: blocked | state: half_open | drained 4: ok | drained 5: ok | "
            "drained 6: ok"
        ),
        "circuitbreaker": (
            f"{ORIGINAL} | t=10.001 | begin 4: in_flight | t=20.001 | call 5: ok | state: closed | "
            "t=120.001 | call 6: ok | state: closed | drained 4: ok"
        ),
        "aiobreaker": (
            f"{WRAPPED} | t=10.001 | begin 4: in_flight | t=20.001 | call 5: ok | state: closed | "
            "t=120.001 | call 6: ok | state: closed | drained 4: ok"
        ),
        "purgatory": (
            f"{ORIGINAL} | t=10.001 | begin 4: in_flight | t=20.001 | call 5: ok | state: closed | "
            "t=120.001 | call 6: ok | state: closed | drained 4: ok"
        ),
        # opossum: half-open has no timer of its own and the hung probe holds its one slot, so callers are
        # rejected until opossum's call timeout fails the probe (CALL_TIMEOUT_S = 200 s here; its default is 10 s).
        "opossum": (
            f"{ORIGINAL} | t=10.001 | begin 4: in_flight | t=20.001 | call 5: rejected:EOPENBREAKER | "
            "state: half_open | t=120.001 | call 6: rejected:EOPENBREAKER | state: half_open | drained 4: ok"
        ),
        # cockatiel: every caller waits on the hung probe's promise (the policy has no timeout); they run
        # once the harness drains call 4.
        "cockatiel": (
            f"{ORIGINAL} | t=10.001 | begin 4: in_flight | t=20.001 | call 5: blocked | state: half_open | t=120.001 | "
            "call 6: blocked | state: half_open | drained 4: ok | drained 5: ok | drained 6: ok"
        ),
    },
    "excluded_in_closed": {
        "pybreaker": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:Excluded | "
            "call 4: raised:Boom | state: closed | call 5: ok"
        ),
        "circuitbreaker": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:Excluded | "
            "call 4: raised:Boom | state: closed | call 5: ok"
        ),
        "aiobreaker": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:Excluded | "
            "call 4: raised:Boom | state: closed | call 5: ok"
        ),
        "purgatory": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:Excluded | "
            "call 4: raised:Boom | state: closed | call 5: ok"
        ),
        # opossum: errorFilter turns Excluded into a 'success' event, which resets nothing: at call 4 the
        # window holds 3 failures of 4 fires (75% > 50%).
        "opossum": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:Excluded | call 4: raised:Boom | state: open | "
            "call 5: rejected:EOPENBREAKER"
        ),
        # cockatiel: an error the policy does not handle is rethrown by Executor.invoke before
        # breaker.success()/failure(), so it is not counted at all: the count stays 2 and call 4 is the 3rd failure.
        "cockatiel": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:Excluded | call 4: raised:Boom | state: open | "
            "call 5: rejected:BrokenCircuitError"
        ),
    },
    "excluded_in_probe": {
        "pybreaker": (
            f"{WRAPPED} | t=10.001 | call 4: raised:Excluded | state: closed | call 5: raised:Boom | "
            "state: closed"
        ),
        "circuitbreaker": (
            f"{ORIGINAL} | t=10.001 | call 4: raised:Excluded | state: closed | call 5: raised:Boom | "
            "state: closed"
        ),
        "aiobreaker": (
            f"{WRAPPED} | t=10.001 | call 4: raised:Excluded | state: closed | call 5: raised:Boom | "
            "state: closed"
        ),
        "purgatory": (
            f"{ORIGINAL} | t=10.001 | call 4: raised:Excluded | state: closed | call 5: raised:Boom | "
            "state: closed"
        ),
        # opossum: the filtered error is a 'success', which closes half-open; the trip's failures have aged
        # out of the 10 s window, so call 5 is 1 failure of 2 fires (below volumeThreshold).
        "opossum": (
            f"{ORIGINAL} | t=10.001 | call 4: raised:Excluded | state: closed | call 5: raised:Boom | state: closed"
        ),
        # cockatiel: an unhandled error from the half-open test closes the breaker (halfOpen()'s catch)
        # without breaker.success(), so the ConsecutiveBreaker still holds fail_max failures and call 5 re-opens it.
        "cockatiel": (
            f"{ORIGINAL} | t=10.001 | call 4: raised:Excluded | state: closed | call 5: raised:Boom | state: open"
        ),
    },
    "cancel_in_closed": {
        "pybreaker": (
            f"{WRAPPED} | call 4: rejected:CircuitBreakerError | state: open | "
            "call 5: rejected:CircuitBreakerError"
        ),
        "circuitbreaker": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:CancelledError | "
            "call 4: raised:Boom | state: closed | call 5: ok"
        ),
        "aiobreaker": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:CancelledError | "
            "call 4: raised:CircuitBreakerError | state: open | "
            "call 5: rejected:CircuitBreakerError"
        ),
        "purgatory": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:CancelledError | "
            "call 4: rejected:OpenedState | state: open | call 5: rejected:OpenedState"
        ),
        # npm: "cancel" is a rejection with a DOMException AbortError, which neither library tells apart
        # from any other error: a failure.
        "opossum": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:CancelledError | "
            "call 4: rejected:EOPENBREAKER | state: open | call 5: rejected:EOPENBREAKER"
        ),
        "cockatiel": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:CancelledError | "
            "call 4: rejected:BrokenCircuitError | state: open | call 5: rejected:BrokenCircuitError"
        ),
    },
    "cancel_in_half_open": {
        "pybreaker": (
            f"{WRAPPED} | t=10.001 | call 4: raised:CircuitBreakerError | state: open | "
            "call 5: rejected:CircuitBreakerError | state: open"
        ),
        "circuitbreaker": (
            f"{ORIGINAL} | t=10.001 | call 4: raised:CancelledError | state: closed | call 5: raised:Boom | "
            "state: closed"
        ),
        "aiobreaker": (
            f"{WRAPPED} | t=10.001 | call 4: raised:CancelledError | state: half_open | "
            "call 5: raised:CircuitBreakerError | state: open"
        ),
        "purgatory": (
            f"{ORIGINAL} | t=10.001 | call 4: raised:CancelledError | state: open | "
            "call 5: rejected:OpenedState | state: open"
        ),
        "opossum": (
            f"{ORIGINAL} | t=10.001 | call 4: raised:CancelledError | state: open | call 5: rejected:EOPENBREAKER | "
            "state: open"
        ),
        "cockatiel": (
            f"{ORIGINAL} | t=10.001 | call 4: raised:CancelledError | state: open | "
            "call 5: rejected:BrokenCircuitError | state: open"
        ),
    },
    "base_in_closed": {
        "pybreaker": (
            f"{WRAPPED} | call 4: rejected:CircuitBreakerError | state: open | "
            "call 5: rejected:CircuitBreakerError"
        ),
        "circuitbreaker": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:Abort | "
            "call 4: raised:Boom | state: closed | call 5: ok"
        ),
        "aiobreaker": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:Abort | "
            "call 4: raised:CircuitBreakerError | state: open | "
            "call 5: rejected:CircuitBreakerError"
        ),
        "purgatory": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:Abort | "
            "call 4: rejected:OpenedState | state: open | call 5: rejected:OpenedState"
        ),
        # npm: "base" throws a value that is not an Error; both libraries count it as a failure.
        "opossum": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:Abort | call 4: rejected:EOPENBREAKER | "
            "state: open | call 5: rejected:EOPENBREAKER"
        ),
        "cockatiel": (
            "call 1: raised:Boom | call 2: raised:Boom | call 3: raised:Abort | call 4: rejected:BrokenCircuitError | "
            "state: open | call 5: rejected:BrokenCircuitError"
        ),
    },
    "late_success_while_open": {
        "pybreaker": (
            "begin 1: in_flight | call 2: blocked | call 3: blocked | call 4: blocked | "
            "state: closed | finish 1: ok | resumed 2: raised:Boom | resumed 3: raised:Boom | "
            "resumed 4: raised:CircuitBreakerError | state: open | "
            "call 5: rejected:CircuitBreakerError"
        ),
        "circuitbreaker": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | "
            "call 4: raised:Boom | state: open | finish 1: ok | state: closed | call 5: ok"
        ),
        "aiobreaker": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | "
            "call 4: raised:CircuitBreakerError | state: open | finish 1: ok | state: open | "
            "call 5: rejected:CircuitBreakerError"
        ),
        "purgatory": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | "
            "call 4: raised:Boom | state: open | finish 1: ok | state: open | "
            "call 5: rejected:OpenedState"
        ),
        # opossum: 'fire' counts in-flight call 1 as a request, so at call 3 the window holds 2 failures of
        # 3 fires (67% > 50%, volumeThreshold met): it opens a call early. Call 1's success changes nothing in open.
        "opossum": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | call 4: rejected:EOPENBREAKER | "
            "state: open | finish 1: ok | state: open | call 5: rejected:EOPENBREAKER"
        ),
        # cockatiel: the late success resets the consecutive count (success() with the state captured at
        # admission) but does not close.
        "cockatiel": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | call 4: raised:Boom | state: open | "
            "finish 1: ok | state: open | call 5: rejected:BrokenCircuitError"
        ),
    },
    "late_failure_while_open": {
        "pybreaker": (
            "begin 1: in_flight | call 2: blocked | call 3: blocked | call 4: blocked | t=5 | "
            "finish 1: raised:Boom | resumed 2: raised:Boom | "
            "resumed 3: raised:CircuitBreakerError | resumed 4: rejected:CircuitBreakerError | "
            "state: open | t=11 | call 5: rejected:CircuitBreakerError | t=16 | call 6: ok | "
            "state: closed"
        ),
        "circuitbreaker": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | "
            "call 4: raised:Boom | t=5 | finish 1: raised:Boom | state: open | t=11 | "
            "call 5: rejected:CircuitBreakerError | t=16 | call 6: ok | state: closed"
        ),
        "aiobreaker": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | "
            "call 4: raised:CircuitBreakerError | t=5 | finish 1: raised:CircuitBreakerError | "
            "state: open | t=11 | call 5: rejected:CircuitBreakerError | t=16 | call 6: ok | "
            "state: closed"
        ),
        "purgatory": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | "
            "call 4: raised:Boom | t=5 | finish 1: raised:Boom | state: open | t=11 | call 5: ok | "
            "t=16 | call 6: ok | state: closed"
        ),
        # opossum (open() is a no-op when open) and cockatiel (open() returns when open) count the late
        # failure but do not restart the open time.
        "opossum": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | call 4: rejected:EOPENBREAKER | t=5 | "
            "finish 1: raised:Boom | state: open | t=11 | call 5: ok | t=16 | call 6: ok | state: closed"
        ),
        "cockatiel": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | call 4: raised:Boom | t=5 | "
            "finish 1: raised:Boom | state: open | t=11 | call 5: ok | t=16 | call 6: ok | state: closed"
        ),
    },
    "late_success_in_half_open": {
        "pybreaker": (
            "begin 1: in_flight | call 2: blocked | call 3: blocked | call 4: blocked | t=10.001 | "
            "begin 5: blocked | finish 1: ok | resumed 2: raised:Boom | resumed 3: raised:Boom | "
            "resumed 4: raised:CircuitBreakerError | resumed 5: rejected:CircuitBreakerError | "
            "state: open | finish 5: not_in_flight | state: open"
        ),
        "circuitbreaker": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | "
            "call 4: raised:Boom | t=10.001 | begin 5: in_flight | finish 1: ok | state: closed | "
            "finish 5: ok | state: closed"
        ),
        "aiobreaker": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | "
            "call 4: raised:CircuitBreakerError | t=10.001 | begin 5: in_flight | finish 1: ok | "
            "state: half_open | finish 5: ok | state: closed"
        ),
        "purgatory": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | "
            "call 4: raised:Boom | t=10.001 | begin 5: in_flight | finish 1: ok | state: closed | "
            "finish 5: ok | state: closed"
        ),
        # opossum: any success closes half-open (its 'success' listener), even one admitted in closed.
        "opossum": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | call 4: rejected:EOPENBREAKER | "
            "t=10.001 | begin 5: in_flight | finish 1: ok | state: closed | finish 5: ok | state: closed"
        ),
        # cockatiel: a call admitted in closed only resets the count on success; only the test's success
        # closes (close() from halfOpen()).
        "cockatiel": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | call 4: raised:Boom | t=10.001 | "
            "begin 5: in_flight | finish 1: ok | state: half_open | finish 5: ok | state: closed"
        ),
    },
    "late_failure_in_half_open": {
        "pybreaker": (
            "begin 1: in_flight | call 2: blocked | call 3: blocked | call 4: blocked | t=10.001 | "
            "begin 5: blocked | finish 1: raised:Boom | resumed 2: raised:Boom | "
            "resumed 3: raised:CircuitBreakerError | resumed 4: rejected:CircuitBreakerError | "
            "resumed 5: rejected:CircuitBreakerError | state: open | finish 5: not_in_flight | "
            "state: open"
        ),
        "circuitbreaker": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | "
            "call 4: raised:Boom | t=10.001 | begin 5: in_flight | finish 1: raised:Boom | "
            "state: open | finish 5: ok | state: closed"
        ),
        "aiobreaker": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | "
            "call 4: raised:CircuitBreakerError | t=10.001 | begin 5: in_flight | "
            "finish 1: raised:CircuitBreakerError | state: open | finish 5: ok | state: closed"
        ),
        "purgatory": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | "
            "call 4: raised:Boom | t=10.001 | begin 5: in_flight | finish 1: raised:Boom | "
            "state: open | finish 5: ok | state: open"
        ),
        # opossum: any failure in half-open re-opens (fail()); the probe's success then closes nothing,
        # as its 'success' listener closes only from half-open.
        "opossum": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | call 4: rejected:EOPENBREAKER | "
            "t=10.001 | begin 5: in_flight | finish 1: raised:Boom | state: open | finish 5: ok | state: open"
        ),
        # cockatiel: the late failure is counted (4 >= fail_max) and open() re-opens the half-open breaker;
        # the test's success then calls close(), which acts only from half-open.
        "cockatiel": (
            "begin 1: in_flight | call 2: raised:Boom | call 3: raised:Boom | call 4: raised:Boom | t=10.001 | "
            "begin 5: in_flight | finish 1: raised:Boom | state: open | finish 5: ok | state: open"
        ),
    },
    "close_rule": {
        "pybreaker": (
            f"{WRAPPED} | t=10.001 | call 4: ok | state: closed | call 5: raised:Boom | state: closed | "
            "call 6: ok"
        ),
        "circuitbreaker": (
            f"{ORIGINAL} | t=10.001 | call 4: ok | state: closed | call 5: raised:Boom | state: closed | "
            "call 6: ok"
        ),
        "aiobreaker": (
            f"{WRAPPED} | t=10.001 | call 4: ok | state: closed | call 5: raised:Boom | state: closed | "
            "call 6: ok"
        ),
        "purgatory": (
            f"{ORIGINAL} | t=10.001 | call 4: ok | state: closed | call 5: raised:Boom | state: closed | "
            "call 6: ok"
        ),
        # opossum does not clear its window on close: call 5 does not re-open only because the trip's
        # failures aged out of the 10 s window (WINDOW_S), leaving 2 fires < volumeThreshold.
        "opossum": (
            f"{ORIGINAL} | t=10.001 | call 4: ok | state: closed | call 5: raised:Boom | state: closed | call 6: ok"
        ),
        "cockatiel": (
            f"{ORIGINAL} | t=10.001 | call 4: ok | state: closed | call 5: raised:Boom | state: closed | call 6: ok"
        ),
    },
    "rate_at_equality": {
        "pybreaker": (
            "call 1: raised:Boom | call 2: ok | call 3: raised:Boom | call 4: ok | call 5: raised:Boom | "
            "call 6: ok | state: closed | call 7: ok"
        ),
        "circuitbreaker": (
            "call 1: raised:Boom | call 2: ok | call 3: raised:Boom | call 4: ok | call 5: raised:Boom | "
            "call 6: ok | state: closed | call 7: ok"
        ),
        "aiobreaker": (
            "call 1: raised:Boom | call 2: ok | call 3: raised:Boom | call 4: ok | call 5: raised:Boom | "
            "call 6: ok | state: closed | call 7: ok"
        ),
        "purgatory": (
            "call 1: raised:Boom | call 2: ok | call 3: raised:Boom | call 4: ok | call 5: raised:Boom | "
            "call 6: ok | state: closed | call 7: ok"
        ),
        # opossum: at call 3 the window holds 2 failures of 3 fires (67% > 50%, volumeThreshold met), so
        # F S F opens before 50% is reached (the equality is measured by rate_equality_at_volume).
        "opossum": (
            "call 1: raised:Boom | call 2: ok | call 3: raised:Boom | call 4: rejected:EOPENBREAKER | "
            "call 5: rejected:EOPENBREAKER | call 6: rejected:EOPENBREAKER | state: open | "
            "call 7: rejected:EOPENBREAKER"
        ),
        "cockatiel": (
            "call 1: raised:Boom | call 2: ok | call 3: raised:Boom | call 4: ok | call 5: raised:Boom | call 6: ok | "
            "state: closed | call 7: ok"
        ),
    },
    "volume_and_dilution": {
        "pybreaker": (
            "call 1: ok | call 2: ok | call 3: ok | call 4: ok | call 5: ok | call 6: ok | call 7: raised:Boom | "
            "call 8: raised:Boom | call 9: raised:CircuitBreakerError | state: open | call 10: rejected:CircuitBreakerError"
        ),
        "circuitbreaker": (
            "call 1: ok | call 2: ok | call 3: ok | call 4: ok | call 5: ok | call 6: ok | call 7: raised:Boom | "
            "call 8: raised:Boom | call 9: raised:Boom | state: open | call 10: rejected:CircuitBreakerError"
        ),
        "aiobreaker": (
            "call 1: ok | call 2: ok | call 3: ok | call 4: ok | call 5: ok | call 6: ok | call 7: raised:Boom | "
            "call 8: raised:Boom | call 9: raised:CircuitBreakerError | state: open | call 10: rejected:CircuitBreakerError"
        ),
        "purgatory": (
            "call 1: ok | call 2: ok | call 3: ok | call 4: ok | call 5: ok | call 6: ok | call 7: raised:Boom | "
            "call 8: raised:Boom | call 9: raised:Boom | state: open | call 10: rejected:OpenedState"
        ),
        # opossum: the six successes dilute the rate: 3 failures of 9 fires is 33%, below 50%.
        "opossum": (
            "call 1: ok | call 2: ok | call 3: ok | call 4: ok | call 5: ok | call 6: ok | call 7: raised:Boom | "
            "call 8: raised:Boom | call 9: raised:Boom | state: closed | call 10: ok"
        ),
        "cockatiel": (
            "call 1: ok | call 2: ok | call 3: ok | call 4: ok | call 5: ok | call 6: ok | call 7: raised:Boom | "
            "call 8: raised:Boom | call 9: raised:Boom | state: open | call 10: rejected:BrokenCircuitError"
        ),
    },
    "rate_equality_at_volume": {
        "pybreaker": "call 1: ok | call 2: raised:Boom | call 3: ok | call 4: raised:Boom | state: closed | call 5: ok",
        "circuitbreaker": (
            "call 1: ok | call 2: raised:Boom | call 3: ok | call 4: raised:Boom | state: closed | call 5: ok"
        ),
        "aiobreaker": (
            "call 1: ok | call 2: raised:Boom | call 3: ok | call 4: raised:Boom | state: closed | call 5: ok"
        ),
        "purgatory": "call 1: ok | call 2: raised:Boom | call 3: ok | call 4: raised:Boom | state: closed | call 5: ok",
        # opossum: call 4 makes 2 failures of 4 fires, exactly 50%, and fail() opens only on
        # errorRate > errorThresholdPercentage (strict): it stays closed.
        "opossum": "call 1: ok | call 2: raised:Boom | call 3: ok | call 4: raised:Boom | state: closed | call 5: ok",
        "cockatiel": "call 1: ok | call 2: raised:Boom | call 3: ok | call 4: raised:Boom | state: closed | call 5: ok",
    },
    "window_ageing": {
        "pybreaker": (
            "call 1: raised:Boom | call 2: raised:Boom | t=10.001 | call 3: raised:CircuitBreakerError | state: open | "
            "call 4: rejected:CircuitBreakerError"
        ),
        "circuitbreaker": (
            "call 1: raised:Boom | call 2: raised:Boom | t=10.001 | call 3: raised:Boom | state: open | "
            "call 4: rejected:CircuitBreakerError"
        ),
        "aiobreaker": (
            "call 1: raised:Boom | call 2: raised:Boom | t=10.001 | call 3: raised:CircuitBreakerError | state: open | "
            "call 4: rejected:CircuitBreakerError"
        ),
        "purgatory": (
            "call 1: raised:Boom | call 2: raised:Boom | t=10.001 | call 3: raised:Boom | state: open | "
            "call 4: rejected:OpenedState"
        ),
        # opossum: its 10 buckets of 1 s rotate on a timer; by t=10.001 the bucket holding calls 1-2 is
        # dropped, so call 3 is 1 fire (< volumeThreshold) and nothing trips.
        "opossum": (
            "call 1: raised:Boom | call 2: raised:Boom | t=10.001 | call 3: raised:Boom | state: closed | call 4: ok"
        ),
        "cockatiel": (
            "call 1: raised:Boom | call 2: raised:Boom | t=10.001 | call 3: raised:Boom | state: open | "
            "call 4: rejected:BrokenCircuitError"
        ),
    },
    "call_timeout": {
        "pybreaker": (
            "begin 1: in_flight | t=199.999 | state: closed | t=200 | state: closed | finish 1: ok | call 2: ok"
        ),
        "circuitbreaker": (
            "begin 1: in_flight | t=199.999 | state: closed | t=200 | state: closed | finish 1: ok | call 2: ok"
        ),
        "aiobreaker": (
            "begin 1: in_flight | t=199.999 | state: closed | t=200 | state: closed | finish 1: ok | call 2: ok"
        ),
        "purgatory": (
            "begin 1: in_flight | t=199.999 | state: closed | t=200 | state: closed | finish 1: ok | call 2: ok"
        ),
        # opossum: its timeout timer fails the call with ETIMEDOUT at exactly CALL_TIMEOUT_S (200 s), seen at
        # the next step (resumed), and counts a failure (1 fire < volumeThreshold: still closed); the call's own
        # later result is ignored (timeoutError), so Finish finds it no longer in flight.
        "opossum": (
            "begin 1: in_flight | t=199.999 | state: closed | t=200 | resumed 1: raised:ETIMEDOUT | state: closed | "
            "finish 1: not_in_flight | call 2: ok"
        ),
        "cockatiel": (
            "begin 1: in_flight | t=199.999 | state: closed | t=200 | state: closed | finish 1: ok | call 2: ok"
        ),
    },
    "backoff": {
        "pybreaker": (
            f"{WRAPPED} | t=6 | call 4: rejected:CircuitBreakerError | t=12 | "
            "call 5: raised:CircuitBreakerError | t=18 | call 6: rejected:CircuitBreakerError | "
            "t=24 | call 7: raised:CircuitBreakerError | t=30 | "
            "call 8: rejected:CircuitBreakerError | t=36 | call 9: raised:CircuitBreakerError | "
            "t=42 | call 10: rejected:CircuitBreakerError | t=48 | "
            "call 11: raised:CircuitBreakerError"
        ),
        "circuitbreaker": (
            f"{ORIGINAL} | t=6 | call 4: rejected:CircuitBreakerError | t=12 | call 5: raised:Boom | t=18 | "
            "call 6: rejected:CircuitBreakerError | t=24 | call 7: raised:Boom | t=30 | "
            "call 8: rejected:CircuitBreakerError | t=36 | call 9: raised:Boom | t=42 | "
            "call 10: rejected:CircuitBreakerError | t=48 | call 11: raised:Boom"
        ),
        "aiobreaker": (
            f"{WRAPPED} | t=6 | call 4: rejected:CircuitBreakerError | t=12 | "
            "call 5: raised:CircuitBreakerError | t=18 | call 6: rejected:CircuitBreakerError | "
            "t=24 | call 7: raised:CircuitBreakerError | t=30 | "
            "call 8: rejected:CircuitBreakerError | t=36 | call 9: raised:CircuitBreakerError | "
            "t=42 | call 10: rejected:CircuitBreakerError | t=48 | "
            "call 11: raised:CircuitBreakerError"
        ),
        "purgatory": (
            f"{ORIGINAL} | t=6 | call 4: rejected:OpenedState | t=12 | call 5: raised:Boom | t=18 | "
            "call 6: rejected:OpenedState | t=24 | call 7: raised:Boom | t=30 | "
            "call 8: rejected:OpenedState | t=36 | call 9: raised:Boom | t=42 | "
            "call 10: rejected:OpenedState | t=48 | call 11: raised:Boom"
        ),
        "opossum": (
            f"{ORIGINAL} | t=6 | call 4: rejected:EOPENBREAKER | t=12 | call 5: raised:Boom | t=18 | "
            "call 6: rejected:EOPENBREAKER | t=24 | call 7: raised:Boom | t=30 | call 8: rejected:EOPENBREAKER | "
            "t=36 | call 9: raised:Boom | t=42 | call 10: rejected:EOPENBREAKER | t=48 | call 11: raised:Boom"
        ),
        # cockatiel: halfOpenAfter as a number is a ConstantBackoff, whose next() is itself.
        "cockatiel": (
            f"{ORIGINAL} | t=6 | call 4: rejected:BrokenCircuitError | t=12 | call 5: raised:Boom | t=18 | "
            "call 6: rejected:BrokenCircuitError | t=24 | call 7: raised:Boom | t=30 | "
            "call 8: rejected:BrokenCircuitError | t=36 | call 9: raised:Boom | t=42 | "
            "call 10: rejected:BrokenCircuitError | t=48 | call 11: raised:Boom"
        ),
    },
}


@contextlib.contextmanager
def _fresh(library: str) -> Iterator[LibraryAdapter]:
    """A new adapter for ``library``, whose node driver (npm libraries) is stopped on exit."""
    adapter = make_adapter(library)
    try:
        yield adapter
    finally:
        if isinstance(adapter, NodeAdapter):
            adapter.close()


@pytest.fixture(scope="module")
def adapters() -> Iterator[dict[str, LibraryAdapter]]:
    """One adapter per library, shared by the module (``observed`` runs the catalogue on them);
    the node drivers are stopped when the module is done."""
    with contextlib.ExitStack() as stack:
        yield {library: stack.enter_context(_fresh(library)) for library in LIBRARIES}


@pytest.fixture(scope="module")
def observed(adapters: dict[str, LibraryAdapter]) -> dict[str, dict[str, tuple[Observation, ...]]]:
    """The whole catalogue, run once per library."""
    return {library: run_catalogue(adapter) for library, adapter in adapters.items()}


@pytest.mark.parametrize("library", ["pybreaker", "circuitbreaker"])
def test_blocked_calls_are_decided_by_quiescence_not_by_real_time(
    adapters: dict[str, LibraryAdapter], observed: dict[str, dict[str, tuple[Observation, ...]]], library: str
) -> None:
    """Over the whole catalogue no wait of a threaded adapter ended by its real-time safety
    net: every ``blocked`` was decided by quiescence (each unfinished call inside the
    protected function or parked in the library's lock), so a loaded machine records the
    same observations."""
    adapter = adapters[library]
    assert isinstance(adapter, ThreadedAdapter)
    assert observed[library]
    assert adapter.expired_waits == 0


def _check(observed: dict[str, dict[str, tuple[Observation, ...]]], scenario: str, library: str) -> None:
    got = [observation.brief() for observation in observed[library][scenario]]
    assert got == EXPECTED[scenario][library].split(" | ")


def test_expected_table_covers_the_catalogue() -> None:
    """The expectation table has a row for every scenario of the catalogue and every library."""
    assert list(EXPECTED) == list(CATALOGUE)
    for scenario, rows in EXPECTED.items():
        assert tuple(rows) == LIBRARIES, scenario
        assert CATALOGUE[scenario].question.endswith("?")


@pytest.mark.parametrize("library", LIBRARIES)
def test_trip_index(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """Every library opens on the fail_max-th consecutive failure and rejects the next call without running
    it (opossum because, from a fresh window, those are fail_max fires, all failed)."""
    _check(observed, "trip_index", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_success_resets_count(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """A success resets the consecutive-failure count in every library but opossum, so F F S F F stays
    closed; opossum's rate opens at the fourth call (3 failures of 4 calls)."""
    _check(observed, "success_resets_count", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_trip_error(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """pybreaker and aiobreaker answer the tripping call and a failed probe with their CircuitBreakerError,
    the other four with the original error."""
    _check(observed, "trip_error", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_deadline_boundary(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """A call at exactly opened_at + reset_timeout is admitted by all but purgatory, which admits only
    strictly after."""
    _check(observed, "deadline_boundary", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_state_after_timeout(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """circuitbreaker and opossum (whose timer moves it) report half_open once the timeout has elapsed
    without traffic; the others say open until a call comes."""
    _check(observed, "state_after_timeout", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_half_open_concurrency(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """While a probe is in flight, pybreaker (on its lock) and cockatiel (on the probe's promise) hold
    further callers until it succeeds, opossum rejects them, the others admit them all at once."""
    _check(observed, "half_open_concurrency", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_probe_fail_after_success(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """When overlapping probes succeed then fail, only aiobreaker re-opens (the half-open state that
    admitted the failing probe handles it); opossum rejects the second probe."""
    _check(observed, "probe_fail_after_success", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_probe_success_after_failure(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """When overlapping probes fail then succeed, the last writer wins in circuitbreaker and aiobreaker,
    purgatory stays open, pybreaker and cockatiel reject the waiting probe, opossum rejected it at once."""
    _check(observed, "probe_success_after_failure", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_hung_probe(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """A probe that never returns blocks every later pybreaker and cockatiel caller indefinitely and has
    opossum reject them (short of its call timeout); circuitbreaker, aiobreaker and purgatory keep
    admitting calls."""
    _check(observed, "hung_probe", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_excluded_in_closed(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """An excluded error counts as a success in the four Python libraries, resetting the count, so F F X F
    does not trip; it trips cockatiel (which does not count it) and opossum (3 failures of 4 calls)."""
    _check(observed, "excluded_in_closed", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_excluded_in_probe(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """A probe raising an excluded error closes every library's breaker, as a success would, but cockatiel
    keeps its failure count, so its next failure re-opens it."""
    _check(observed, "excluded_in_probe", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_cancel_in_closed(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """A cancellation (in the npm libraries, an AbortError) is a failure in pybreaker, purgatory, opossum
    and cockatiel, a success in circuitbreaker, and not recorded at all in aiobreaker."""
    _check(observed, "cancel_in_closed", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_cancel_in_half_open(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """A cancelled probe re-opens pybreaker, purgatory, opossum and cockatiel, closes circuitbreaker, and
    leaves aiobreaker half-open."""
    _check(observed, "cancel_in_half_open", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_base_in_closed(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """A BaseException that is not an Exception (in the npm libraries, a thrown value that is not an
    Error) is classified like a cancellation in every library."""
    _check(observed, "base_in_closed", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_late_success_while_open(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """A success arriving after the trip from a call admitted in closed closes circuitbreaker, is ignored
    by aiobreaker, purgatory, opossum and cockatiel, and cannot occur in pybreaker; opossum trips one
    failure early, the call in flight counting as a call of its rate."""
    _check(observed, "late_success_while_open", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_late_failure_while_open(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """A late failure from a call admitted in closed restarts the open timer in circuitbreaker and
    aiobreaker and is ignored by purgatory, opossum and cockatiel."""
    _check(observed, "late_failure_while_open", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_late_success_in_half_open(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """A late success from a call admitted in closed closes circuitbreaker, purgatory and opossum in
    half-open, but aiobreaker and cockatiel stay half-open until the probe succeeds."""
    _check(observed, "late_success_in_half_open", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_late_failure_in_half_open(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """A late failure re-opens a half-open breaker, and the in-flight probe's success then closes it again
    except in purgatory, opossum and cockatiel (and pybreaker, whose probe never ran)."""
    _check(observed, "late_failure_in_half_open", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_close_rule(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """One successful probe closes every library (success threshold 1), so the next failure is counted in
    closed (in opossum, with the trip's failures aged out of its window)."""
    _check(observed, "close_rule", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_rate_at_equality(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """Alternating failures and successes (50%) never trip the five libraries that count consecutive
    failures; opossum's rate opens at F S F (2 failures of 3 calls, above 50%)."""
    _check(observed, "rate_at_equality", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_volume_and_dilution(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """After six successes, fail_max failures in a row still trip at once in every library but opossum,
    whose rate the earlier successes dilute (3 failures of 9 calls)."""
    _check(observed, "volume_and_dilution", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_rate_equality_at_volume(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """S F S F stays closed everywhere: opossum's rate reaches exactly 50% with its volume met and trips
    only above it (>), and no consecutive count reaches fail_max."""
    _check(observed, "rate_equality_at_volume", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_window_ageing(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """Two failures a window (10 s) before a third are forgotten only by opossum, whose time window has
    dropped them; the other libraries' consecutive counts never age, so they trip."""
    _check(observed, "window_ageing", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_call_timeout(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """Only opossum fails a call that stays in flight for its call timeout (ETIMEDOUT at exactly 200 s,
    ignoring the call's later result); the others have no call timeout and let it finish."""
    _check(observed, "call_timeout", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_backoff(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """No library backs off: every failed probe re-opens the breaker for the same reset_timeout."""
    _check(observed, "backoff", library)


@pytest.mark.parametrize("library", LIBRARIES)
def test_runs_are_deterministic(observed: dict[str, dict[str, tuple[Observation, ...]]], library: str) -> None:
    """Running scenarios again with a fresh adapter gives exactly the same observations (overlaps and
    blocked calls included)."""
    names = ("half_open_concurrency", "probe_success_after_failure", "late_failure_while_open", "hung_probe")
    with _fresh(library) as adapter:
        again = run_catalogue(adapter, names)
    for name in names:
        assert again[name] == observed[library][name], name


@pytest.mark.parametrize("library", LIBRARIES)
def test_virtual_time_needs_no_real_sleep(library: str) -> None:
    """A scenario spanning 110 virtual seconds runs in well under a second of real time, and real time is
    back afterwards; for the npm libraries (fake timers in the node driver) that second includes starting
    the driver, which a cold run does well within, so no warm-up run is needed."""
    started_wall, started = time.time(), time.perf_counter()
    with _fresh(library) as adapter:
        run_catalogue(adapter, ["state_after_timeout", "backoff"])
    assert time.perf_counter() - started < 1.0
    assert abs(time.time() - started_wall) < 60


def test_libraries_split_into_python_and_npm() -> None:
    """opossum and cockatiel are the adapters run by the node driver, so the tests parametrized over
    each kind run for the right libraries (never for an empty set)."""
    assert NODE_LIBRARIES == ("opossum", "cockatiel")
    assert PYTHON_LIBRARIES == ("pybreaker", "circuitbreaker", "aiobreaker", "purgatory")


@pytest.mark.parametrize("library", PYTHON_LIBRARIES)
def test_adapters_report_installed_pinned_versions(library: str) -> None:
    """Each Python adapter reports its library's installed version, which is the version pinned in the
    conform extra."""
    adapter = make_adapter(library)
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["conform"]
    assert adapter.name == library
    assert adapter.version == importlib.metadata.version(adapter.distribution)
    assert f"{adapter.distribution}=={adapter.version}" in pins
    assert isinstance(adapter, Adapter)


@pytest.mark.parametrize("library", NODE_LIBRARIES)
def test_node_adapters_report_installed_pinned_versions(library: str) -> None:
    """Each npm adapter reports its package's installed version, which is the version pinned in the
    driver's package.json dependencies and in its package-lock.json."""
    adapter = make_adapter(library)
    manifest = json.loads((NODE_DIR / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((NODE_DIR / "package-lock.json").read_text(encoding="utf-8"))
    assert adapter.name == library
    assert adapter.version == manifest["dependencies"][adapter.distribution]
    assert adapter.version == lock["packages"][f"node_modules/{adapter.distribution}"]["version"]
    assert isinstance(adapter, Adapter)


def _driver_pids(library: str) -> set[int]:
    """The pids of this process's children running ``node driver.mjs LIBRARY`` (read from /proc,
    as NodeAdapter has no public pid)."""
    pids: set[int] = set()
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")[:-1]  # each argument ends with a NUL
        except OSError:  # the process ended while being read
            continue
        parent = int(stat.rpartition(")")[2].split()[1])  # "pid (comm) state ppid ..."
        runs_driver = len(argv) >= 2 and argv[-2].endswith(b"driver.mjs") and argv[-1] == library.encode()
        if parent == os.getpid() and runs_driver:
            pids.add(int(entry.name))
    return pids


@pytest.mark.parametrize("library", NODE_LIBRARIES)
def test_node_driver_does_not_outlive_close(library: str) -> None:
    """A run starts one node driver, close() stops and reaps it, and a later run starts a new one."""
    before = _driver_pids(library)
    adapter = make_adapter(library)
    assert isinstance(adapter, NodeAdapter)
    adapter.configure(FAIL_MAX, RESET_TIMEOUT_S, (Excluded,))
    first = adapter.run(script(failures(FAIL_MAX), ReadState()))
    started = _driver_pids(library) - before
    assert len(started) == 1, started
    (pid,) = started
    adapter.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert adapter.run(script(failures(FAIL_MAX), ReadState())) == first
    adapter.close()
    assert _driver_pids(library) == before


def test_no_thread_outlives_a_run() -> None:
    """Calls left in flight or blocked at the end are drained, so no worker thread survives a run."""
    adapter = make_adapter("pybreaker")
    adapter.configure(3, 10.0)
    adapter.run(script(failures(3), Advance(10.5), Begin(4), Call(5)))
    assert not [thread.name for thread in threading.enumerate() if thread.name.startswith("conform-call-")]


def test_circuitbreaker_clock_patch_is_undone() -> None:
    """circuitbreaker reads time.monotonic, which the adapter redirects to frozen time only during a run."""
    import circuitbreaker

    run_catalogue(make_adapter("circuitbreaker"), ["deadline_boundary"])
    assert circuitbreaker.monotonic is time.monotonic


def test_observations_are_json_serialisable() -> None:
    """Observations survive a JSON round trip through to_dict/from_dict."""
    observations = run_catalogue(make_adapter("aiobreaker"), ["hung_probe"])["hung_probe"]
    text = json.dumps([observation.to_dict() for observation in observations])
    assert tuple(Observation.from_dict(data) for data in json.loads(text)) == observations


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Call(1, "explode"), "'outcome' must be one of"),
        (lambda: Call(0), "'call_id' must be a positive int"),
        (lambda: Advance(0), "'seconds' must be finite and > 0"),
        (lambda: script(Call(1), Call(1)), "call id 1 is already used"),
        (lambda: script(Finish(1)), r"Finish\(1\) needs an earlier Begin\(1\)"),
        (lambda: script(Begin(1), Finish(1), Finish(1)), "call 1 is finished twice"),
        (lambda: script(Call(1), Finish(1)), r"needs an earlier Begin\(1\)"),
    ],
)
def test_malformed_scripts_are_rejected(build: Callable[[], object], message: str) -> None:
    """Malformed steps and scripts raise ScriptError naming the offending value or step."""
    with pytest.raises(ScriptError, match=message):
        build()


def test_adapter_configuration_is_validated() -> None:
    """Adapters refuse to run unconfigured, reject invalid settings, and unknown library names list the
    known ones."""
    adapter = make_adapter("purgatory")
    with pytest.raises(AdapterError, match="call configure"):
        adapter.run([ReadState()])
    with pytest.raises(InvalidConfigError, match="'fail_max' must be an int >= 1"):
        adapter.configure(0, 10.0)
    with pytest.raises(InvalidConfigError, match="'reset_timeout' must be > 0"):
        adapter.configure(3, 0.0)
    with pytest.raises(
        AdapterError, match=r"must be one of pybreaker, circuitbreaker, aiobreaker, purgatory, opossum, cockatiel \(got"
    ):
        make_adapter("hystrix")
    with pytest.raises(ScriptError, match="'names' must be scenarios of the catalogue"):
        run_catalogue(adapter, ["no_such_scenario"])


def test_importing_the_harness_imports_no_breaker_library() -> None:
    """The libraries are imported only when a run starts, so breakerlab.proofs.conform imports without the
    extra."""
    code = (
        "import sys, breakerlab.proofs.conform;"
        "print(','.join(m for m in ('pybreaker', 'circuitbreaker', 'aiobreaker', 'purgatory', 'time_machine')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_fifo_rlock_is_reentrant_and_owned() -> None:
    """The lock swapped into pybreaker is re-entrant and refuses a release by a thread that does not hold it."""
    lock = FifoRLock()
    with lock, lock:
        assert not _acquire_elsewhere(lock)
    assert _acquire_elsewhere(lock)
    with pytest.raises(RuntimeError, match="un-acquired"):
        lock.release()


def _acquire_elsewhere(lock: FifoRLock) -> bool:
    """Try a non-blocking acquire from another thread (releasing it again if it succeeded)."""
    result: list[bool] = []

    def attempt() -> None:
        got = lock.acquire(blocking=False)
        if got:
            lock.release()
        result.append(got)

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    return result[0]


@pytest.mark.parametrize("library", ["aiobreaker", "purgatory"])
def test_asyncio_adapters_run_from_inside_a_running_event_loop(library: str) -> None:
    """From a thread whose event loop is running (a Jupyter kernel, an async function), the
    asyncio adapters still run, and observe exactly what they observe from plain code."""
    adapter = make_adapter(library)
    adapter.configure(FAIL_MAX, RESET_TIMEOUT_S, (Excluded,))
    steps = CATALOGUE["late_failure_in_half_open"].steps

    async def inside() -> tuple[Observation, ...]:
        return adapter.run(steps)

    assert asyncio.run(inside()) == adapter.run(steps)

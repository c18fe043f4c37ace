"""pybreaker's state names and state objects, read from the runtime breaker's ``State``.

pybreaker names its states ``"closed"``, ``"open"`` and ``"half-open"`` (with a hyphen, where
breakerlab's ``State.HALF_OPEN`` is ``"half_open"``) and hands listeners *state objects* whose
``name`` is that string. The objects here carry only the name: what a state does is the
transition table's, never theirs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from breakerlab.model.errors import InvalidConfigError
from breakerlab.model.states import State

if TYPE_CHECKING:
    from .pybreaker import CircuitBreaker

__all__ = [
    "STATE_CLOSED",
    "STATE_HALF_OPEN",
    "STATE_OPEN",
    "CircuitBreakerState",
    "CircuitClosedState",
    "CircuitHalfOpenState",
    "CircuitOpenState",
    "model_state",
    "state_name",
    "state_objects",
]

STATE_CLOSED = "closed"
STATE_OPEN = "open"
STATE_HALF_OPEN = "half-open"

_NAMES: dict[State, str] = {State.CLOSED: STATE_CLOSED, State.OPEN: STATE_OPEN, State.HALF_OPEN: STATE_HALF_OPEN}
_STATES: dict[str, State] = {name: state for state, name in _NAMES.items()}


def state_name(state: State) -> str:
    """pybreaker's name of ``state``: ``"closed"``, ``"open"``, ``"half-open"``; the manual
    states, which pybreaker does not have, keep breakerlab's names (``"forced_open"``,
    ``"disabled"``: reached only through ``CircuitBreaker.runtime``)."""
    return _NAMES.get(state, state.value)


def model_state(name: object, field: str = "state") -> State:
    """The ``State`` that pybreaker's state name ``name`` denotes (a ``State`` is accepted too).

    Raises:
        InvalidConfigError: ``name`` is none of pybreaker's three names (the message lists them).
    """
    if isinstance(name, State) and name in _NAMES:
        return name
    if isinstance(name, str) and name in _STATES:
        return _STATES[name]
    valid = ", ".join(repr(n) for n in _STATES)
    raise InvalidConfigError(field, f"one of {valid} (pybreaker.STATE_CLOSED, STATE_OPEN, STATE_HALF_OPEN)", name)


class CircuitBreakerState:
    """A state as pybreaker's listeners and ``CircuitBreaker.state`` show it: ``name`` is the
    state's pybreaker name. One object per state and breaker, so ``cb.state is new_state``
    holds in a ``state_change`` listener, as in pybreaker."""

    def __init__(self, cb: CircuitBreaker, name: str) -> None:
        self._breaker = cb
        self._name = name

    @property
    def name(self) -> str:
        """The state's name: ``"closed"``, ``"open"`` or ``"half-open"``."""
        return self._name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name!r}>"


class CircuitClosedState(CircuitBreakerState):
    """Closed: calls go through; consecutive failures are counted."""

    def __init__(self, cb: CircuitBreaker) -> None:
        super().__init__(cb, STATE_CLOSED)


class CircuitOpenState(CircuitBreakerState):
    """Open: calls are rejected with ``CircuitBreakerError`` until ``reset_timeout`` has passed."""

    def __init__(self, cb: CircuitBreaker) -> None:
        super().__init__(cb, STATE_OPEN)


class CircuitHalfOpenState(CircuitBreakerState):
    """Half-open: trial calls decide between closed and open."""

    def __init__(self, cb: CircuitBreaker) -> None:
        super().__init__(cb, STATE_HALF_OPEN)


def state_objects(cb: CircuitBreaker) -> dict[State, CircuitBreakerState]:
    """One state object for each ``State`` of breaker ``cb``."""
    objects: dict[State, CircuitBreakerState] = {
        State.CLOSED: CircuitClosedState(cb),
        State.OPEN: CircuitOpenState(cb),
        State.HALF_OPEN: CircuitHalfOpenState(cb),
    }
    for state in State:
        objects.setdefault(state, CircuitBreakerState(cb, state_name(state)))
    return objects

"""pybreaker's ``exclude`` list, as the runtime breaker's ``is_failure`` predicate.

pybreaker lets exclusions be added and removed while the breaker runs, and mixes exception
classes with callables (taking the exception, returning true when it is not a failure). A
``BreakerConfig`` is immutable, so the list lives here and the configuration's ``is_failure``
is ``Exclusions.is_failure``, which reads the list on every outcome: the model still decides
what an excluded exception is (``excluded_outcome="success"`` in the pybreaker preset) and
that an interruption (a ``BaseException`` that is not an ``Exception``) is always a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from breakerlab.model.errors import InvalidConfigError

__all__ = ["Exclusion", "Exclusions", "check_exclusion"]

Exclusion = type[BaseException] | Callable[[BaseException], object]
"""An item of ``exclude``: an exception class, or a callable taking the exception and returning
true when it is not a failure."""


def check_exclusion(item: object) -> Exclusion:
    """``item``, checked as an item of ``exclude``.

    Raises:
        InvalidConfigError: it is neither an ``Exception`` class nor a callable; or it is a
            ``BaseException`` that is not an ``Exception``, which is never excluded.
    """
    if isinstance(item, type):
        if issubclass(item, Exception):
            return item
        if issubclass(item, BaseException):
            raise InvalidConfigError(
                "exclude", "Exception subclasses or callables", item,
                "an interruption (KeyboardInterrupt, SystemExit, asyncio.CancelledError) always counts as a "
                "failure, as in pybreaker by default; catch it around the call to treat it otherwise",
            )
    elif callable(item):
        return item
    raise InvalidConfigError(
        "exclude", "exception classes or callables taking the exception", item,
        "e.g. exclude=[ValueError, lambda e: getattr(e, 'status', 500) < 500]",
    )


class Exclusions:
    """The current exclusions, replaced as a whole on every change (so a concurrent outcome
    reads either the old list or the new one, never half of a change)."""

    def __init__(self, items: Iterable[object] = ()) -> None:
        self.items: tuple[Exclusion, ...] = ()
        self._split: tuple[tuple[type[BaseException], ...], tuple[Callable[[BaseException], object], ...]] = ((), ())
        self.replace(items)

    def replace(self, items: Iterable[object]) -> None:
        """Make ``items`` the exclusions (each checked by ``check_exclusion``)."""
        checked = tuple(check_exclusion(item) for item in items)
        self._split = (
            tuple(e for e in checked if isinstance(e, type)),
            tuple(e for e in checked if not isinstance(e, type)),
        )
        self.items = checked

    def add(self, *items: object) -> None:
        """Exclude ``items`` too."""
        self.replace((*self.items, *items))

    def remove(self, item: Exclusion) -> None:
        """Stop excluding ``item`` (``ValueError`` if it is not excluded, as ``list.remove``)."""
        items = list(self.items)
        items.remove(item)
        self.replace(items)

    def is_failure(self, exc: BaseException) -> bool:
        """Whether ``exc`` is excluded by none of the current exclusions (the configuration's
        ``is_failure``; the model asks it only about ``Exception`` instances)."""
        classes, predicates = self._split
        if classes and isinstance(exc, classes):
            return False
        return not any(predicate(exc) for predicate in predicates)

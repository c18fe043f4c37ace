"""``LibraryAdapter``: the base of the adapters that run a script against a real library, and
``InProcessAdapter``: the base of those whose library runs in this process, driven by ``Runner``."""

from __future__ import annotations

import abc
import contextlib
import importlib.metadata
from collections.abc import Sequence
from typing import ClassVar

from ..script import Observation, Step, validate_script
from .base import AdapterError, Backend, LibraryConfig, frozen_time
from .runner import Runner

__all__ = ["InProcessAdapter", "LibraryAdapter"]


class LibraryAdapter(abc.ABC):
    """Base of the library adapters: configuration, version, and ``run``.

    Subclasses name the library (``name``, ``distribution``) and implement ``run``: in this
    process (``InProcessAdapter``) or in another (the npm libraries' node driver).
    """

    name: ClassVar[str]
    distribution: ClassVar[str]

    def __init__(self) -> None:
        self._config: LibraryConfig | None = None

    @property
    def version(self) -> str:
        """The installed version of the library (``importlib.metadata``)."""
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            raise AdapterError(
                f"{self.distribution} is not installed; install the extra: pip install 'breakerlab[conform]'"
            ) from None

    @property
    def config(self) -> LibraryConfig:
        """The configuration set by ``configure``.

        Raises:
            AdapterError: if ``configure`` was not called.
        """
        if self._config is None:
            raise AdapterError(f"{self.name}: call configure(fail_max, reset_timeout_s, excluded) before run()")
        return self._config

    def configure(
        self, fail_max: int, reset_timeout_s: float, excluded: tuple[type[BaseException], ...] = ()
    ) -> None:
        """Set the breaker settings for the following runs (validated here).

        Raises:
            InvalidConfigError: naming the offending setting.
        """
        self._config = LibraryConfig(fail_max=fail_max, reset_timeout_s=reset_timeout_s, excluded=tuple(excluded))

    @abc.abstractmethod
    def run(self, script: Sequence[Step]) -> tuple[Observation, ...]:
        """Run ``script`` against a fresh breaker under frozen time and return one observation per step.

        Calls still in flight or blocked after the last step are finished with ``success`` and
        recorded as ``drained``.

        Raises:
            ScriptError: if the script is malformed.
            AdapterError: if the adapter is not configured, the library is missing, or a call
                never returns.
        """

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class InProcessAdapter(LibraryAdapter):
    """An adapter whose library runs in this process: ``Runner`` drives the backend that
    ``_open`` builds (threads for a synchronous library, tasks for an asyncio one)."""

    def run(self, script: Sequence[Step]) -> tuple[Observation, ...]:
        """Run ``script`` against a fresh breaker under frozen time and return one observation per step.

        Calls still in flight or blocked after the last step are finished with ``success`` and
        recorded as ``drained``; no thread or task outlives the run.

        Raises:
            ScriptError: if the script is malformed.
            AdapterError: if the adapter is not configured or a call never returns.
        """
        steps = validate_script(script)
        config = self.config
        _ = self.version  # fail early, with the install hint, when the library is missing
        with frozen_time() as clock, self._open(config) as backend:
            return Runner(backend, clock).run(steps)

    @abc.abstractmethod
    def _open(self, config: LibraryConfig) -> contextlib.AbstractContextManager[Backend]:
        """Build a fresh breaker (time is already frozen) and the backend that drives it; close it on exit."""

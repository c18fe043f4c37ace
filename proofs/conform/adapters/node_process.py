"""Running npm breaker libraries: one ``node driver.mjs LIBRARY`` process per adapter, spoken to in JSON lines.

The driver (``proofs/conform/node/driver.mjs``) runs the library under fake timers and executes
whole scripts itself, with the same step rules as ``Runner``; this module starts it, sends a
run (configuration, steps, end) and reads the observations back. The npm packages are pinned
by ``proofs/conform/node/package-lock.json`` and installed with
``npm ci --prefix proofs/conform/node``.
"""

from __future__ import annotations

import json
import os
import pathlib
import selectors
import shutil
import subprocess
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

from ..script import Advance, Begin, Call, Excluded, Finish, Observation, Step, validate_script
from .base import CALL_TIMEOUT_S, WINDOW_S, AdapterError, time_label
from .library import LibraryAdapter

__all__ = ["DRIVER_DIR", "INSTALL_HINT", "NodeAdapter", "NodeProcess", "installed_version", "step_to_json"]

#: Where ``driver.mjs``, its ``package.json`` and its ``node_modules`` live.
DRIVER_DIR = pathlib.Path(__file__).resolve().parent.parent / "node"
#: How to install the driver's packages (named in every error about them).
INSTALL_HINT = "npm ci --prefix proofs/conform/node"
#: Real seconds one run may take before the driver is deemed hung (a run takes milliseconds).
_RUN_LIMIT_S = 60.0


def installed_version(package: str, directory: pathlib.Path = DRIVER_DIR) -> str:
    """The version of ``package`` installed in the driver's ``node_modules``.

    Raises:
        AdapterError: if it is not installed (the message gives the install command).
    """
    manifest = directory / "node_modules" / package / "package.json"
    try:
        return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        raise AdapterError(
            f"the npm package {package} is not installed in {directory / 'node_modules'}; run: {INSTALL_HINT}"
        ) from None


def step_to_json(step: Step) -> dict[str, Any]:
    """A step as the driver reads it: ``{"step": "Call", "call_id": 1, "outcome": "failure"}``."""
    if isinstance(step, (Call, Finish)):
        return {"step": type(step).__name__, "call_id": step.call_id, "outcome": step.outcome}
    if isinstance(step, Begin):
        return {"step": "Begin", "call_id": step.call_id}
    if isinstance(step, Advance):
        return {"step": "Advance", "seconds": step.seconds}
    return {"step": "ReadState"}


class NodeProcess:
    """A running ``node driver.mjs LIBRARY``, started on the first run and kept for the next ones.

    Args:
        library: The npm package the driver runs (``opossum``, ``cockatiel``).
        directory: The driver's folder (``DRIVER_DIR``; tests point it elsewhere).
        node: The ``node`` executable (found on ``PATH`` by default).
    """

    def __init__(self, library: str, directory: pathlib.Path = DRIVER_DIR, node: str | None = None) -> None:
        self.library = library
        self.directory = directory
        self._node = node
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[[subprocess.Popen[bytes]], NodeProcess] | None = None
        self._pending = b""

    def _start(self) -> subprocess.Popen[bytes]:
        node = self._node or shutil.which("node")
        if node is None:
            raise AdapterError(f"node (Node.js >= 20) is not on PATH; install it, then run: {INSTALL_HINT}")
        for package in (self.library, "@sinonjs/fake-timers"):
            installed_version(package, self.directory)
        try:
            process = subprocess.Popen(
                [node, str(self.directory / "driver.mjs"), self.library],
                cwd=self.directory,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as error:
            raise AdapterError(
                f"cannot start node ({node}): {error.strerror or error}; install Node.js >= 20 or pass the path "
                f"of a node executable, then run: {INSTALL_HINT}"
            ) from None
        self._pending = b""
        self._finalizer = weakref.finalize(self, _stop, process)
        return process

    def run(self, configuration: dict[str, Any], steps: Sequence[Step]) -> tuple[Observation, ...]:
        """Run one script on a fresh breaker configured with ``configuration``.

        Raises:
            AdapterError: if the driver rejects a line, dies or hangs (with what it said).
        """
        if self._process is None or self._process.poll() is not None:
            self._process = self._start()
        process = self._process
        lines = [{"configure": configuration}, *(step_to_json(step) for step in steps), {"end": True}]
        assert process.stdin is not None
        try:
            process.stdin.write("".join(json.dumps(line) + "\n" for line in lines).encode())
            process.stdin.flush()
        except OSError:
            raise self._died() from None
        observations: list[Observation] = []
        for text in self._answers():
            answer = json.loads(text)
            if "error" in answer:
                raise AdapterError(f"the {self.library} driver refused the script: {answer['error']}")
            if "done" in answer:
                return tuple(observations)
            if "elapsed_ns" in answer:  # an advance: labelled here, as every adapter's FrozenClock does
                answer = {"step": answer["step"], "kind": "advance", "result": time_label(answer["elapsed_ns"])}
            observations.append(Observation.from_dict(answer))
        raise self._died()

    def _answers(self) -> Iterator[bytes]:
        """The driver's output lines, read from the pipe unbuffered (so waiting for more never
        waits on lines already read), each within ``_RUN_LIMIT_S``; ends when the driver exits."""
        process = self._process
        assert process is not None and process.stdout is not None
        fd = process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                newline = self._pending.find(b"\n")
                if newline >= 0:
                    line, self._pending = self._pending[:newline], self._pending[newline + 1:]
                    yield line
                    continue
                if not selector.select(_RUN_LIMIT_S):
                    self.close()
                    raise AdapterError(f"the {self.library} driver did not answer within {_RUN_LIMIT_S:g} s (stopped)")
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return
                self._pending += chunk

    def _died(self) -> AdapterError:
        process = self._process
        assert process is not None
        try:
            _, stderr = process.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
        self._process = None
        said = stderr.decode(errors="replace").strip() or f"exit status {process.returncode}"
        return AdapterError(f"the {self.library} driver stopped: {said}")

    def close(self) -> None:
        """Stop the driver (it is started again by the next run)."""
        if self._finalizer is not None:
            self._finalizer()
        self._process = None

    def __repr__(self) -> str:
        running = self._process is not None and self._process.poll() is None
        return f"<NodeProcess {self.library} {'running' if running else 'stopped'}>"


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Close the driver's stdin (it exits at end of input) and reap it."""
    if process.poll() is None:
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


class NodeAdapter(LibraryAdapter):
    """Base of the adapters for npm libraries: the script runs inside ``node driver.mjs LIBRARY``.

    The driver mirrors ``Runner`` (the same observation rules) with the library under fake
    timers (``@sinonjs/fake-timers`` over ``Date`` and the timer functions, from
    ``START_EPOCH_S``), so the library's own timers (opossum's half-open and call timeout)
    fire exactly when an ``Advance`` reaches them. Subclasses set ``name``, ``distribution``
    (the npm package) and say in their docstring how ``LibraryConfig`` maps onto the library.

    Args:
        directory: The driver's folder (``DRIVER_DIR``).
        node: The ``node`` executable (``PATH`` by default).
    """

    def __init__(self, *, directory: pathlib.Path = DRIVER_DIR, node: str | None = None) -> None:
        super().__init__()
        self.directory = directory
        self._process = NodeProcess(self.distribution, directory, node)

    @property
    def version(self) -> str:
        """The installed version of the npm package (from its ``package.json``)."""
        return installed_version(self.distribution, self.directory)

    def driver_configuration(self) -> dict[str, Any]:
        """What the driver is told: the catalogue settings and the library-only ones
        (``CALL_TIMEOUT_S`` for a library's own call timeout, ``WINDOW_S`` for a rolling window).

        Raises:
            AdapterError: if an exception other than ``Excluded`` is to be excluded (the driver
                has only the scripted errors).
        """
        config = self.config
        others = [t.__name__ for t in config.excluded if t is not Excluded]
        if others:
            raise AdapterError(f"{self.name}: only Excluded can be excluded in an npm library (got {', '.join(others)})")
        return {
            "fail_max": config.fail_max,
            "reset_timeout_s": config.reset_timeout_s,
            "call_timeout_s": CALL_TIMEOUT_S,
            "window_s": WINDOW_S,
            "exclude": Excluded in config.excluded,
        }

    def run(self, script: Sequence[Step]) -> tuple[Observation, ...]:
        """Run ``script`` against a fresh breaker in the driver (see ``LibraryAdapter.run``).

        Raises:
            ScriptError: if the script is malformed.
            AdapterError: if the adapter is not configured, node or the packages are missing
                (naming ``npm ci --prefix proofs/conform/node``), or the driver fails.
        """
        steps = validate_script(script)
        return self._process.run(self.driver_configuration(), steps)

    def close(self) -> None:
        """Stop the driver process (a later run starts it again)."""
        self._process.close()


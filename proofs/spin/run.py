"""Running SPIN on a generated Promela model: safety (assertions) and LTL properties under fairness.

``check_safety`` compiles the verifier with ``-DSAFETY -DNOCLAIM`` (assertions and invalid end
states, no claim); ``check_ltl`` compiles it with the model's ``ltl`` claims and runs
``pan -a -f -N name`` (acceptance cycles under weak fairness). On a violation the error trail
is replayed with ``spin -t``; the model prints one ``@@STEP key=value ...`` line per atomic
step, which becomes one dict per step (``SpinResult.steps``) that can be printed as a numbered
list or replayed on the Python breaker (``breakerlab.proofs.spin.trail``).

Everything happens in a temporary directory (or the ``workdir`` given), never in the repository.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from breakerlab.model import BreakerError

from .trail import parse_steps

__all__ = [
    "CFLAGS",
    "SpinResult",
    "ToolMissingError",
    "check_ltl",
    "check_safety",
    "require_tools",
    "simulate",
]

#: C compiler flags of every verifier. Compiling pan.c dominates on these small models: gcc -O2
#: takes 1.5-2.3 s per verifier and saves ~0.1 s of search, -O0 takes 0.3 s (pass
#: ``cflags=("-O2", "-w")`` for large models). ``-w``: pan.c's bounds-check code trips warnings.
CFLAGS: tuple[str, ...] = ("-O0", "-w")
#: pan's maximum search depth and hash table size (2**N slots).
MAX_DEPTH = 200_000
HASH_BITS = 20
TIMEOUT_S = 300.0

_builds: dict[Path, threading.Lock] = {}
_builds_lock = threading.Lock()

#: Where compiled verifiers are kept between runs when no ``workdir`` is given:
#: ``$BREAKERLAB_SPIN_CACHE``, else ``$XDG_CACHE_HOME/breakerlab/spin`` (``~/.cache/...``);
#: ``BREAKERLAB_SPIN_CACHE=off`` compiles every verifier afresh. A verifier is keyed by the
#: SHA-256 of its model's code, the compiler flags, the mode and the tools' versions, so a
#: cached one is exactly the one a fresh compilation would give.
CACHE_ENV = "BREAKERLAB_SPIN_CACHE"


def cache_root() -> Path | None:
    """The verifier cache's folder (``None``: caching is off)."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "breakerlab" / "spin"


@functools.lru_cache(maxsize=1)
def _tool_versions() -> str:
    """``spin -V`` and ``gcc --version``: part of a cached verifier's key."""
    spin = subprocess.run(["spin", "-V"], capture_output=True, text=True, check=False)
    gcc = subprocess.run(["gcc", "--version"], capture_output=True, text=True, check=False)
    return spin.stdout + gcc.stdout.splitlines()[0] if gcc.stdout else spin.stdout


class ToolMissingError(BreakerError):
    """SPIN or a C compiler is not installed; the message says how to install it."""


@dataclasses.dataclass(frozen=True)
class SpinResult:
    """The outcome of one SPIN run.

    Attributes:
        check: ``"safety"`` or the LTL property's name.
        verdict: ``"holds"``, ``"violated"`` or ``"error"`` (SPIN failed, or the search was
            incomplete: never read an error as "holds").
        states: States stored.
        transitions: Transitions explored.
        depth: Maximum search depth reached.
        seconds: Wall time of the run, compilation included.
        output: pan's output (and the compiler's or spin's on an error).
        steps: On a violation, the replayed trail: one dict per atomic step (``n``, ``who``,
            ``event``, ``row``, ``verdict``, ``now``, ``mode`` and every printed variable;
            ``cycle`` is true from the start of an acceptance cycle).
        failure: What pan reported (``assertion violated ... [S3 S9]``, ``acceptance cycle``).
        trail: On a violation, the output of the trail's replay (``spin -t``): every line the
            model printed, ``@@STEP`` lines and any other (the shared model's ``@@NET``).
    """

    check: str
    verdict: str
    states: int
    transitions: int
    depth: int
    seconds: float
    output: str
    steps: tuple[dict[str, object], ...] = ()
    failure: str = ""
    trail: str = ""


def require_tools() -> None:
    """Raise ``ToolMissingError`` unless ``spin`` and ``gcc`` are on the PATH."""
    if shutil.which("spin") is None:
        raise ToolMissingError("SPIN is not installed: apt-get install spin")
    if shutil.which("gcc") is None:
        raise ToolMissingError("gcc is not installed (SPIN compiles its verifier with it): apt-get install gcc")


def check_safety(
    pml_text: str, workdir: Path | str | None = None, *, cflags: Sequence[str] = CFLAGS, cache: bool | None = None
) -> SpinResult:
    """Check every assertion of the model, and that it never deadlocks.

    ``cache``: take the verifier from the verifier cache (``cache_root``), compiling it there if
    missing; by default only when no ``workdir`` is given."""
    with _directory(workdir) as directory:
        use_cache = workdir is None if cache is None else cache
        return _check(pml_text, Path(directory), "safety", cflags, safety=True, args=(), cache=use_cache)


def check_ltl(
    pml_text: str,
    name: str,
    workdir: Path | str | None = None,
    *,
    cflags: Sequence[str] = CFLAGS,
    cache: bool | None = None,
) -> SpinResult:
    """Check the model's ``ltl name { ... }`` claim under weak fairness (``pan -a -f``); the
    model's assertions are ignored here (``check_safety`` checks them). ``cache`` as for
    ``check_safety``."""
    if not re.search(rf"^ltl {re.escape(name)}\b", pml_text, re.MULTILINE):
        raise ValueError(f"the model has no 'ltl {name}' block")
    with _directory(workdir) as directory:
        args = ("-a", "-f", "-A", "-N", name)  # -A: assertions are the safety run's business
        use_cache = workdir is None if cache is None else cache
        return _check(pml_text, Path(directory), name, cflags, safety=False, args=args, cache=use_cache)


@contextlib.contextmanager
def _directory(workdir: Path | str | None) -> Iterator[str]:
    """``workdir``, or a fresh temporary folder (whose verifiers come from the cache)."""
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
        yield str(workdir)
        return
    with tempfile.TemporaryDirectory(prefix="breakerlab-spin-") as directory:
        yield directory


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def _compile(pml_text: str, directory: Path, cflags: Sequence[str], safety: bool) -> str:
    """``spin -a`` and gcc in ``directory``; an error text (empty on success)."""
    (directory / "model.pml").write_text(pml_text)
    generated = _run(["spin", "-a", "model.pml"], directory)
    if generated.returncode != 0 or not (directory / "pan.c").exists():
        return f"spin -a failed:\n{generated.stdout}{generated.stderr}"
    defines = ["-DSAFETY", "-DNOCLAIM"] if safety else ["-DNFAIR=4"]
    compiled = _run(["gcc", *cflags, *defines, "-o", "pan", "pan.c"], directory)
    if compiled.returncode != 0:
        return f"gcc failed:\n{compiled.stderr}"
    return ""


def _key(pml_text: str, cflags: Sequence[str], safety: bool) -> str:
    code = pml_text[pml_text.find("*/") + 2:] if pml_text.startswith("/*") else pml_text  # the header is a comment
    return hashlib.sha256("\0".join([code, *cflags]).encode()).hexdigest()[:16] + ("-safety" if safety else "-ltl")


def _cached(pml_text: str, cflags: Sequence[str], safety: bool) -> tuple[Path | None, str]:
    """The cached verifier for (model, flags, mode), compiled into the cache if missing (built
    aside and renamed into place, so processes sharing the cache never see half a build);
    ``(None, "")`` when caching is off."""
    root = cache_root()
    if root is None:
        return None, ""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None, ""  # an unwritable cache is no cache
    key = _key(pml_text, cflags, safety)
    versions = hashlib.sha256(_tool_versions().encode()).hexdigest()[:8]
    final = root / f"{key}-{versions}"
    if (final / "pan").exists():
        return final, ""
    building = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
    error = _compile(pml_text, building, cflags, safety)
    if error:
        shutil.rmtree(building, ignore_errors=True)
        return None, error
    try:
        os.rename(building, final)
    except OSError:  # another process put it there first: the same verifier
        shutil.rmtree(building, ignore_errors=True)
    return final, ""


def _build(pml_text: str, workdir: Path, cflags: Sequence[str], safety: bool, cache: bool = False) -> tuple[Path, str]:
    """Compile the verifier once per (model, mode) in ``workdir`` (``cache``: take it from the
    verifier cache, compiling it there if missing); return its directory and an error text
    (empty on success)."""
    require_tools()
    directory = workdir / _key(pml_text, cflags, safety)
    with _builds_lock:
        lock = _builds.setdefault(directory, threading.Lock())
    with lock:
        if (directory / "pan").exists():
            return directory, ""
        directory.mkdir(parents=True, exist_ok=True)
        cached, error = _cached(pml_text, cflags, safety) if cache else (None, "")
        if error:
            return directory, error
        if cached is not None:
            (directory / "model.pml").write_text(pml_text)
            try:
                os.link(cached / "pan", directory / "pan")
            except OSError:
                shutil.copy2(cached / "pan", directory / "pan")
            return directory, ""
        return directory, _compile(pml_text, directory, cflags, safety)


def _check(
    pml_text: str,
    workdir: Path,
    check: str,
    cflags: Sequence[str],
    *,
    safety: bool,
    args: tuple[str, ...],
    cache: bool = False,
) -> SpinResult:
    started = time.perf_counter()
    try:
        directory, error = _build(pml_text, workdir, cflags, safety, cache)
        if error:
            return SpinResult(check, "error", 0, 0, 0, time.perf_counter() - started, error)
        trail = directory / "model.pml.trail"
        with _builds[directory]:  # one pan run per directory at a time: they share the trail file
            trail.unlink(missing_ok=True)
            ran = _run(["./pan", f"-m{MAX_DEPTH}", f"-w{HASH_BITS}", *args], directory)
            output = ran.stdout + ran.stderr
            steps: tuple[dict[str, object], ...] = ()
            failure = replayed = ""
            if trail.exists():
                replay = _run(["spin", "-t", "-T", "model.pml"], directory)
                replayed = replay.stdout
                steps = parse_steps(replayed)
                failure = _failure(output, replay.stdout, pml_text)
    except subprocess.TimeoutExpired as exc:
        return SpinResult(check, "error", 0, 0, 0, time.perf_counter() - started, f"timed out after {exc.timeout} s")
    seconds = time.perf_counter() - started
    errors = _number(r"errors: (\d+)", output)
    states = _number(r"(\d+) states, stored", output) or 0
    transitions = _number(r"(\d+) transitions", output) or 0
    depth = _number(r"depth reached (\d+)", output) or 0
    if errors and steps:  # a counterexample is definitive even if the search was cut short
        verdict = "violated"
    elif errors != 0 or "max search depth too small" in output or ran.returncode != 0:
        verdict = "error"  # no verdict: SPIN failed, or the search was incomplete
    else:
        verdict = "holds"
    return SpinResult(check, verdict, states, transitions, depth, seconds, output, steps, failure, replayed)


def simulate(pml_text: str, *, steps: int = 500, seed: int = 1) -> tuple[dict[str, object], ...]:
    """A random run of the model (``spin -n<seed> -u<steps>``), as parsed ``@@STEP`` dicts.

    Replaying such runs on the Python breaker (``trail.replay_trail``) checks that the model and
    the code agree on arbitrary interleavings, not only on counterexamples.
    """
    require_tools()
    with tempfile.TemporaryDirectory(prefix="breakerlab-spin-") as directory:
        (Path(directory) / "model.pml").write_text(pml_text)
        ran = _run(["spin", "-T", "-B", f"-n{seed}", f"-u{steps}", "model.pml"], Path(directory))
    if ran.returncode != 0 and "assertion violated" not in ran.stdout:  # a violation just ends the run
        raise RuntimeError(f"spin simulation failed:\n{ran.stderr or ran.stdout[-2000:]}")
    return parse_steps(ran.stdout)


def _number(pattern: str, text: str) -> int | None:
    match = re.search(pattern, text)
    return int(match.group(1)) if match else None


def _failure(output: str, replay: str, pml_text: str) -> str:
    """pan's error line, with the property tag of the failed assertion's source line."""
    match = re.search(r"pan:1: (.*?)(?: \(at depth \d+\))?$", output, re.MULTILINE)
    text = match.group(1) if match else "error"
    line = re.search(r"model\.pml:(\d+), Error: assertion violated", replay)
    if line:
        source = pml_text.splitlines()[int(line.group(1)) - 1]
        tag = re.search(r"/\* (.*?) \*/", source)
        if tag:
            text = f"{text} [{tag.group(1)}]"
    return text

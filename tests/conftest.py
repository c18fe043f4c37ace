"""Pytest configuration: the Hypothesis profiles, loading the one BREAKERLAB_PROFILE names, and
which tests marked ``slow`` and ``bench`` run.

Profiles: ``dev`` (the default on a developer machine), ``ci`` (derandomized; the default when
``CI=true``) and ``thorough`` (long runs, chosen by hand).

Tests marked ``slow`` (full-scale runs: the README's whole sweep, the notebooks at full scale)
are skipped by default, and run with ``BREAKERLAB_PROFILE=thorough`` or when a ``-m``
expression names the marker (``-m slow``). Tests marked ``bench`` assert that a benchmark meets
its target, a measurement of the machine: they run only when ``-m`` names them
(``-m bench``, on a quiet machine).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

settings.register_profile("dev", max_examples=60, stateful_step_count=40, deadline=None)
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=400,
    stateful_step_count=60,
    deadline=None,
    print_blob=True,
)
settings.register_profile("thorough", max_examples=2000, stateful_step_count=100, deadline=None)

PROFILES = ("dev", "ci", "thorough")


def _profile_name() -> str:
    """Choose the profile: BREAKERLAB_PROFILE, else ``ci`` when CI=true, else ``dev``."""
    name = os.environ.get("BREAKERLAB_PROFILE", "").strip()
    if not name:
        return "ci" if os.environ.get("CI", "").strip().lower() == "true" else "dev"
    if name not in PROFILES:
        raise ValueError(
            f"'BREAKERLAB_PROFILE' must be one of {', '.join(PROFILES)} (got {name!r})"
        )
    return name


settings.load_profile(_profile_name())


#: The modules that take longest, longest first. ``-n auto --dist loadscope`` hands whole modules
#: to the workers in collection order, so starting with these (longest processing time first)
#: keeps one worker from being left with a long module at the end while the others idle.
LONGEST_MODULES = (
    "test_sweep.py", "test_notebooks.py", "test_prove_cli.py", "test_conform_fit.py", "test_spin.py",
    "test_sweep_faults.py", "test_adaptive.py", "test_fragile.py", "test_sim_validation.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the longest modules first (``LONGEST_MODULES``; the order within a module is kept);
    skip the tests marked ``slow`` unless the profile is ``thorough`` or ``-m`` names ``slow``,
    and those marked ``bench`` unless ``-m`` names ``bench``."""
    rank = {name: position for position, name in enumerate(LONGEST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # a stable sort
    chosen = config.getoption("markexpr") or ""
    skips = {"bench": pytest.mark.skip(reason="bench: a timing verdict; run on a quiet machine with -m bench")}
    if _profile_name() != "thorough" and "slow" not in chosen:
        skips["slow"] = pytest.mark.skip(reason="slow: run with BREAKERLAB_PROFILE=thorough or -m slow")
    if "bench" in chosen:
        del skips["bench"]
    for item in items:
        for marker, skip in skips.items():
            if item.get_closest_marker(marker) is not None:
                item.add_marker(skip)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real redis-server for this module's tests (tests/redis_server.py), stopped afterwards."""
    from redis_server import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()

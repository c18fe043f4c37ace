"""The library code type-checks under mypy --strict."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_library_passes_mypy_strict(tmp_path: pathlib.Path) -> None:
    """`mypy --strict` reports no issues in breakerlab.model, breakerlab.proofs and breakerlab.sim.

    mypy cannot follow the editable install's package mapping (model/ is breakerlab.model), so
    the check runs on a tree of symlinks laid out as the installed namespace.
    """
    package = tmp_path / "breakerlab"
    package.mkdir()
    for folder in ("model", "proofs", "sim"):
        (package / folder).symlink_to(ROOT / folder)
    result = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
            "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path / ".mypy_cache"),
            "-p", "breakerlab.model", "-p", "breakerlab.proofs", "-p", "breakerlab.sim",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr

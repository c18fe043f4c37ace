"""The documented examples run: module doctests and the Python blocks of sim/README.md."""

from __future__ import annotations

import doctest
import pathlib
import re

import breakerlab.model
import breakerlab.model.option_summaries
import breakerlab.sim

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_package_docstring_examples_run() -> None:
    """The examples in breakerlab.model's, its option summaries' and breakerlab.sim's docstrings
    give the shown output."""
    for module in (breakerlab.model, breakerlab.model.option_summaries, breakerlab.sim):
        result = doctest.testmod(module, verbose=False)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_sim_readme_python_blocks_run() -> None:
    """Every ```python block of sim/README.md runs as written."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "sim" / "README.md").read_text(), re.DOTALL)
    assert blocks
    for block in blocks:
        exec(compile(block, "sim/README.md", "exec"), {})


def test_readme_simulation_example_runs() -> None:
    """The README's Python simulation example runs as written."""
    text = (ROOT / "README.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.DOTALL) if "breakerlab.sim" in b]
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})

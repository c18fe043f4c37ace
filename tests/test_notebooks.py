"""The notebooks: each Jupytext script is paired with a stripped .ipynb, and runs at small scale."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pathlib

import jupytext
import nbclient
import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))
#: What each notebook must show, by stem: (MIME type, text the output must contain); the others
#: must show an image.
SHOWS = {"01_model_tour": ("text/markdown", "```mermaid")}
IMAGE = ("image/png", "")


def _cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def test_every_notebook_is_found() -> None:
    """The five notebooks exist as Jupytext scripts."""
    assert [path.stem for path in NOTEBOOKS] == [
        "01_model_tour", "02_anatomy_of_an_outage", "03_sweep", "04_retries_capacity_metastability",
        "05_library_fingerprints",
    ]


@pytest.mark.parametrize("script", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_paired_and_stripped(script: pathlib.Path) -> None:
    """The paired .ipynb has the script's cells, no outputs and no execution counts."""
    paired = script.with_suffix(".ipynb")
    assert paired.exists(), f"run: jupytext --sync {script.relative_to(ROOT)}"
    notebook = jupytext.read(paired)
    assert _cells(notebook) == _cells(jupytext.read(script)), f"run: jupytext --sync {script.relative_to(ROOT)}"
    assert notebook.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "strip the outputs before committing"


@pytest.mark.parametrize("script", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_uses_only_the_public_api(script: pathlib.Path) -> None:
    """Every name a notebook imports from breakerlab is in its module's __all__, or is a public submodule."""
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("breakerlab"):
            public = importlib.import_module(node.module).__all__
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                assert alias.name in public or (
                    not alias.name.startswith("_") and importlib.util.find_spec(submodule) is not None
                ), f"{script.name}:{node.lineno} imports {alias.name!r}, not public in {node.module}"


@pytest.mark.parametrize("script", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_at_small_scale(
    script: pathlib.Path, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notebook runs without an error at small scale and shows its figure or diagram."""
    monkeypatch.setenv("BREAKERLAB_NOTEBOOK_SCALE", "small")  # the kernel inherits the environment
    notebook = jupytext.read(script)
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    mime, text = SHOWS.get(script.stem, IMAGE)
    shown = [output.data[mime] for output in outputs if mime in output.get("data", {})]
    assert any(text in content for content in shown), f"no {mime} output containing {text!r}"

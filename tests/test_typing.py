"""The library code type-checks under mypy --strict."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: mypy's cache persists between runs (it is in .gitignore); mypy checks each file's hash, so a
#: stale entry is never trusted.
CACHE_DIR = ROOT / ".mypy_cache"


def package_folders() -> dict[str, pathlib.Path]:
    """Each package pyproject.toml declares, and the folder setuptools installs it from.

    A package's folder is its longest ``package-dir`` prefix's folder plus the remaining name
    parts, as setuptools resolves it.
    """
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages, mapping = setuptools["packages"], setuptools.get("package-dir", {})
    assert isinstance(packages, list), "'tool.setuptools.packages' must be an explicit list (got a find directive)"
    folders: dict[str, pathlib.Path] = {}
    for name in packages:
        parts = name.split(".")
        for cut in range(len(parts), -1, -1):
            prefix = ".".join(parts[:cut])
            if prefix in mapping or cut == 0:
                base = mapping.get(prefix, mapping.get("", "."))
                folders[name] = ROOT / base / pathlib.Path(*parts[cut:])
                break
    return folders


def namespace_tree(root: pathlib.Path) -> list[str]:
    """Lay out the installed namespace under ``root``: a directory per package holding symlinks
    to its own files only (never to a subfolder, so model/runtime appears once, as
    breakerlab.runtime); returns the top-level packages to check."""
    folders = package_folders()
    for name, folder in folders.items():
        target = root.joinpath(*name.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for source in sorted(folder.iterdir()):
            if source.is_file() and (source.suffix in (".py", ".pyi") or source.name == "py.typed"):
                (target / source.name).symlink_to(source)
    return [name for name in folders if name.rpartition(".")[0] not in folders]


def test_every_package_folder_is_declared_once() -> None:
    """Every folder of Python files under a package's folder is itself a declared package, and no
    folder is installed twice (what mypy checks is exactly what pip installs)."""
    folders = package_folders()
    assert len(set(folders.values())) == len(folders), f"a folder is mapped to two packages: {folders}"
    declared = set(folders.values())
    for folder in folders.values():
        assert (folder / "__init__.py").is_file(), f"package folder {folder} has no __init__.py"
        for sub in folder.rglob("*.py"):
            if "__pycache__" not in sub.parts:
                assert sub.parent in declared, (
                    f"{sub.relative_to(ROOT)} is in no declared package: add its folder to "
                    "'packages' (and 'package-dir' if needed) in pyproject.toml"
                )


def test_library_passes_mypy_strict(tmp_path: pathlib.Path) -> None:
    """`mypy --strict` reports no issues in any package pyproject.toml declares.

    mypy cannot follow the editable install's package mapping (model/ is breakerlab.model), so
    the check runs on a tree of symlinks laid out as the installed namespace.
    """
    roots = namespace_tree(tmp_path)
    assert {"breakerlab.model", "breakerlab.runtime", "breakerlab.cli", "breakerlab.proofs", "breakerlab.sim"} <= set(roots)
    assert not (tmp_path / "breakerlab" / "model" / "runtime").exists()
    result = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
            "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(CACHE_DIR),
            *(arg for name in roots for arg in ("-p", name)),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr

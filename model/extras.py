"""Optional parts of the distribution: which extra each needs, and the error when it is missing.

``pip install breakerlab`` gives the model and the runtime with ``transitions`` alone; the
simulator, the proofs, the conformance harness and the OpenTelemetry listener each need an
extra. A part calls ``require_extra`` before importing what it needs, so a missing extra fails
with the command that installs it instead of a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib.util

__all__ = ["MissingExtraError", "require_extra"]


class MissingExtraError(ImportError):
    """An optional part was imported without the extra that provides its dependencies."""


def require_extra(part: str, extra: str, modules: tuple[str, ...]) -> None:
    """Raise ``MissingExtraError`` naming ``extra`` if any of ``modules`` is not installed.

    Args:
        part: The importing package, e.g. ``"breakerlab.sim"``.
        extra: The extra that installs ``modules``, e.g. ``"sim"``.
        modules: Top-level module names the part imports.
    """
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtraError(
            f"{part} needs the [{extra}] extra ({', '.join(missing)} not installed): "
            f"pip install 'breakerlab[{extra}]' (from a clone: pip install -e '.[{extra}]')",
            name=missing[0],
        )

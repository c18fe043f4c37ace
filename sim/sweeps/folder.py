"""A sweep's output folder checked before anything is simulated: that it is, or can be made, a
folder the sweep can write its runs in."""

from __future__ import annotations

import os
import pathlib
import tempfile

from ..errors import InvalidConfigError

__all__ = ["check_output_folder"]


def check_output_folder(folder: pathlib.Path, option: str = "--out") -> None:
    """Create ``folder`` (and its parents) if needed, and write and remove a file in it, so that
    a path that is a regular file, lies under one, or is not writable fails at once, not after
    the first runs.

    Raises:
        InvalidConfigError: naming ``option``, the path and what is wrong with it.
    """
    existing = next((path for path in (folder, *folder.parents) if path.exists()), None)
    if existing is not None and not existing.is_dir():
        where = "it is" if existing == folder else f"{str(existing)!r} is"
        raise InvalidConfigError(
            option, "a folder (or a path where one can be made)", str(folder),
            f"{where} a regular file, not a folder: choose another {option}",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".breakerlab-write-check-")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise InvalidConfigError(
            option, "a folder the sweep can write in", str(folder),
            f"{error.strerror or error}: choose another {option}, or make it writable",
        ) from None

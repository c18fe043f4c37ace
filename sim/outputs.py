"""Writing output files atomically: a reader, or a kill at any moment, sees the old file or the
new one, never a part of it."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from typing import IO

__all__ = ["write_atomically"]


def write_atomically(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> None:
    """Have ``write`` fill a temporary file next to ``path``, flush it to disk and rename it to
    ``path``.

    The temporary file is created like any new file (its mode follows the umask, as ``open``
    would give ``path``), named after ``path`` and this process, and removed if
    ``write`` fails; one left behind by a killed process is replaced.
    """
    target = pathlib.Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        with os.fdopen(os.open(temporary, flags, 0o666), "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise

"""Where ``breakerlab simulate --plot PATH`` writes the timeline: a file, or a named file in an
existing folder, checked before anything is simulated."""

from __future__ import annotations

import os
import pathlib
import tempfile

from .errors import InvalidConfigError

__all__ = ["PLOT_NAME", "plot_target"]

#: The timeline's file name when --plot names an existing folder.
PLOT_NAME = "timeline-{trace}-seed{seed}.png"


def plot_target(text: str, trace: str, seed: int) -> pathlib.Path:
    """The file ``--plot text`` writes, checked before anything is simulated.

    An existing folder gets ``PLOT_NAME`` inside it; any other path is the file, its format
    given by its extension (none: ``.png``, as matplotlib does). The folder it goes in must
    exist and be writable.

    Raises:
        InvalidConfigError: a missing or unwritable folder, a path under a regular file, or an
            extension matplotlib cannot write (the message lists those it can).
    """
    path = pathlib.Path(text)
    if path.is_dir():
        return path / PLOT_NAME.format(trace=trace, seed=seed)
    if text.endswith(("/", os.sep)):
        raise InvalidConfigError("--plot", "an existing folder, or a file name such as timeline.png", text,
                                 "the folder does not exist: create it first")
    if not path.suffix:
        path = path.with_name(path.name + ".png")
    from .plot import image_formats

    formats = image_formats()
    if path.suffix[1:].lower() not in formats:
        raise InvalidConfigError("--plot", f"a file name ending in an image format ({', '.join(formats)}) or an "
                                 "existing folder", text)
    folder = path.parent
    if not folder.is_dir():
        below = next((p for p in (folder, *folder.parents) if p.exists()), None)
        problem = (f"{str(below)!r} is a regular file, not a folder" if below is not None and not below.is_dir()
                   else f"the folder {str(folder)!r} does not exist: create it first")
        raise InvalidConfigError("--plot", "a path in an existing folder", text, problem)
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".breakerlab-write-check-")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise InvalidConfigError("--plot", "a path in a folder you can write in", text,
                                 f"{error.strerror or error}: choose another folder, or make it writable") from None
    return path


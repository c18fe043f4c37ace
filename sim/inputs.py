"""Reading a file a user names (a trace to replay, a sweep file): a regular file of bounded
size, opened so that a FIFO or a device can neither hang the command nor fill the memory.

``/dev/zero`` never ends, a FIFO without a writer blocks ``open`` for ever, and a directory or a
multi-gigabyte log given by mistake would be read whole. ``read_bytes`` refuses each with an
``InputFileError`` saying what the file is and what was expected; callers turn it into their
own error (naming the option or the trace file).
"""

from __future__ import annotations

from breakerlab.model.files import NotRegularFileError, open_regular_file

from .errors import InvalidConfigError

__all__ = ["InputFileError", "read_bytes"]

class InputFileError(InvalidConfigError):
    """A file cannot be read as input; ``problem`` completes "<the file> ..." (the message is
    ``'<option>' must be <rule> (got <path>): <problem>``).

    Attributes:
        path: The file, as given.
        problem: What is wrong with it, e.g. ``"is a FIFO (named pipe), not a regular file"``.
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__("file", "a readable regular file", path, problem)
        self.path = path
        self.problem = problem


def read_bytes(path: str, limit_bytes: int) -> bytes:
    """The content of the regular file ``path``, at most ``limit_bytes`` long.

    Args:
        path: The file (a symbolic link is followed, then checked like any file).
        limit_bytes: The largest size accepted.

    Raises:
        InputFileError: it cannot be opened, is not a regular file (a directory, a FIFO, a
            device such as ``/dev/zero``), or is larger than ``limit_bytes``.
    """
    too_large = f"is larger than {limit_bytes:,} bytes ({limit_bytes / 2**20:g} MiB), the most accepted"
    try:
        stream, size = open_regular_file(path)
    except NotRegularFileError as error:
        raise InputFileError(path, f"cannot be read: it is {error.kind}, not a regular file") from None
    except OSError as error:
        raise InputFileError(path, f"cannot be read ({error.strerror or error})") from None
    with stream:
        if size > limit_bytes:
            raise InputFileError(path, too_large)
        try:
            data = stream.read(limit_bytes + 1)  # the file may have grown since
        except OSError as error:
            raise InputFileError(path, f"cannot be read ({error.strerror or error})") from None
    if len(data) > limit_bytes:
        raise InputFileError(path, too_large)
    return data

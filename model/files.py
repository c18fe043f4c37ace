"""Opening an input file that must be a regular file: without waiting on a FIFO, and saying what
it is when it is not one (a directory, a FIFO, a device such as ``/dev/zero``)."""

from __future__ import annotations

import os
import stat
from typing import IO

__all__ = ["NotRegularFileError", "open_regular_file"]

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFileError(OSError):
    """The path exists but is not a regular file; ``kind`` says what it is (``"a directory"``)."""

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        super().__init__(f"{os.fsdecode(path)} is {kind}, not a regular file")
        self.kind = kind


def open_regular_file(path: str | os.PathLike[str]) -> tuple[IO[bytes], int]:
    """The regular file ``path`` opened for reading in binary, and its size in bytes.

    It is opened without blocking (a FIFO that nobody writes to is refused at once rather than
    waited on), checked with ``fstat``, then switched back to blocking reads.

    Raises:
        NotRegularFileError: ``path`` is a directory, a FIFO, a device or a socket.
        OSError: it cannot be opened.
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            kind = next((text for test, text in _KINDS if test(info.st_mode)), "not a regular file")
            raise NotRegularFileError(path, kind)
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb"), info.st_size
    except BaseException:
        os.close(descriptor)
        raise

"""A real ``redis-server`` for the tests of the shared breaker: started on a unix socket in a
temporary folder, with an append-only file so that a restart keeps the data, and stopped
afterwards. Tests that claim atomicity or fault handling run against it, never a mock."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import time

import redis

__all__ = ["RedisServer"]


class RedisServer:
    """One redis-server process, its socket and its data folder."""

    def __init__(self, folder: pathlib.Path) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError(
                "redis-server is not installed: the shared breaker's tests run a real Redis "
                "(apt-get install redis-server, as the README's test command does)"
            )
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.socket = str(folder / "redis.sock")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server (keeping the data of an earlier run in this folder) and wait until it answers."""
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", "0", "--unixsocket", self.socket, "--unixsocketperm", "700",
                "--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                "--logfile", str(self.folder / "redis.log"), "--enable-debug-command", "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        probe = redis.Redis(unix_socket_path=self.socket, socket_timeout=1.0)
        for _ in range(500):
            try:
                if probe.ping():
                    probe.close()
                    return
            except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError, FileNotFoundError):
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.01)
        log = (self.folder / "redis.log").read_text() if (self.folder / "redis.log").exists() else ""
        raise RuntimeError(f"redis-server did not start in {self.folder}:\n{log[-2000:]}")

    def stop(self) -> None:
        """Stop the server (SIGTERM: it flushes its append-only file first) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None

    def client(self, **options: object) -> redis.Redis:
        """A client of this server."""
        return redis.Redis(unix_socket_path=self.socket, **options)  # type: ignore[arg-type]

"""Starting and stopping the local services (Redis, the MongoDB-wire server, API, worker) as child processes.

Used by ``make run`` and by the test fixtures; every process started here is stopped by its owner.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import redis

STARTUP_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ManagedProcess:
    name: str
    process: subprocess.Popen[bytes]

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would: no clean-up runs."""
        if self.alive():
            self.process.kill()
            self.process.wait(10)


def _wait(check: object, what: str, process: ManagedProcess) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{what} exited with code {process.process.returncode} while starting")
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:
            pass
        time.sleep(0.1)
    process.stop()
    raise RuntimeError(f"{what} did not become ready within {STARTUP_TIMEOUT_SECONDS:.0f}s")


def start_redis(port: int, log: Path | None = None) -> tuple[ManagedProcess, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: apt-get install -y redis-server")
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = ManagedProcess("redis", _spawn(command, log))
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        _wait(client.ping, "redis-server", process)
    finally:
        client.close()
    return process, url


def start_mongo_dev_server(port: int, log: Path | None = None) -> tuple[ManagedProcess, str]:
    ready = Path(tempfile.mkstemp(prefix="mongoeco-ready-")[1])
    ready.write_text("")
    command = [sys.executable, "-m", "devstack.mongo_server", "--port", str(port), "--ready-file", str(ready)]
    process = ManagedProcess("mongodb-wire", _spawn(command, log))
    try:
        _wait(lambda: ready.read_text().startswith("mongodb://"), "the MongoDB-wire server", process)
        return process, ready.read_text().strip()
    finally:
        ready.unlink(missing_ok=True)


def start_api(env: dict[str, str], port: int, log: Path | None = None) -> tuple[ManagedProcess, str]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "api.app:serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    process = ManagedProcess("api", _spawn(command, log, env))
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
            return bool(response.status == 200)

    _wait(healthy, "the API", process)
    return process, base


def start_worker(env: dict[str, str], log: Path | None = None) -> ManagedProcess:
    return ManagedProcess("worker", _spawn([sys.executable, "-m", "workers.worker"], log, env))


def _spawn(command: list[str], log: Path | None, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    root = Path(__file__).resolve().parent.parent
    # The child gets its own copy of the log file's descriptor; ours is closed once it has started.
    with open(log, "ab") if log else open(os.devnull, "wb") as output:
        return subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env or dict(os.environ),
            cwd=root,
            start_new_session=True,  # Ctrl-C in the terminal reaches only the launcher, which stops them in order
        )

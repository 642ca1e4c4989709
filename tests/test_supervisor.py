"""`make run`'s supervisor, on real child processes: a crashed API or worker comes back with growing
back-off and a log line; a crashed Redis or database server stops the stack; stopping leaves nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial

from devstack.processes import ManagedProcess
from devstack.supervisor import Supervisor


def sleeper(name: str) -> ManagedProcess:
    command = [sys.executable, "-c", "import time; time.sleep(120)"]
    return ManagedProcess(name, subprocess.Popen(command, start_new_session=True))


def _until(condition: Callable[[], bool], supervisor: Supervisor, seconds: float = 5.0) -> float:
    began = time.monotonic()
    while not condition():
        assert supervisor.check() is None
        assert time.monotonic() - began < seconds, "timed out"
        time.sleep(0.02)
    return time.monotonic() - began


def _count_is(started: list[ManagedProcess], count: int) -> bool:
    return len(started) == count


def test_a_crashed_worker_comes_back_after_a_growing_back_off_with_a_log_line() -> None:
    lines: list[str] = []
    supervisor = Supervisor(backoff=(0.3, 0.8), log=lines.append)
    started: list[ManagedProcess] = []

    def worker() -> ManagedProcess:
        started.append(sleeper("worker"))
        return started[-1]

    supervisor.add(worker(), worker)
    try:
        for crash, wait in ((1, 0.3), (2, 0.8)):
            started[-1].kill()
            took = _until(partial(_count_is, started, crash + 1), supervisor)
            assert took >= wait - 0.05 and started[-1].alive()
        assert lines == [
            "worker exited with code -9; restarting in 0.3s (crash 1)",
            "worker restarted",
            "worker exited with code -9; restarting in 0.8s (crash 2)",
            "worker restarted",
        ]
    finally:
        supervisor.stop()
    assert not any(process.alive() for process in started)


def test_a_crashed_database_server_stops_the_stack() -> None:
    supervisor = Supervisor(log=lambda line: None)
    database, worker = sleeper("mongodb-wire"), sleeper("worker")
    supervisor.add(database)
    supervisor.add(worker, lambda: sleeper("worker"))
    try:
        database.kill()
        assert supervisor.check() == "mongodb-wire exited with code -9"
    finally:
        supervisor.stop()
    assert not worker.alive()

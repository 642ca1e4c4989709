"""A worker's heartbeat: a thread of its own (jobs run in the worker's main thread, often for minutes)
that tells MongoDB the worker is alive every few seconds, with its own event loop and client."""

from __future__ import annotations

import asyncio
import logging
import threading

from pymongo import AsyncMongoClient

from domain.config import AppConfig
from domain.db import Database, Document
from domain.liveness import WorkerLiveness

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, config: AppConfig, name: str) -> None:
        self._config = config
        self._name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """A clean stop also says so, so that nothing waits for this worker to be declared dead."""
        self._stop.set()
        self._thread.join(timeout=self._config.worker_heartbeat_seconds + 5)

    def _run(self) -> None:
        asyncio.run(self._beat())

    async def _beat(self) -> None:
        mongo: AsyncMongoClient[Document] = AsyncMongoClient(self._config.mongodb_uri, serverSelectionTimeoutMS=3000)
        liveness = WorkerLiveness(Database.connect(mongo, self._config.mongodb_db))
        try:
            while not self._stop.is_set():
                try:
                    await liveness.beat(self._name)
                except Exception:
                    log.warning("heartbeat not recorded; retrying", exc_info=True)
                await asyncio.to_thread(self._stop.wait, self._config.worker_heartbeat_seconds)
            await liveness.stopped(self._name)
        finally:
            await mongo.close()

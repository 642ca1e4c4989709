"""Local MongoDB-wire server for development and tests (mongoeco), used when MONGODB_URI is not set.

No MongoDB server can be installed on our machines; mongoeco speaks the real wire protocol, so the
application still talks to it through ``pymongo.AsyncMongoClient`` exactly as it would to MongoDB.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import Any

from mongoeco.engines.memory import MemoryEngine
from mongoeco.wire import AsyncMongoEcoProxyServer

MONGOECO_VERSION = "4.11.0"


class LinearInsertMemoryEngine(MemoryEngine):
    """MemoryEngine whose inserts do not scan every stored document.

    With mongoeco 4.11.0 every wire insert compares the new ``_id`` with each stored document
    (``scan_payload_id=True``), so inserts grow linearly with the collection (16 ms each at 3k).
    Duplicate ``_id``s are still rejected by the storage-key check that runs before the scan; a test
    (tests/test_dev_mongo_server.py) holds this. Re-check when upgrading mongoeco.
    """

    def _ensure_unique_indexes(self, *args: Any, **kwargs: Any) -> None:
        kwargs["scan_payload_id"] = False
        super()._ensure_unique_indexes(*args, **kwargs)


async def serve(host: str, port: int, ready_file: str | None) -> None:
    server = AsyncMongoEcoProxyServer(engine=LinearInsertMemoryEngine(), host=host, port=port)
    address = await server.start()
    if ready_file:
        # The launcher polls this file for the URI; a few bytes written once at start-up.
        Path(ready_file).write_text(address.uri)  # noqa: ASYNC240
    print(f"mongoeco {MONGOECO_VERSION} listening at {address.uri}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="MongoDB-wire development server (in memory)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=27017)
    parser.add_argument("--ready-file", default=None, help="write the connection URI here once listening")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.ready_file))


if __name__ == "__main__":
    main()

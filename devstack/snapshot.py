"""The dev database kept across `make run`s: every collection of the database written to one file of
BSON documents (periodically and on stop), and loaded back into the empty in-memory server at start.

Only for the in-memory development server; a real MongoDB keeps its own data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import bson
from pymongo import MongoClient

BATCH = 1000


def save(uri: str, database: str, path: Path) -> int:
    """Write every document (atomically: a half-written snapshot never replaces a good one); returns how many."""
    client: MongoClient[dict[str, Any]] = MongoClient(uri, serverSelectionTimeoutMS=3000)
    written = 0
    partial = path.with_suffix(".partial")
    try:
        db = client[database]
        with partial.open("wb") as out:
            for name in sorted(db.list_collection_names()):
                for document in db[name].find():
                    out.write(bson.encode({"c": name, "d": document}))
                    written += 1
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
        client.close()
    return written


def restore(uri: str, database: str, path: Path) -> int:
    """Load a snapshot into an empty database; returns how many documents."""
    if not path.exists():
        return 0
    client: MongoClient[dict[str, Any]] = MongoClient(uri, serverSelectionTimeoutMS=3000)
    loaded = 0
    try:
        db = client[database]
        pending: dict[str, list[dict[str, Any]]] = {}
        with path.open("rb") as source:
            for record in bson.decode_file_iter(source):
                batch = pending.setdefault(record["c"], [])
                batch.append(record["d"])
                if len(batch) >= BATCH:
                    db[record["c"]].insert_many(batch, ordered=False)
                    loaded += len(batch)
                    batch.clear()
        for name, batch in pending.items():
            if batch:
                db[name].insert_many(batch, ordered=False)
                loaded += len(batch)
    finally:
        client.close()
    return loaded


def is_empty(uri: str, database: str) -> bool:
    client: MongoClient[dict[str, Any]] = MongoClient(uri, serverSelectionTimeoutMS=3000)
    try:
        return client[database]["workspaces"].estimated_document_count() == 0
    finally:
        client.close()

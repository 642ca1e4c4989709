"""The dev stack keeps its database across `make run`s (a snapshot under .run/), two runs in one
checkout keep apart, and the CLI finds a running stack through .run/env or says in one line that there
is no database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bson import Decimal128
from pymongo import MongoClient
from typer.testing import CliRunner

from cli.main import app as cli
from devstack import run, snapshot
from devstack.demo import DEMO_WORKSPACE_ID, demo_admin_key, keep_secret
from domain.config import AppConfig
from tests.conftest import Api


def _db(config: AppConfig, name: str) -> Any:
    return MongoClient(config.mongodb_uri, tz_aware=True)[name]


def test_a_snapshot_brings_every_document_back_into_an_empty_database(config: AppConfig, tmp_path: Path) -> None:
    source = _db(config, config.mongodb_db)
    when = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    source["workspaces"].insert_one({"_id": "w1", "name": "Tiệm hoa", "created_at": when})
    source["customers"].insert_many(
        [
            {"_id": f"c{i}", "name": f"Khách {i}", "spend": Decimal128(Decimal("1.5")), "tags": ["vip"]}
            for i in range(1500)
        ]
    )
    path = tmp_path / "mongodb.snapshot"
    assert snapshot.save(config.mongodb_uri, config.mongodb_db, path) == 1501
    fresh = config.mongodb_db + "_restored"
    assert snapshot.is_empty(config.mongodb_uri, fresh)
    assert snapshot.restore(config.mongodb_uri, fresh, path) == 1501
    restored = _db(config, fresh)
    assert not snapshot.is_empty(config.mongodb_uri, fresh)
    assert restored["workspaces"].find_one({"_id": "w1"}) == {"_id": "w1", "name": "Tiệm hoa", "created_at": when}
    assert restored["customers"].count_documents({}) == 1500
    assert restored["customers"].find_one({"_id": "c7"})["spend"] == Decimal128(Decimal("1.5"))
    assert snapshot.restore(config.mongodb_uri, fresh + "_none", tmp_path / "missing") == 0


def test_a_second_run_in_the_same_checkout_does_not_get_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "RUN_DIR", tmp_path)
    first = run._lock()
    assert first is not None
    try:
        assert run._lock() is None  # it keeps its logs in .run/run-<pid>/ and leaves the snapshot alone
    finally:
        first.close()
    again = run._lock()
    assert again is not None
    again.close()


def test_the_cli_finds_the_stack_through_run_env_or_says_there_is_none(
    config: AppConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("MONGODB_URI", "MONGODB_DB", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".run").mkdir()
    env = tmp_path / ".run" / "env"
    env.write_text(f"MONGODB_URI={config.mongodb_uri}\nMONGODB_DB={config.mongodb_db}\n")
    created = CliRunner().invoke(cli, ["create-workspace", "Từ make run"])
    assert created.exit_code == 0, created.output
    assert _db(config, config.mongodb_db)["workspaces"].count_documents({"name": "Từ make run"}) == 1

    env.write_text("MONGODB_URI=mongodb://127.0.0.1:9/?directConnection=true\n")
    missing = CliRunner().invoke(cli, ["create-workspace", "Nowhere"])
    assert missing.exit_code == 2
    assert missing.output.count("\n") == 1 and "no database" in missing.output and "Traceback" not in missing.output


def test_every_run_has_a_working_demo_admin_key_whatever_the_kept_database_holds(api: Api, tmp_path: Path) -> None:
    services = api.services
    assert api.call(lambda: demo_admin_key(services, None, None)) is None  # no demo workspace yet
    api.call(lambda: services.workspaces.create("Demo", workspace_id=DEMO_WORKSPACE_ID))

    def works(token: str) -> bool:
        return bool(api.ok("{ customers(first: 1) { totalCount } }", None, token)["customers"]["totalCount"] == 0)

    chosen = "crm_chosen-by-a-script-0123456789"
    assert api.call(lambda: demo_admin_key(services, chosen, None)) == chosen and works(chosen)  # created
    assert api.call(lambda: demo_admin_key(services, chosen, None)) == chosen  # and found again
    fresh = api.call(lambda: demo_admin_key(services, None, None))
    assert fresh and fresh != chosen and works(fresh)
    assert api.call(lambda: demo_admin_key(services, None, fresh)) == fresh  # the kept one, while it works
    api.ok("mutation($id: ID!) { revokeApiKey(id: $id) { errors { code } } }",
           {"id": _key_id(api, fresh, fresh)}, fresh)  # fmt: skip
    replaced = api.call(lambda: demo_admin_key(services, None, fresh))
    assert replaced not in (None, fresh) and works(replaced)

    kept = tmp_path / "demo-key"
    keep_secret(kept, replaced)
    assert kept.read_text().strip() == replaced and kept.stat().st_mode & 0o777 == 0o600


def _key_id(api: Api, token: str, hint_of: str) -> str:
    keys = api.ok("{ apiKeys { id hint revokedAt } }", None, token)["apiKeys"]
    return str(next(key["id"] for key in keys if key["hint"] == hint_of[-4:] and key["revokedAt"] is None))

"""A poison import file cannot run for ever: what an import stores and logs about a file is bounded
(clipped cells, a few unknown columns named and the rest counted, at most 1,000 row refusals listed),
a report that still cannot be stored fails the import, and an import whose attempts keep dying is
given up instead of being re-run by every sweep."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest

from domain.clock import TravellingClock
from domain.config import AppConfig
from domain.imports import report as import_report
from domain.imports import service as import_service
from tests.conftest import Api, Workspace, run_worker
from workers.runtime import WorkerRuntime

JOB = """query($id: ID!) { importJob(id: $id) { status rowsDone imported failed problem
  errors { row column code message } } }"""
OMITTED = "query($id: ID!) { importJob(id: $id) { errorsOmitted } }"
# Generous bounds a user would still call short: whatever the file, a report stays readable.
SHORT = 1_000


def _upload(api: Api, token: str, kind: str, body: bytes) -> str:
    response = api.client.post(f"/import/{kind}.csv", content=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _job(api: Api, token: str, import_id: str) -> dict[str, Any]:
    body = api.gql(JOB, {"id": import_id}, token)  # the report's "errors" are data here, not a failure
    assert "errors" not in body, str(body)[:SHORT]
    return body["data"]["importJob"]  # type: ignore[no-any-return]


def _huge_header(megabytes: int) -> bytes:
    """A header line of unknown columns, ``megabytes`` long, and one row."""
    columns = ",".join(f"unknown_column_{index:08d}" for index in range(megabytes * 1024 * 1024 // 24))
    return f"external_id,name,{columns}\nKH-1,An\n".encode()


def test_a_19_mb_header_of_unknown_columns_fails_the_import_with_a_short_message(
    api: Api, shop: Workspace, config: AppConfig, caplog: pytest.LogCaptureFixture
) -> None:
    import_id = _upload(api, shop.admin, "customers", _huge_header(19))
    with caplog.at_level(logging.INFO):
        run_worker(config)
    job = _job(api, shop.admin, import_id)
    assert job["status"] == "failed"
    assert "header" in job["problem"] and len(job["problem"]) <= SHORT
    assert len(caplog.text) < 100_000  # the worker's log (tracebacks included), too


def test_unknown_columns_are_named_a_few_at_a_time_and_the_rest_counted(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    unknown = ["x" * 5_000, *(f"shoe_size_{index}" for index in range(2_000))]
    import_id = _upload(
        api, shop.admin, "customers", ("external_id,name," + ",".join(unknown) + "\nKH-1,An\n").encode()
    )
    run_worker(config)
    job = _job(api, shop.admin, import_id)
    assert job["status"] == "failed" and len(job["problem"]) <= SHORT
    assert "shoe_size_0" in job["problem"] and "shoe_size_1999" not in job["problem"]
    assert "and 1,991 more" in job["problem"]  # ten named, the rest counted
    assert "external_id" in job["problem"]  # the template's columns, to compare with


def test_a_file_of_many_bad_rows_lists_the_first_thousand_and_counts_the_rest(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    # Each row names its customer by a 20 KB id (the first by a 5 KB one): quoted in full in a thousand
    # refusals, they were 20 MB. A cell that long is refused unread; a shorter one is quoted clipped.
    rows = [f"DH-0,{'K' * 5_000},paid,1000"] + [f"DH-{i},{'K' * 20_000}{i},paid,1000" for i in range(1, 1_200)]
    body = ("external_id,customer_external_id,status,total\n" + "\n".join(rows) + "\n").encode()
    import_id = _upload(api, shop.admin, "orders", body)
    run_worker(config)
    job = _job(api, shop.admin, import_id)
    assert (job["status"], job["rowsDone"], job["imported"], job["failed"]) == ("completed", 1_200, 0, 1_200)
    # MongoDB refuses a document over 16 MB; this report is a small fraction of that.
    assert len(job["errors"]) == 1_000 and len(json.dumps(job)) < 1_000_000
    assert max(len(error["message"]) for error in job["errors"]) <= 300
    assert api.gql(OMITTED, {"id": import_id}, shop.admin)["data"]["importJob"]["errorsOmitted"] == 200
    first = job["errors"][0]
    assert (first["row"], first["column"], first["code"]) == (2, "customer_external_id", "UNKNOWN_CUSTOMER")
    assert "KKKK" in first["message"]  # the cell it could not match, clipped
    assert {error["code"] for error in job["errors"][1:]} == {"INVALID_LENGTH"}


def test_a_report_that_cannot_be_stored_still_fails_the_import(
    api: Api, shop: Workspace, config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were a message ever to escape its bounds, the import must still end (not stay running for ever).
    monkeypatch.setattr(import_service, "MAX_HEADER_CHARS", 64 * 1024 * 1024)
    monkeypatch.setattr(import_report, "MAX_LISTED_COLUMNS", 10**9)
    monkeypatch.setattr(import_report, "MAX_QUOTED_CHARS", 10**9)
    monkeypatch.setattr(import_report, "MAX_PROBLEM_CHARS", 10**9)
    import_id = _upload(api, shop.admin, "customers", _huge_header(17))
    run_worker(config)
    job = _job(api, shop.admin, import_id)
    assert (job["status"], job["problem"]) == ("failed", "the import's report could not be stored")


def test_an_import_whose_attempts_keep_dying_is_given_up_after_three(
    api: Api, shop: Workspace, config: AppConfig, clock: TravellingClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_id = _upload(api, shop.admin, "customers", b"external_id,name\nKH-1,An\n")
    runtime = WorkerRuntime.open(config, clock)
    try:
        imports = runtime.services.imports

        async def dying(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("worker killed")

        monkeypatch.setattr(imports, "_import_batch", dying)
        for _ in range(3):
            with pytest.raises(RuntimeError):
                runtime.run(imports.run(import_id))
            clock.advance(timedelta(minutes=16))  # past the job's lease: the sweeper's next look
        assert runtime.run(imports.stalled(clock.now() - timedelta(minutes=15))) == []
        assert runtime.run(imports.run(import_id)) == "already failed"
    finally:
        runtime.close()
    job = _job(api, shop.admin, import_id)
    assert job["status"] == "failed" and "3 attempts" in job["problem"] and "worker killed" in job["problem"]


def test_an_attempt_that_made_progress_is_not_counted_against_the_import(
    api: Api, shop: Workspace, config: AppConfig, clock: TravellingClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_service, "BATCH_ROWS", 2)
    rows = "".join(f"KH-{i},Khách {i}\n" for i in range(12))
    import_id = _upload(api, shop.admin, "customers", ("external_id,name\n" + rows).encode())
    runtime = WorkerRuntime.open(config, clock)
    try:
        imports = runtime.services.imports
        real_batch = imports._import_batch
        calls = 0

        async def dying_after_one_batch(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls % 2 == 0:
                raise RuntimeError("worker killed")
            return await real_batch(*args, **kwargs)

        monkeypatch.setattr(imports, "_import_batch", dying_after_one_batch)
        for _ in range(4):  # four deaths, each after a batch was recorded
            with pytest.raises(RuntimeError):
                runtime.run(imports.run(import_id))
            clock.advance(timedelta(minutes=16))
        assert runtime.run(imports.stalled(clock.now() - timedelta(minutes=15))) == [import_id]
        monkeypatch.setattr(imports, "_import_batch", real_batch)
        runtime.run(imports.run(import_id))
    finally:
        runtime.close()
    job = _job(api, shop.admin, import_id)
    assert (job["status"], job["imported"], job["failed"]) == ("completed", 12, 0)

"""CSV import through the API and the CLI: the articles' kinds of data (Vietnamese and Chinese names,
accents, phone formats, amounts and dates as shops write them) with bad rows mixed in, a dry run, a
per-row report, idempotence by external id, and a job that resumes after a crash."""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from typer.testing import CliRunner

from cli.main import app as cli
from domain.auth.principals import Role
from domain.config import AppConfig
from domain.imports import service as import_service
from tests.conftest import Api, Workspace, add_key, make_workspace, run_worker
from workers.runtime import WorkerRuntime

JOB = """query($id: ID!) { importJob(id: $id) { status mode dryRun rowsDone imported updated unchanged failed problem encoding
  ignoredColumns errors { row column code message } warnings { row column code message }
  plans { row action fromStatus toStatus } } }"""
COUNT = "{ customers { totalCount } }"

CUSTOMERS = (
    "\ufeffExternal ID;Name;Phone;Email;Birth Date;Gender;City;Tags\n"
    "KH-1;Nguyễn Thị Lan;0912 345 678;lan@example.vn;15/03/1990;female;Hà Nội;vip|zalo\n"
    "KH-2;王小明;+86 138 0013 8000;;1985-07-01;male;上海;\n"
    'KH-3;"Trần Văn Bình, Jr.";(028) 3822 1234;binh@@x;01.02.1979;;Hồ Chí Minh;\n'
    "KH-4;Lê Thị Hoa;0987654321;;31/02/1990;female;Huế;\n"
    ";Không có mã;0911111111;;;;Huế;\n"
    "KH-6;Phạm Minh;0909 000 111;;;robot;Đà Nẵng;\n"
)
ORDERS = (
    "external_id,customer_external_id,status,total,placed_at\n"
    'DH-1,KH-1,paid,"1.500.000 đ",31/10/2026 14:30\n'
    'DH-2,KH-1,paid,"2,000,000",2026-11-02\n'
    "DH-3,KH-9,paid,500000,2026-11-02\n"
    "DH-4,KH-2,paid,12.50,2026-11-02\n"
)


def _upload(api: Api, token: str, kind: str, body: str, dry_run: bool = False) -> dict[str, Any]:
    response = api.client.post(
        f"/import/{kind}.csv" + ("?dryRun=true" if dry_run else ""),
        content=body.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
    )
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


def _job(api: Api, token: str, import_id: str) -> dict[str, Any]:
    body = api.gql(JOB, {"id": import_id}, token)  # the report's "errors" are data here, not a failure
    assert "errors" not in body, body
    return body["data"]["importJob"]  # type: ignore[no-any-return]


def imported(api: Api, token: str, config: AppConfig, kind: str, body: str, query: str = "") -> dict[str, Any]:
    """Upload ``body`` (``query``: mode=..., dryRun=true), let a worker import it, and read the report."""
    response = api.client.post(
        f"/import/{kind}.csv" + (f"?{query}" if query else ""), content=body.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
    )  # fmt: skip
    assert response.status_code == 202, response.text
    run_worker(config)
    return _job(api, token, response.json()["id"])


def _problems(job: dict[str, Any]) -> set[tuple[int, str | None, str]]:
    return {(e["row"], e["column"], e["code"]) for e in job["errors"]}


def test_a_dry_run_reports_every_bad_row_and_writes_nothing_then_the_import_writes_the_good_ones(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    expected = {
        (4, "email", "INVALID_EMAIL"),
        (5, "birth_date", "INVALID_FORMAT"),
        (6, "external_id", "REQUIRED"),
        (7, "gender", "INVALID_CHOICE"),
    }
    dry = _upload(api, shop.admin, "customers", CUSTOMERS, dry_run=True)
    run_worker(config)
    report = _job(api, shop.admin, dry["id"])
    assert (report["status"], report["dryRun"], report["imported"], report["failed"]) == ("completed", True, 2, 4)
    assert _problems(report) == expected
    assert api.ok(COUNT, None, shop.admin)["customers"]["totalCount"] == 0

    real = _upload(api, shop.admin, "customers", CUSTOMERS)
    run_worker(config)
    report = _job(api, shop.admin, real["id"])
    assert (report["imported"], report["failed"], _problems(report)) == (2, 4, expected)
    found = api.ok('{ customers(first: 10) { edges { node { externalId name phone city tags birthDate } } } }',
                   None, shop.admin)["customers"]["edges"]  # fmt: skip
    by_id = {edge["node"]["externalId"]: edge["node"] for edge in found}
    assert by_id["KH-1"] == {"externalId": "KH-1", "name": "Nguyễn Thị Lan", "phone": "+84912345678",
                             "city": "Hà Nội", "tags": ["vip", "zalo"], "birthDate": "1990-03-15"}  # fmt: skip
    assert by_id["KH-2"]["name"] == "王小明" and by_id["KH-2"]["phone"] == "+8613800138000"

    again = _upload(api, shop.admin, "customers", CUSTOMERS)  # the same file: nothing changes, and it says so
    run_worker(config)
    repeated = _job(api, shop.admin, again["id"])
    assert (repeated["imported"], repeated["unchanged"], repeated["failed"]) == (0, 2, 4)
    assert api.ok(COUNT, None, shop.admin)["customers"]["totalCount"] == 2


def test_orders_name_their_customer_by_the_shops_id_and_amounts_read_as_written(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    _upload(api, shop.admin, "customers", CUSTOMERS)
    run_worker(config)
    started = _upload(api, shop.admin, "orders", ORDERS)
    run_worker(config)
    report = _job(api, shop.admin, started["id"])
    assert (report["imported"], report["failed"]) == (2, 2)
    assert _problems(report) == {(4, "customer_external_id", "UNKNOWN_CUSTOMER"), (5, "total", "TOO_MANY_DECIMALS")}
    lan = api.ok('{ customers(filter: {text: "Lan"}) { edges { node { stats { orderCount netSpend } } } } }',
                 None, shop.admin)["customers"]["edges"][0]["node"]["stats"]  # fmt: skip
    assert lan == {"orderCount": 2, "netSpend": "3500000"}


def test_a_job_that_dies_midway_resumes_where_it_stopped(
    api: Api, shop: Workspace, config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_service, "BATCH_ROWS", 40)
    rows = "".join(f"KH-{i},Khách {i},09{i:08d}\n" for i in range(100))
    started = _upload(api, shop.admin, "customers", "external_id,name,phone\n" + rows)
    runtime = WorkerRuntime.open(config)
    try:
        imports = runtime.services.imports
        real_batch = imports._import_batch
        calls = 0

        async def dying(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 2:
                raise RuntimeError("worker killed")
            return await real_batch(*args, **kwargs)

        monkeypatch.setattr(imports, "_import_batch", dying)
        with pytest.raises(RuntimeError):
            runtime.run(imports.run(started["id"]))
        halfway = _job(api, shop.admin, started["id"])
        assert (halfway["status"], halfway["rowsDone"], halfway["imported"]) == ("running", 40, 40)
        runtime.run(runtime.db.imports.update_one({"_id": started["id"]}, {"$set": {"lease_until": None}}))
        monkeypatch.setattr(imports, "_import_batch", real_batch)
        runtime.run(imports.run(started["id"]))  # the job again (the sweeper re-queues a lost one)
    finally:
        runtime.close()
    done = _job(api, shop.admin, started["id"])
    assert (done["status"], done["rowsDone"], done["imported"], done["failed"]) == ("completed", 100, 100, 0)
    assert api.ok(COUNT, None, shop.admin)["customers"]["totalCount"] == 100


def test_refusals_templates_and_unreadable_files(api: Api, shop: Workspace, config: AppConfig) -> None:
    _, viewer = add_key(api, shop, Role.VIEWER)
    assert api.client.post("/import/customers.csv", content=b"x").status_code == 401
    refused = api.client.post("/import/customers.csv", content=b"x", headers={"Authorization": f"Bearer {viewer}"})
    assert refused.status_code == 403
    assert (
        api.client.post("/import/pets.csv", content=b"x", headers={"Authorization": f"Bearer {shop.admin}"}).status_code
        == 400
    )
    template = api.client.get("/import/templates/orders.csv")
    assert template.status_code == 200 and template.text.startswith("\ufeffexternal_id,customer_external_id")

    wrong = _upload(api, shop.admin, "customers", "external_id,Họ và tên,Cỡ giày\nKH-1,A,42\n")
    picture = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(range(256)) * 8
    binary = api.client.post("/import/customers.csv", content=picture,
                             headers={"Authorization": f"Bearer {shop.admin}"}).json()  # fmt: skip
    run_worker(config)
    assert "'Cỡ giày'" in _job(api, shop.admin, wrong["id"])["problem"]  # as written, not c_gi_y
    unreadable = _job(api, shop.admin, binary["id"])
    assert unreadable["status"] == "failed" and 'save it as "CSV UTF-8"' in unreadable["problem"]


def test_the_cli_imports_a_file(api: Api, shop: Workspace, config: AppConfig, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("MONGODB_URI", config.mongodb_uri)
    monkeypatch.setenv("MONGODB_DB", config.mongodb_db)
    file = tmp_path / "customers.csv"
    file.write_text(CUSTOMERS, encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", shop.id, "customers", str(file)])
    assert result.exit_code == 0, result.output
    assert "2 rows imported, 4 refused" in result.output and "row 4 email: INVALID_EMAIL" in result.output


def test_imports_past_their_retention_go_with_their_files(api: Api, shop: Workspace, config: AppConfig) -> None:
    started = _upload(api, shop.admin, "customers", "external_id,name\nKH-1,Lê Văn Tám\n")
    run_worker(config)
    assert _job(api, shop.admin, started["id"])["status"] == "completed"
    imports = api.services.imports
    now = api.services.clock.now()
    assert api.call(lambda: imports.forget_older_than(now - timedelta(days=30))) == 0  # within the retention
    assert api.call(lambda: imports.forget_older_than(now + timedelta(seconds=1))) == 1
    assert api.gql(JOB, {"id": started["id"]}, shop.admin)["data"]["importJob"] is None
    client: MongoClient[dict[str, Any]] = MongoClient(config.mongodb_uri)
    try:
        db = client[config.mongodb_db]
        assert db["import_files.files"].count_documents({}) == 0 and db["import_files.chunks"].count_documents({}) == 0
    finally:
        client.close()


def _cp1258(text: str) -> bytes:
    """Text as Windows-1258 writes it: a tone the code page has no letter for is a separate mark."""
    marks = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = b""
    for letter in text:
        try:
            out += letter.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", letter)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in marks))
            out += (base + "".join(c for c in parts if c in marks)).encode("cp1258")
    return out


def test_shops_headers_and_spreadsheet_encodings_are_read(api: Api, shop: Workspace, config: AppConfig) -> None:
    vietnamese = "Mã khách hàng;Họ và tên;Số điện thoại;Ngày sinh;Thành phố\nKH-1;Nguyễn Thị Lan;0912 345 678;15/03/1990;Hà Nội\n"
    chinese = "客户编号,姓名,手机,生日,城市\nKH-2,王小明,+86 138 0013 8000,1985-07-01,上海\n"
    unicode_text = "external_id\tname\tcity\nKH-3\tTrần Văn Bình\tĐà Nẵng\n"
    files = {"Windows-1258": _cp1258(vietnamese), "GB18030": chinese.encode("gb18030"),
             "UTF-16": unicode_text.encode("utf-16")}  # fmt: skip
    headers = {"Authorization": f"Bearer {shop.admin}"}
    started = {name: api.client.post("/import/customers.csv", content=body, headers=headers).json()["id"]
               for name, body in files.items()}  # fmt: skip
    run_worker(config)
    for name, import_id in started.items():
        report = _job(api, shop.admin, import_id)
        assert (report["status"], report["imported"], report["problem"]) == ("completed", 1, None), (name, report)
    found = api.ok("{ customers(first: 10) { edges { node { externalId name phone city birthDate } } } }",
                   None, shop.admin)["customers"]["edges"]  # fmt: skip
    by_id = {edge["node"]["externalId"]: edge["node"] for edge in found}
    assert by_id["KH-1"] == {"externalId": "KH-1", "name": "Nguyễn Thị Lan", "phone": "+84912345678",
                             "city": "Hà Nội", "birthDate": "1990-03-15"}  # fmt: skip
    assert by_id["KH-2"]["name"] == "王小明" and by_id["KH-2"]["city"] == "上海"
    assert by_id["KH-3"]["name"] == "Trần Văn Bình"
    # One form of each letter, whatever the file wrote: the name is found as typed.
    assert (
        api.ok('{ customers(filter: {text: "Nguyễn"}) { totalCount } }', None, shop.admin)["customers"]["totalCount"]
        == 1
    )


def test_every_problem_of_a_row_is_reported_at_once(api: Api, shop: Workspace, config: AppConfig) -> None:
    body = "external_id,name,email,birth_date,gender\nKH-1,Lan,lan@@x,31/02/1990,robot\n,,b@@y,,\n"
    started = _upload(api, shop.admin, "customers", body, dry_run=True)
    run_worker(config)
    report = _job(api, shop.admin, started["id"])
    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == [
        (2, "birth_date", "INVALID_FORMAT"),
        (2, "email", "INVALID_EMAIL"),
        (2, "gender", "INVALID_CHOICE"),
        (3, "external_id", "REQUIRED"),
        (3, "name", "REQUIRED"),
        (3, "email", "INVALID_EMAIL"),
    ]
    assert all("Field required" not in e["message"] for e in report["errors"])


def test_an_export_imports_into_another_workspace_and_its_computed_columns_are_listed_once(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    _upload(api, shop.admin, "customers", CUSTOMERS)
    run_worker(config)
    exported = api.client.get("/export/customers.csv", headers={"Authorization": f"Bearer {shop.admin}"})
    assert exported.status_code == 200
    branch = make_workspace(api, "Chi nhánh Huế")
    moved = api.client.post("/import/customers.csv", content=exported.content,
                            headers={"Authorization": f"Bearer {branch.admin}"}).json()  # fmt: skip
    run_worker(config)
    report = _job(api, branch.admin, moved["id"])
    assert (report["status"], report["imported"], report["failed"], report["problem"]) == ("completed", 2, 0, None)
    assert report["encoding"] == "UTF-8" and "spend_tier" in report["ignoredColumns"]
    assert "name" not in report["ignoredColumns"] and len(set(report["ignoredColumns"])) == len(
        report["ignoredColumns"]
    )
    names = api.ok("{ customers(first: 10) { edges { node { name phone } } } }", None, branch.admin)["customers"]
    assert {edge["node"]["name"] for edge in names["edges"]} == {"Nguyễn Thị Lan", "王小明"}


@pytest.mark.parametrize("batch_rows", [500, 1])
def test_orders_come_with_their_line_items_one_row_per_line(
    api: Api, shop: Workspace, config: AppConfig, monkeypatch: pytest.MonkeyPatch, batch_rows: int
) -> None:
    monkeypatch.setattr(import_service, "BATCH_ROWS", batch_rows)  # 1: an order's lines are never split
    _upload(api, shop.admin, "customers", CUSTOMERS)
    run_worker(config)
    lines = (
        "Mã đơn hàng,Mã khách hàng,Trạng thái,Tổng tiền,Ngày đặt hàng,Mã sản phẩm,Tên sản phẩm,Danh mục,Số lượng,Đơn giá\n"
        'DH-1,KH-1,paid,"2.500.000",2026-11-02,VAY-01,Váy lụa,dress,2,"1.000.000"\n'
        ",,,,,TUI-02,Túi da,bag,1,500000\n"
        "DH-2,KH-2,paid,300000,2026-11-03,GIAY-1,Giày,shoes,1,300000\n"
        "DH-3,KH-1,paid,900000,2026-11-04,VAY-02,Váy,dress,1,400000\n"
        "DH-3,KH-1,paid,900000,2026-11-04,VAY-03,Váy,dress,nhiều,500000\n"
    )
    started = _upload(api, shop.admin, "orders", lines)
    run_worker(config)
    report = _job(api, shop.admin, started["id"])
    assert (report["imported"], report["failed"]) == (2, 1), report["errors"]
    assert _problems(report) == {(6, "item_quantity", "INVALID_FORMAT")}  # the line of the bad cell
    query = '{ customers(filter: {text: "Lan"}) { edges { node { orders(first: 5) { total items { sku quantity category } } } } } }'
    orders = api.ok(query, None, shop.admin)["customers"]["edges"][0]["node"]["orders"]
    assert [order["items"] for order in orders] == [
        [{"sku": "VAY-01", "quantity": 2, "category": "dress"}, {"sku": "TUI-02", "quantity": 1, "category": "bag"}]
    ]


def test_an_edited_export_updates_the_customers_it_names_in_an_update_mode(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    _upload(api, shop.admin, "customers", CUSTOMERS)
    run_worker(config)
    exported = api.client.get("/export/customers.csv", headers={"Authorization": f"Bearer {shop.admin}"}).text
    header, *rows = exported.lstrip("\ufeff").splitlines()
    edited = [row.replace("Hà Nội", "Hải Phòng") for row in rows] + [",KH-7,Võ Thị Sáu" + "," * (header.count(",") - 2)]
    body = "\n".join([header, *edited]) + "\n"

    def again(mode: str) -> dict[str, Any]:
        return imported(api, shop.admin, config, "customers", body, f"mode={mode}")

    update = again("update")  # Lan moves to Hải Phòng, 王小明 is as stored, KH-7 is nobody yet
    assert (update["mode"], update["imported"], update["updated"], update["unchanged"]) == ("update", 0, 1, 1)
    assert _problems(update) == {(len(edited) + 1, "external_id", "UNKNOWN_CUSTOMER")}
    upsert = again("upsert")  # now KH-7 is created; the rest is as stored
    assert (upsert["imported"], upsert["updated"], upsert["unchanged"], upsert["failed"]) == (1, 0, 2, 0)
    cities = api.ok("{ customers(first: 10) { edges { node { externalId city } } } }", None, shop.admin)
    assert {e["node"]["externalId"]: e["node"]["city"] for e in cities["customers"]["edges"]} == {
        "KH-1": "Hải Phòng", "KH-2": "上海", "KH-7": None}  # fmt: skip
    headers = {"Authorization": f"Bearer {shop.admin}", "Content-Type": "text/csv"}
    refused = api.client.post("/import/interactions.csv?mode=upsert", content=b"external_id\n", headers=headers)
    assert refused.status_code == 400 and "mode" in refused.text


def test_a_column_mapping_sent_with_the_upload_names_the_shops_own_headers(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    headers = {"Authorization": f"Bearer {shop.admin}", "Content-Type": "text/csv"}
    body = "Mã KH nội bộ,Tên KH,Ghi chú: ĐT\nA-1,Bùi Thị Xuân,0912 000 111\n".encode()
    mapped = "column=Mã KH nội bộ:external_id&column=Tên KH:name&column=Ghi chú: ĐT:phone"
    started = api.client.post(f"/import/customers.csv?{mapped}", content=body, headers=headers)
    assert started.status_code == 202, started.text
    wrong = api.client.post("/import/customers.csv?column=Tên KH:shoe_size", content=body, headers=headers)
    assert wrong.status_code == 400 and "shoe_size" in wrong.text
    run_worker(config)
    assert _job(api, shop.admin, started.json()["id"])["imported"] == 1
    found = api.ok('{ customers(filter: {text: "Xuân"}) { edges { node { externalId phone } } } }', None, shop.admin)
    assert found["customers"]["edges"][0]["node"] == {"externalId": "A-1", "phone": "+84912000111"}


def _orders_imported(api: Api, shop: Workspace, config: AppConfig, customers: str, orders: str) -> dict[str, Any]:
    """The customers file imported, then the orders file: the orders import's report."""
    _upload(api, shop.admin, "customers", customers)
    run_worker(config)
    started = _upload(api, shop.admin, "orders", orders)
    run_worker(config)
    return _job(api, shop.admin, started["id"])


def test_orders_with_the_status_words_of_shops_exports_import_with_our_statuses(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    body = (
        "Mã đơn hàng,Mã khách hàng,Trạng thái,Tổng tiền,Ngày đặt hàng\n"
        'DH-1,KH-1,Hoàn thành,"1.500.000 đ",31/10/2026 14:30\n'
        "DH-2,KH-1,Đã hủy,900000,2026-11-01\n"
        "DH-3,KH-1,Chờ xác nhận,200000,2026-11-02\n"
        "DH-4,KH-1,已付款,300000,2026-11-02\n"
        "DH-5,KH-1,đã bay,100000,2026-11-02\n"
    )
    report = _orders_imported(api, shop, config, "external_id,name\nKH-1,Nguyễn Thị Lan\n", body)
    assert (report["imported"], report["failed"]) == (4, 1)
    [refused] = report["errors"]
    assert (refused["row"], refused["column"], refused["code"]) == (6, "status", "INVALID_FORMAT")
    assert "delivered" in refused["message"] and "Đã giao" in refused["message"]
    orders = """{ customers(first: 1) { edges { node { stats { netSpend }
      orders(first: 10) { externalId status } } } } }"""
    node = api.ok(orders, None, shop.admin)["customers"]["edges"][0]["node"]
    statuses = {order["externalId"]: order["status"] for order in node["orders"]}
    assert statuses == {"DH-1": "DELIVERED", "DH-2": "CANCELLED", "DH-3": "PLACED", "DH-4": "PAID"}
    assert node["stats"]["netSpend"] == "1800000"  # the delivered and the paid order


def test_a_history_with_refunds_imports_and_net_spend_subtracts_them(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    body = (
        "Mã đơn hàng,Mã khách hàng,Trạng thái,Tổng tiền,Số tiền hoàn,Ngày đặt hàng\n"
        'DH-1,KH-1,Đã giao,"1.500.000 đ",,2026-10-01\n'
        'DH-2,KH-1,Trả hàng/Hoàn tiền,"2.000.000 đ","500.000 đ",2026-10-02\n'  # a part refunded
        "DH-3,KH-1,已退款,800000,,2026-10-03\n"  # all of it
        "DH-4,KH-2,paid,300000,,2026-10-03\n"
        "DH-5,KH-2,refunded,300000,300001,2026-10-04\n"  # more than the total
        "DH-6,KH-2,paid,300000,1000,2026-10-04\n"  # a refund on an order not refunded
    )
    customers = "external_id,name\nKH-1,Nguyễn Thị Lan\nKH-2,Trần Văn Bình\n"
    report = _orders_imported(api, shop, config, customers, body)
    assert (report["imported"], report["failed"]) == (4, 2)
    refused = {(e["row"], e["column"], e["code"]): e["message"] for e in report["errors"]}
    assert set(refused) == {(6, "refund_amount", "OUT_OF_RANGE"), (7, "refund_amount", "NOT_ALLOWED")}
    assert "300001" in refused[(6, "refund_amount", "OUT_OF_RANGE")]
    assert "300000" in refused[(6, "refund_amount", "OUT_OF_RANGE")]
    assert "paid" in refused[(7, "refund_amount", "NOT_ALLOWED")]
    query = """{ customers(first: 5) { edges { node { externalId stats { netSpend }
      orders(first: 10) { externalId status refundedAmount } } } } }"""
    nodes = {edge["node"]["externalId"]: edge["node"] for edge in api.ok(query, None, shop.admin)["customers"]["edges"]}
    refunds = {order["externalId"]: (order["status"], order["refundedAmount"]) for order in nodes["KH-1"]["orders"]}
    assert refunds == {"DH-1": ("DELIVERED", "0"), "DH-2": ("REFUNDED", "500000"), "DH-3": ("REFUNDED", "800000")}
    # computed here: paid, delivered and refunded orders, each total less what was refunded
    assert nodes["KH-1"]["stats"]["netSpend"] == str(1_500_000 + (2_000_000 - 500_000) + (800_000 - 800_000))
    assert nodes["KH-2"]["stats"]["netSpend"] == "300000"


def test_next_weeks_export_moves_the_orders_that_moved_and_refuses_moves_no_order_makes(
    api: Api, shop: Workspace, config: AppConfig
) -> None:
    _upload(api, shop.admin, "customers", "external_id,name\nKH-1,Nguyễn Thị Lan\nKH-2,Trần Văn Bình\n")
    run_worker(config)
    header = "external_id,customer_external_id,status,total,refund_amount,placed_at\n"
    week_one = (
        "DH-1,KH-1,Chờ xác nhận,1000000,,2026-10-01\n"
        "DH-2,KH-1,paid,2000000,,2026-10-02\n"
        "DH-3,KH-2,Đã giao,500000,,2026-10-03\n"
        "DH-4,KH-2,Đã hủy,700000,,2026-10-03\n"
    )

    def orders_file(body: str, mode: str) -> dict[str, Any]:
        return imported(api, shop.admin, config, "orders", body, f"mode={mode}")

    assert orders_file(header + week_one, "upsert")["imported"] == 4
    week_two = (
        "DH-1,KH-1,Hoàn thành,1000000,,2026-10-01\n"  # placed -> delivered
        "DH-2,KH-1,Trả hàng/Hoàn tiền,2000000,500000,2026-10-02\n"  # paid -> a part refunded
        "DH-3,KH-2,Chờ xác nhận,500000,,2026-10-03\n"  # delivered back to placed: no such move
        "DH-4,KH-2,paid,700000,,2026-10-03\n"  # nothing leaves cancelled
        "DH-5,KH-2,paid,300000,,2026-10-09\n"  # new this week
        "DH-6,KH-1,paid,999,,2026-10-09\n"
    )
    changed = orders_file(header + week_two, "upsert")
    assert (changed["imported"], changed["updated"], changed["unchanged"], changed["failed"]) == (2, 2, 0, 2)
    refused = {(e["row"], e["column"], e["code"]): e["message"] for e in changed["errors"]}
    assert set(refused) == {(4, "status", "INVALID_TRANSITION"), (5, "status", "INVALID_TRANSITION")}
    assert "delivered" in refused[(4, "status", "INVALID_TRANSITION")]
    assert "placed" in refused[(4, "status", "INVALID_TRANSITION")]
    query = """{ customers(first: 5) { edges { node { externalId stats { netSpend }
      orders(first: 10) { externalId status refundedAmount } } } } }"""

    def state() -> dict[str, Any]:
        edges = api.ok(query, None, shop.admin)["customers"]["edges"]
        return {edge["node"]["externalId"]: edge["node"] for edge in edges}

    after = state()
    orders = {o["externalId"]: (o["status"], o["refundedAmount"]) for n in after.values() for o in n["orders"]}
    assert orders == {
        "DH-1": ("DELIVERED", "0"), "DH-2": ("REFUNDED", "500000"), "DH-3": ("DELIVERED", "0"),
        "DH-4": ("CANCELLED", "0"), "DH-5": ("PAID", "0"), "DH-6": ("PAID", "0"),
    }  # fmt: skip
    assert after["KH-1"]["stats"]["netSpend"] == str(1_000_000 + 2_000_000 - 500_000 + 999)
    # the same file again changes nothing; a changed total or customer is refused, never applied
    again = orders_file(header + week_two, "upsert")
    assert (again["imported"], again["updated"], again["unchanged"], again["failed"]) == (0, 0, 4, 2)
    edited = header + "DH-5,KH-2,paid,350000,,2026-10-09\nDH-6,KH-2,paid,999,,2026-10-09\n"
    refusal = orders_file(edited, "update")
    assert {(e["row"], e["column"], e["code"]) for e in refusal["errors"]} == {
        (2, "total", "NOT_ALLOWED"), (3, "customer_id", "NOT_ALLOWED")}  # fmt: skip
    assert "300000" in refusal["errors"][0]["message"] and "350000" in refusal["errors"][0]["message"]
    unknown = orders_file(header + "DH-77,KH-1,paid,100,,2026-10-09\n", "update")
    assert {(e["row"], e["code"]) for e in unknown["errors"]} == {(2, "NOT_FOUND")}
    assert state() == after

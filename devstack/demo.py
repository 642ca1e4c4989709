"""A small demo workspace with Vietnamese and Chinese customers, orders and interactions.

Everything goes through the domain services (so the demo data passes the same validation as API
input) and is idempotent: external ids make a second load change nothing.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from faker import Faker
from pymongo.errors import DuplicateKeyError

from domain.auth.principals import Principal, Role
from domain.customers.models import Verdict
from domain.errors import Unauthenticated
from domain.interactions.models import InteractionKind
from domain.orders.models import Order, OrderStatus
from domain.services import Services

DEMO_WORKSPACE_ID = "demo"
CITIES_VN = [
    ("Hà Nội", "Miền Bắc"),
    ("Hồ Chí Minh", "Miền Nam"),
    ("Đà Nẵng", "Miền Trung"),
    ("Hải Phòng", "Miền Bắc"),
    ("Cần Thơ", "Miền Nam"),
    ("Huế", "Miền Trung"),
]
CITIES_CN = [("上海", "华东"), ("北京", "华北"), ("广州", "华南"), ("深圳", "华南"), ("杭州", "华东")]
INTERESTS = ["làm đẹp", "thời trang", "du lịch", "ẩm thực", "công nghệ", "thể thao", "美容", "旅游"]
LIFESTYLE = ["bận rộn", "gia đình", "sinh viên", "doanh nhân", "健康"]
CATEGORIES = ["skincare", "spa", "dress", "electronics", "home", "premium_design"]
VN_MOBILE_PREFIXES = [
    "090",
    "091",
    "093",
    "094",
    "096",
    "097",
    "098",
    "086",
    "088",
    "032",
    "035",
    "070",
    "077",
]


@dataclass(frozen=True, slots=True)
class DemoWorkspace:
    workspace_id: str
    admin_token: str | None
    customer_ids: list[str]


async def load_demo(services: Services, admin_token: str | None, customers: int = 300, seed: int = 7) -> DemoWorkspace:
    """Create (or find) the demo workspace and fill it; returns the ids of its customers."""
    rng = random.Random(seed)
    token = await _ensure_workspace(services, admin_token)
    admin = await services.keys.authenticate(f"Bearer {token}") if token else None
    if admin is None:
        return DemoWorkspace(DEMO_WORKSPACE_ID, None, [])
    owners = await _ensure_sales_users(services, admin)
    # Dates count back from the day the workspace was made, so loading again sends the very same rows.
    created = (await services.workspaces.get(admin.workspace_id)).created_at or datetime.now(UTC)
    anchor = created.replace(hour=0, minute=0, second=0, microsecond=0)
    fakers = {"vi": Faker("vi_VN"), "zh": Faker("zh_CN")}
    for faker in fakers.values():
        faker.seed_instance(seed)
    rows = [_customer_row(rng, fakers, owners, index) for index in range(customers)]
    # Bulk paths: a few round trips instead of thousands, so `make run` is ready in seconds.
    stored = await services.customers.create_many(admin, rows)
    ids = [customer.id for customer in stored]
    orders = [order for index, customer_id in enumerate(ids) for order in _order_rows(rng, customer_id, index, anchor)]
    recorded = await services.orders.record_many(admin, orders)
    await _refund_some(services, admin, recorded)
    interactions = [
        row for index, customer_id in enumerate(ids) for row in _interaction_rows(rng, customer_id, index, anchor)
    ]
    await services.interactions.record_many(admin, interactions)
    await _sales_verdicts(services, admin, ids, interactions, anchor)
    # Queued after the rescore of what was just loaded: the models are fitted on scored customers.
    await services.future_value.request_fit(admin)
    return DemoWorkspace(DEMO_WORKSPACE_ID, token, ids)


async def demo_admin_key(services: Services, chosen: str | None, remembered: str | None) -> str | None:
    """A working admin key of the demo workspace, whatever the database held: the ``chosen`` one
    (CRM_DEMO_API_KEY; created if the database lacks it), else the one the dev stack ``remembered``, else a
    new one. None when there is no demo workspace."""
    users = await services.workspaces.users(DEMO_WORKSPACE_ID)
    if not users:
        return None
    wanted = chosen or remembered
    if wanted and await _works(services, wanted):
        return wanted
    name = "demo admin (make run)"
    issued = await services.keys.issue(DEMO_WORKSPACE_ID, users[0].id, Role.ADMIN, name, chosen)
    if await _works(services, issued.token):
        return issued.token
    # The chosen key exists but was revoked: a fresh one instead.
    return (await services.keys.issue(DEMO_WORKSPACE_ID, users[0].id, Role.ADMIN, name)).token


def keep_secret(path: Path, secret: str) -> None:
    """Written readable and writable by the user alone, from its first byte."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret + "\n")


async def _works(services: Services, token: str) -> bool:
    try:
        principal = await services.keys.authenticate(f"Bearer {token}")
    except Unauthenticated:
        return False
    return principal.workspace_id == DEMO_WORKSPACE_ID and principal.role is Role.ADMIN


async def _ensure_workspace(services: Services, admin_token: str | None) -> str | None:
    try:
        created = await services.workspaces.create(
            "Cửa hàng demo / 演示商店",
            admin_name="Quản trị viên",
            admin_token=admin_token,
            workspace_id=DEMO_WORKSPACE_ID,
        )
        return created.admin_key.token
    except DuplicateKeyError:
        if admin_token is None:
            return None  # already loaded earlier; its random key was printed then
        users = await services.workspaces.users(DEMO_WORKSPACE_ID)
        await services.keys.issue(DEMO_WORKSPACE_ID, users[0].id, Role.ADMIN, "demo admin", admin_token)
        return admin_token


async def _ensure_sales_users(services: Services, admin: Principal) -> list[str]:
    users = await services.workspaces.users(admin.workspace_id)
    if len(users) < 4:
        for name in ("Lan (sales)", "Minh (sales)", "王芳 (sales)"):
            await services.workspaces.add_user(admin.workspace_id, name)
        users = await services.workspaces.users(admin.workspace_id)
    return [user.id for user in users[1:]]


def _customer_row(rng: random.Random, fakers: dict[str, Faker], owners: list[str], index: int) -> dict[str, Any]:
    chinese = index % 4 == 3
    faker = fakers["zh" if chinese else "vi"]
    city, region = rng.choice(CITIES_CN if chinese else CITIES_VN)
    company = index % 10 == 0
    if chinese:
        phone = f"+86 13{rng.randrange(10**9):09d}"
    else:
        phone = rng.choice(VN_MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}"
    row = {
        "external_id": f"demo-customer-{index:04d}",
        "name": faker.name(),
        "email": f"customer{index}@example.com",
        "phone": phone,
        "legal_type": "company" if company else "individual",
        "company_name": faker.company() if company else None,
        "birth_date": _birth_date(rng, index),
        "gender": rng.choice(["female", "male", "female", "other"]),
        "city": city,
        "region": region,
        "country": "CN" if chinese else "VN",
        "income_band": rng.choice(["low", "lower_middle", "middle", "upper_middle", "high"]),
        "occupation": faker.job()[:100],
        "interests": rng.sample(INTERESTS, 2),
        "lifestyle": rng.sample(LIFESTYLE, 1),
        "tags": ["demo"] + (["vip"] if index % 17 == 0 else []),
        "needs": rng.sample(CATEGORIES, 2),
        "personality_type": rng.randint(1, 9) if index % 7 else None,
        "owner_id": owners[index % len(owners)],
    }
    if not chinese:
        row["name"] = vietnamese_name(random.Random(index), str(row["gender"]))
    return row


# Family name, middle name, given name, as Vietnamese write them (Faker's vi_VN puts the family name last
# and adds honorifics such as "Cô" or "Quý ông").
FAMILY_NAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE_NAMES = {"female": ["Thị", "Ngọc", "Thu", "Thanh", "Minh"], "male": ["Văn", "Đức", "Minh", "Quang", "Hữu"]}
GIVEN_NAMES = {
    "female": ["Lan", "Hoa", "Mai", "Hạnh", "Hương", "Trang", "Linh", "Thảo", "Ngân", "Phương", "Yến", "Chi"],
    "male": ["Minh", "Hùng", "Dũng", "Nam", "Tuấn", "Hải", "Long", "Bình", "Khánh", "Phúc", "Sơn", "Thành"],
}


def vietnamese_name(rng: random.Random, gender: str) -> str:
    kind = gender if gender in GIVEN_NAMES else rng.choice(list(GIVEN_NAMES))
    return f"{rng.choice(FAMILY_NAMES)} {rng.choice(MIDDLE_NAMES[kind])} {rng.choice(GIVEN_NAMES[kind])}"


def _birth_date(rng: random.Random, index: int) -> date | None:
    if index % 19 == 0:
        return None  # not everyone tells their birthday
    oldest_year = 2009 if index % 29 == 5 else 1950  # a few under 18
    start = datetime(oldest_year, 1, 1)
    return (start + timedelta(days=rng.randrange((datetime(2011, 1, 1) - start).days))).date()


# Shopping habits, so that every purchase psychology shows up: by index % 11.
PROMOTION, NOVELTY, APPEARANCE = 3, 4, 5


def _order_rows(rng: random.Random, customer_id: str, index: int, anchor: datetime) -> list[dict[str, Any]]:
    big = index % 23 == 0  # a few big, frequent, recent spenders: every spend tier and loyal buyers
    if index % 31 == 7:
        return [_order(rng, customer_id, index, 0, "placed", anchor - timedelta(days=3))]  # ordered, not paid yet
    count = rng.choice([0, 0, 1, 1, 2, 3, 5]) + (6 if big else 0)
    oldest = 300 if big else 1000
    statuses = ["paid", "delivered"] if big else ["paid", "paid", "delivered", "placed"]
    orders = [
        _order(rng, customer_id, index, number, rng.choice(statuses), anchor - timedelta(days=rng.randrange(1, oldest)))
        for number in range(count)
    ]
    return orders + _dress_orders(customer_id, index, anchor)


def _dress_orders(customer_id: str, index: int, anchor: datetime) -> list[dict[str, Any]]:
    """Some bought two dresses these last weeks: the README's showcase segment finds them (drawn apart
    from the rest, so that the other demo data stays as it was)."""
    if index % 17 != 2:
        return []
    rng = random.Random(index)
    orders = [
        _order(rng, customer_id, index, 100 + n, "paid", anchor - timedelta(days=rng.randrange(2, 60)))
        for n in range(2)
    ]
    for order in orders:
        order["items"][0]["category"] = "dress"
    return orders


def _order(
    rng: random.Random, customer_id: str, index: int, number: int, status: str, placed_at: datetime
) -> dict[str, Any]:
    habit = index % 11
    total = Decimal(rng.randrange(200, 12_000 if index % 23 == 0 else 6_000) * 1000)
    launched = placed_at - timedelta(days=rng.randrange(1, 60)) if habit == NOVELTY else None
    category = "premium_design" if habit == APPEARANCE else rng.choice(CATEGORIES[:-1])
    discount = total / 2 if habit == PROMOTION else Decimal(rng.choice([0, 0, 50_000, 100_000]))
    return {
        "customer_id": customer_id,
        "external_id": f"demo-order-{index:04d}-{number}",
        "status": status,
        "total": total,
        "discount": discount,
        "placed_at": placed_at,
        "channel": rng.choice(["store", "online", "zalo", "facebook"]),
        "items": [
            {
                "sku": f"SKU-{rng.randrange(100)}",
                "category": category,
                "quantity": 1,
                "unit_price": total,
                "product_launched_at": launched,
            }
        ],
    }


# Leads sales have concluded on, each way: enough for the conversion model's data gate.
VERDICTS_EACH_WAY = 40


async def _sales_verdicts(
    services: Services, admin: Principal, ids: list[str], interactions: list[dict[str, Any]], anchor: datetime
) -> None:
    """The most engaged leads were found a good fit the day after their last touch, and leads never in
    touch were not: the conversion model then has something true to learn (touches lead to purchases)."""
    touches: dict[str, list[datetime]] = {}
    for row in interactions:
        touches.setdefault(row["customer_id"], []).append(row["at"])
    engaged = sorted(touches, key=lambda customer_id: (-len(touches[customer_id]), customer_id))
    for customer_id in engaged[:VERDICTS_EACH_WAY]:
        decided = min(max(touches[customer_id]) + timedelta(days=1), anchor)
        await services.conversion.record_verdict(admin, customer_id, Verdict.GOOD_FIT, decided)
    silent = [customer_id for customer_id in ids if customer_id not in touches]
    for customer_id in silent[:VERDICTS_EACH_WAY]:
        await services.conversion.record_verdict(admin, customer_id, Verdict.NOT_A_FIT, anchor - timedelta(days=1))


async def _refund_some(services: Services, admin: Principal, orders: list[Order]) -> None:
    for order in orders[::13]:
        if order.status in (OrderStatus.PAID, OrderStatus.DELIVERED):
            await services.orders.set_status(admin, order.id, OrderStatus.REFUNDED)


# The kinds a random customer's touches are drawn from (an unsubscribe is not an everyday touch).
_EVERYDAY_KINDS = [kind for kind in InteractionKind if kind != InteractionKind.UNSUBSCRIBE]


def _interaction_rows(rng: random.Random, customer_id: str, index: int, anchor: datetime) -> list[dict[str, Any]]:
    if index % 11 == 6:  # service-minded: rates the service often
        kinds = [InteractionKind.SERVICE_RATING] * 3
    elif index % 31 == 11:  # asked for a quote this week, has not ordered yet (see _order_rows: few orders)
        kinds = [InteractionKind.QUOTE]
    elif index % 37 == 20:  # a hot lead: came by three times, met sales and asked for a quote, all this week
        kinds = [InteractionKind.VISIT] * 3 + [InteractionKind.MEETING, InteractionKind.QUOTE]
    else:
        kinds = [rng.choice(_EVERYDAY_KINDS) for _ in range(rng.randrange(3))]
    recent = index % 31 == 11 or index % 37 == 20
    return [
        {
            "customer_id": customer_id,
            "external_id": f"demo-interaction-{index:04d}-{number}",
            "kind": kind,
            "at": anchor - timedelta(days=rng.randrange(1, 6) if recent else rng.randrange(1, 365)),
            "rating": rng.randint(1, 5) if kind == InteractionKind.SERVICE_RATING else None,
            "note": "demo",
        }
        for number, kind in enumerate(kinds)
    ]

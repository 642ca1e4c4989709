"""A small demo workspace with Vietnamese and Chinese customers, orders and interactions.

Everything goes through the domain services (so the demo data passes the same validation as API
input) and is idempotent: external ids make a second load change nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from faker import Faker
from pymongo.errors import DuplicateKeyError

from domain.auth.principals import Principal, Role
from domain.errors import DomainError
from domain.interactions.models import InteractionKind
from domain.orders.models import OrderStatus
from domain.services import Services

DEMO_WORKSPACE_ID = "demo"
LOAD_CONCURRENCY = 16
CITIES_VN = [
    ("Hà Nội", "Miền Bắc"),
    ("TP. Hồ Chí Minh", "Miền Nam"),
    ("Đà Nẵng", "Miền Trung"),
    ("Hải Phòng", "Miền Bắc"),
    ("Cần Thơ", "Miền Nam"),
    ("Huế", "Miền Trung"),
]
CITIES_CN = [("上海", "华东"), ("北京", "华北"), ("广州", "华南"), ("深圳", "华南"), ("杭州", "华东")]
INTERESTS = ["làm đẹp", "thời trang", "du lịch", "ẩm thực", "công nghệ", "thể thao", "美容", "旅游"]
LIFESTYLE = ["bận rộn", "gia đình", "sinh viên", "doanh nhân", "健康"]
CATEGORIES = ["skincare", "spa", "fashion", "electronics", "home", "premium_design"]
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
    fakers = {"vi": Faker("vi_VN"), "zh": Faker("zh_CN")}
    for faker in fakers.values():
        faker.seed_instance(seed)
    # Drawn up front so the data does not depend on the order the concurrent loads finish in.
    rngs = [random.Random(rng.random()) for _ in range(customers)]
    names = [fakers["zh" if index % 4 == 3 else "vi"].name() for index in range(customers)]
    gate = asyncio.Semaphore(LOAD_CONCURRENCY)

    async def load_one(index: int) -> str:
        async with gate:
            return await _load_customer(services, admin, rngs[index], fakers, owners, index, names[index])

    ids = await asyncio.gather(*(load_one(index) for index in range(customers)))
    return DemoWorkspace(DEMO_WORKSPACE_ID, token, list(ids))


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
        users = await services.workspace_repository.list_users(DEMO_WORKSPACE_ID)
        await services.keys.issue(DEMO_WORKSPACE_ID, users[0].id, Role.ADMIN, "demo admin", admin_token)
        return admin_token


async def _ensure_sales_users(services: Services, admin: Principal) -> list[str]:
    users = await services.workspace_repository.list_users(admin.workspace_id)
    if len(users) < 4:
        for name in ("Lan (sales)", "Minh (sales)", "王芳 (sales)"):
            await services.workspace_repository.insert_user(admin.workspace_id, name)
        users = await services.workspace_repository.list_users(admin.workspace_id)
    return [user.id for user in users[1:]]


async def _load_customer(
    services: Services,
    admin: Principal,
    rng: random.Random,
    fakers: dict[str, Faker],
    owners: list[str],
    index: int,
    name: str,
) -> str:
    chinese = index % 4 == 3
    faker = fakers["zh" if chinese else "vi"]
    city, region = rng.choice(CITIES_CN if chinese else CITIES_VN)
    company = index % 10 == 0
    phone = (
        f"+86 13{rng.randrange(10**9):09d}"
        if chinese
        else rng.choice(VN_MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}"
    )
    data = {
        "external_id": f"demo-customer-{index:04d}",
        "name": name,
        "email": f"customer{index}@example.com",
        "phone": phone,
        "legal_type": "company" if company else "individual",
        "company_name": faker.company() if company else None,
        "birth_date": (datetime(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))).date(),
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
        "personality_type": rng.randint(1, 9),
        "owner_id": owners[index % len(owners)],
    }
    customer = await services.customers.create(admin, data)
    await _load_orders(services, admin, rng, customer.id, index)
    await _load_interactions(services, admin, rng, customer.id, index)
    return customer.id


async def _load_orders(services: Services, admin: Principal, rng: random.Random, customer_id: str, index: int) -> None:
    # A few big spenders so that every spend tier shows up.
    big = index % 23 == 0
    for number in range(rng.choice([0, 0, 1, 1, 2, 3, 5]) + (6 if big else 0)):
        total = Decimal(rng.randrange(200, 6_000 if not big else 12_000) * 1000)
        order = await services.orders.record(
            admin,
            {
                "customer_id": customer_id,
                "external_id": f"demo-order-{index:04d}-{number}",
                "status": rng.choice(["paid", "paid", "delivered", "placed"]),
                "total": total,
                "discount": Decimal(rng.choice([0, 0, 50_000, 100_000])),
                "placed_at": datetime.now(UTC) - timedelta(days=rng.randrange(1, 700)),
                "channel": rng.choice(["store", "online", "zalo", "facebook"]),
                "items": [
                    {
                        "sku": f"SKU-{rng.randrange(100)}",
                        "category": rng.choice(CATEGORIES),
                        "quantity": 1,
                        "unit_price": total,
                    }
                ],
            },
        )
        if number == 0 and index % 13 == 0 and order.status in (OrderStatus.PAID, OrderStatus.DELIVERED):
            with contextlib.suppress(DomainError):  # already refunded on an earlier load
                await services.orders.set_status(admin, order.id, OrderStatus.REFUNDED, None)


async def _load_interactions(
    services: Services, admin: Principal, rng: random.Random, customer_id: str, index: int
) -> None:
    for number in range(rng.randrange(3)):
        kind = rng.choice(list(InteractionKind))
        await services.interactions.record(
            admin,
            {
                "customer_id": customer_id,
                "external_id": f"demo-interaction-{index:04d}-{number}",
                "kind": kind,
                "at": datetime.now(UTC) - timedelta(days=rng.randrange(1, 365)),
                "rating": rng.randint(1, 5) if kind == InteractionKind.SERVICE_RATING else None,
                "note": "demo",
            },
        )

"""CSV imports at scale, through the job's code path (``ImportService.start`` then ``run``), on a fresh stack.

First N customer rows (Vietnamese and Chinese names, spreadsheet formats): rows per second, MongoDB commands
per 1,000 rows, and the process's peak memory next to the file's size (the file is streamed, never held
whole). Then M orders of those customers (``KH-<i>`` round-robin) as a shop's platform exports them: status
words such as "Chờ xác nhận", "Đã thanh toán", "Đã giao", "Đã hủy", "Trả hàng/Hoàn tiền", amounts such as
"1.500.000 đ", about 10% refunded in part or in full, dates dd/mm/yyyy. They are imported three times:

- ``create``: the file once, every order new (the baseline);
- ``upsert``: next week's export, in which ~30% of the orders moved forward (placed -> paid or delivered,
  paid -> delivered, delivered -> refunded), later, and the rest are the same rows;
- ``upsert again``: that same export once more, which changes nothing.

For each: rows/s, MongoDB commands per 1,000 rows, seconds and the import's outcome (its summary line), and
the ratio of upsert's rows/s to create's. Figures only, nothing is asserted.

    .venv/bin/python bench/imports.py --n 5000 --orders 20000
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.commands import counting
from bench.stack import services_stack
from domain.auth.principals import Principal
from domain.imports.service import ImportMode
from workers.runtime import WorkerRuntime

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "王", "李", "张"]
CITIES = ["Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "上海", "广州"]

ORDERS_HEADER = "external_id,customer_external_id,status,total,refund_amount,placed_at,status_changed_at\n"
# Our status -> the words shops' exports write for it (domain.imports.order_statuses reads them).
WORDS = {
    "placed": ("Chờ xác nhận", "Đang giao"),
    "paid": ("Đã thanh toán",),
    "delivered": ("Đã giao", "Hoàn thành"),
    "cancelled": ("Đã hủy",),
    "refunded": ("Trả hàng/Hoàn tiền",),
}
STATUS_WEIGHTS = (20, 30, 30, 10, 10)  # placed, paid, delivered, cancelled, refunded
FORWARD = {"placed": ("paid", "delivered"), "paid": ("delivered",), "delivered": ("refunded",)}
MOVED_SHARE = 0.3  # of all orders; only placed, paid and delivered ones (80%) can move
TOTALS = (150_000, 450_000, 1_500_000, 3_200_000, 12_000_000)
FIRST_DAY = date(2026, 1, 1)

COMMANDS = counting()


@dataclass(frozen=True, slots=True)
class Sale:
    """One order as an export shows it; ``refund`` is 0 unless refunded."""

    number: int
    customer: int
    status: str
    total: int
    refund: int
    placed: date
    changed: date


@dataclass(frozen=True, slots=True)
class Run:
    """One import's job: its rows, seconds, MongoDB commands and summary line."""

    rows: int
    seconds: float
    commands: int
    outcome: str
    uploaded: float

    def per_second(self) -> float:
        return self.rows / self.seconds

    def per_thousand(self) -> float:
        return self.commands * 1000 / self.rows


def write_file(path: Path, n: int) -> None:
    rng = random.Random(3)
    with path.open("w", encoding="utf-8") as out:
        out.write("\ufeffexternal_id;name;phone;birth_date;city;tags\n")
        for i in range(n):
            name = f"{rng.choice(SURNAMES)} Khách {i}"
            phone = f"09{rng.randrange(10**8):08d}"
            born = f"{rng.randrange(1, 28):02d}/0{rng.randrange(1, 10)}/19{rng.randrange(60, 99)}"
            out.write(f"KH-{i};{name};{phone};{born};{rng.choice(CITIES)};vip|zalo\n")


def history(m: int, customers: int) -> list[Sale]:
    """M orders over the customers, round-robin, with a mix of statuses and about 10% refunded."""
    rng = random.Random(5)
    sales = []
    for i in range(m):
        status = rng.choices(list(WORDS), weights=STATUS_WEIGHTS)[0]
        total = rng.choice(TOTALS)
        placed = FIRST_DAY + timedelta(days=rng.randrange(270))
        changed = placed + timedelta(days=rng.randrange(6))
        refund = refund_of(total, rng) if status == "refunded" else 0
        sales.append(Sale(i, i % customers, status, total, refund, placed, changed))
    return sales


def refund_of(total: int, rng: random.Random) -> int:
    """A refund in full or in part, never more than the total."""
    return rng.choice([total, total // 3, total // 2])


def next_week(sales: Sequence[Sale]) -> list[Sale]:
    """The same orders a week on: ~30% of them moved forward, later; the others exactly as they were."""
    rng = random.Random(7)
    movable = sum(sale.status in FORWARD for sale in sales) or 1
    chance = MOVED_SHARE * len(sales) / movable
    return [moved(sale, rng) if sale.status in FORWARD and rng.random() < chance else sale for sale in sales]


def moved(sale: Sale, rng: random.Random) -> Sale:
    status = rng.choice(FORWARD[sale.status])
    refund = refund_of(sale.total, rng) if status == "refunded" else 0
    return replace(sale, status=status, refund=refund, changed=sale.changed + timedelta(days=rng.randrange(1, 15)))


def money(amount: int) -> str:
    """1500000 -> "1.500.000 đ", as Vietnamese spreadsheets write it."""
    return f"{amount:,}".replace(",", ".") + " đ"


def order_line(sale: Sale) -> str:
    words = WORDS[sale.status]
    word = words[sale.number % len(words)]
    refund = money(sale.refund) if sale.refund else ""
    placed, changed = sale.placed.strftime("%d/%m/%Y"), sale.changed.strftime("%d/%m/%Y")
    return f"DH-{sale.number},KH-{sale.customer},{word},{money(sale.total)},{refund},{placed},{changed}\n"


def write_orders(path: Path, sales: Sequence[Sale]) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("\ufeff" + ORDERS_HEADER)
        out.writelines(order_line(sale) for sale in sales)


async def chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


def imported(runtime: WorkerRuntime, principal: Principal, kind: str, file: Path, rows: int, mode: str) -> Run:
    """Upload ``file`` and run its import job; the commands counted are the job's, not the upload's."""
    imports = runtime.services.imports
    started = time.perf_counter()
    job = runtime.run(imports.start(principal, kind, chunks(file), mode=mode))
    uploaded = time.perf_counter() - started
    COMMANDS.names.clear()
    started = time.perf_counter()
    outcome = runtime.run(imports.run(job["_id"]))
    return Run(rows, time.perf_counter() - started, COMMANDS.total(), outcome, uploaded)


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def order_runs(
    runtime: WorkerRuntime, principal: Principal, folder: Path, sales: Sequence[Sale], later: Sequence[Sale]
) -> dict[str, Run]:
    """The orders file in create mode, then next week's in upsert mode, twice."""
    first, second = folder / "orders.csv", folder / "orders-next-week.csv"
    write_orders(first, sales)
    write_orders(second, later)
    rows = len(sales)
    return {
        "create": imported(runtime, principal, "orders", first, rows, ImportMode.CREATE),
        "upsert": imported(runtime, principal, "orders", second, rows, ImportMode.UPSERT),
        "upsert again": imported(runtime, principal, "orders", second, rows, ImportMode.UPSERT),
    }


def print_customers(run: Run, size: int, grew_kb: int) -> None:
    print(f"\nimport of {run.rows:,} customer rows ({size / 1e6:.1f} MB): {run.outcome}")
    print(f"  upload into MongoDB {run.uploaded:.1f} s; import {run.seconds:.1f} s = {run.per_second():,.0f} rows/s")
    print(f"  {run.commands} MongoDB commands = {run.per_thousand():.1f} per 1,000 rows (batches of 500)")
    print(f"  peak memory grew {grew_kb / 1024:.0f} MB while importing a {size / 1e6:.1f} MB file")


def print_orders(runs: dict[str, Run], sales: Sequence[Sale], later: Sequence[Sale], customers: int) -> None:
    changed = sum(a != b for a, b in zip(sales, later, strict=True))
    print(f"\nimport of {len(sales):,} order rows over {customers:,} customers, then next week's export of them")
    print(f"  in which {changed:,} moved ({changed / len(sales):.0%}) and {len(sales) - changed:,} are the same rows")
    print(f"  {'mode':<13} {'rows/s':>8} {'commands/1,000 rows':>20} {'seconds':>8}  outcome")
    for mode, run in runs.items():
        print(f"  {mode:<13} {run.per_second():>8,.0f} {run.per_thousand():>20.1f} {run.seconds:>8.1f}  {run.outcome}")
    ratio = runs["upsert"].per_second() / runs["create"].per_second()
    print(f"  upsert / create: {ratio:.2f}x the rows/s")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20000, help="customer rows (default 20,000)")
    parser.add_argument("--orders", type=int, default=20000, help="order rows (default 20,000)")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    folder = Path(tempfile.mkdtemp())
    file = folder / "customers.csv"
    write_file(file, args.n)
    with services_stack(0) as stack:
        runtime = WorkerRuntime.open(stack.config)
        try:
            principal = runtime.run(runtime.services.keys.authenticate(f"Bearer {stack.token}"))
            before_rss = peak_rss()
            customers = imported(runtime, principal, "customers", file, args.n, ImportMode.CREATE)
            grew = peak_rss() - before_rss
            sales = history(args.orders, args.n)
            later = next_week(sales)
            orders = order_runs(runtime, principal, folder, sales, later)
        finally:
            runtime.close()
    print_customers(customers, file.stat().st_size, grew)
    print_orders(orders, sales, later, args.n)


if __name__ == "__main__":
    main()

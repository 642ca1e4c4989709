"""CSV import at scale: N customer rows (Vietnamese and Chinese names, spreadsheet formats) uploaded and
imported by the job's code path, with rows per second, MongoDB commands per 1,000 rows, and the
process's peak memory next to the file's size (the file is streamed, never held whole).

    .venv/bin/python bench/imports.py --n 20000
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.commands import counting
from bench.stack import services_stack
from workers.runtime import WorkerRuntime

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "王", "李", "张"]
CITIES = ["Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "上海", "广州"]


COMMANDS = counting()


def write_file(path: Path, n: int) -> None:
    rng = random.Random(3)
    with path.open("w", encoding="utf-8") as out:
        out.write("\ufeffexternal_id;name;phone;birth_date;city;tags\n")
        for i in range(n):
            name = f"{rng.choice(SURNAMES)} Khách {i}"
            phone = f"09{rng.randrange(10**8):08d}"
            born = f"{rng.randrange(1, 28):02d}/0{rng.randrange(1, 10)}/19{rng.randrange(60, 99)}"
            out.write(f"KH-{i};{name};{phone};{born};{rng.choice(CITIES)};vip|zalo\n")


async def chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    file = Path(tempfile.mkdtemp()) / "customers.csv"
    write_file(file, args.n)
    size = file.stat().st_size
    with services_stack(0) as stack:
        runtime = WorkerRuntime.open(stack.config)
        try:
            principal = runtime.run(runtime.services.keys.authenticate(f"Bearer {stack.token}"))
            imports = runtime.services.imports
            before_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            started = time.perf_counter()
            job = runtime.run(imports.start(principal, "customers", chunks(file)))
            uploaded = time.perf_counter() - started
            COMMANDS.names.clear()
            started = time.perf_counter()
            outcome = runtime.run(imports.run(job["_id"]))
            seconds = time.perf_counter() - started
            commands = COMMANDS.total()
            peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        finally:
            runtime.close()
    print(f"\nimport of {args.n:,} customer rows ({size / 1e6:.1f} MB): {outcome}")
    print(f"  upload into MongoDB {uploaded:.1f} s; import {seconds:.1f} s = {args.n / seconds:,.0f} rows/s")
    print(f"  {commands} MongoDB commands = {commands * 1000 / args.n:.1f} per 1,000 rows (batches of 500)")
    print(f"  peak memory grew {(peak_rss - before_rss) / 1024:.0f} MB while importing a {size / 1e6:.1f} MB file")


if __name__ == "__main__":
    main()

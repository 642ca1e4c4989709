"""Closed-loop HTTP load: ``c`` clients each sending one request after another for ``seconds``.

wrk (``apt-get install -y wrk``) is used when installed: a C load generator leaves the two cores to the
servers under test. Otherwise an asyncio client in this process does the same, less precisely. Both
count the responses that are not a clean GraphQL answer (HTTP status other than 200, or any error, at
the top level or in a mutation's payload).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2


@dataclass(frozen=True)
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    failed: int


_WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = %(body)s
wrk.headers["Content-Type"] = "application/json"
%(auth)s
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) failed = 0 end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors":[{', 1, true) then failed = failed + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("failed") end
  io.write(string.format("RESULT %%f %%f %%f %%d %%d\\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, total + summary.errors.status))
end
"""


def run_load(url: str, payload: dict[str, Any], token: str | None, clients: int, seconds: float) -> LoadResult:
    if shutil.which("wrk"):
        return _with_wrk(url, payload, token, clients, seconds)
    return asyncio.run(_with_asyncio(url, payload, token, clients, seconds))


def _with_wrk(url: str, payload: dict[str, Any], token: str | None, clients: int, seconds: float) -> LoadResult:
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    script = _WRK_SCRIPT % {"body": json.dumps(json.dumps(payload)), "auth": auth}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        command = ["wrk", "-t", str(min(clients, 4)), "-c", str(clients), "-d", f"{seconds:.0f}s"]
        output = subprocess.run(
            [*command, "--timeout", "30s", "-s", handle.name, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(handle.name).unlink()
    line = next(line for line in output.splitlines() if line.startswith("RESULT"))
    rate, p50, p99, requests, failed = line.split()[1:]
    return LoadResult(float(rate), float(p50), float(p99), int(requests), int(failed))


async def _with_asyncio(
    url: str, payload: dict[str, Any], token: str | None, clients: int, seconds: float
) -> LoadResult:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    latencies: list[float] = []
    failed = 0
    deadline = time.monotonic() + seconds

    async def client(http: httpx2.AsyncClient) -> None:
        nonlocal failed
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                response = await http.post(url, json=payload, headers=headers)
                ok = response.status_code == 200 and '"errors":[{' not in response.text.replace(" ", "")
            except httpx2.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            failed += not ok

    async with httpx2.AsyncClient(timeout=30, limits=httpx2.Limits(max_connections=clients)) as http:
        started = time.monotonic()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        elapsed = time.monotonic() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    p50 = statistics.median(latencies) if latencies else 0.0
    return LoadResult(len(latencies) / elapsed, p50, p99, len(latencies), failed)

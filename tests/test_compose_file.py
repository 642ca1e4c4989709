"""compose.yaml cannot run here (no Docker engine), so it is checked by parsing."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())  # type: ignore[no-any-return]


def test_services_and_healthchecks() -> None:
    services = _compose()["services"]
    assert set(services) == {"mongodb", "redis", "api", "worker", "prometheus", "grafana"}
    for name, service in services.items():
        if name not in ("prometheus", "grafana"):  # optional, behind a profile
            assert "healthcheck" in service, name
    assert services["prometheus"]["profiles"] == services["grafana"]["profiles"] == ["monitoring"]


def test_prometheus_scrapes_the_api_and_the_worker_where_they_serve_metrics() -> None:
    compose = _compose()
    environment = compose["services"]["api"]["environment"]
    assert environment["METRICS_ENABLED"] == "true"
    scrape = yaml.safe_load(compose["configs"]["prometheus"]["content"])["scrape_configs"]
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in scrape}
    assert targets == {"crm-api": ["api:8000"], "crm-worker": [f"worker:{environment['WORKER_METRICS_PORT']}"]}


def test_mongodb_is_a_replica_set_without_server_side_javascript() -> None:
    mongodb = _compose()["services"]["mongodb"]
    assert mongodb["image"].startswith("mongo:8")
    assert "--replSet" in mongodb["command"] and "--noscripting" in mongodb["command"]
    check = " ".join(mongodb["healthcheck"]["test"])
    # Healthy (what the api and worker wait for) only once the initiated set has elected this node primary.
    assert "rs.initiate" in check and "isWritablePrimary" in check and "quit(1)" in check
    for name in ("api", "worker"):
        assert _compose()["services"][name]["restart"] == "unless-stopped"


def test_redis_keeps_queues_within_a_memory_limit() -> None:
    command = _compose()["services"]["redis"]["command"]
    joined = " ".join(command)
    assert "--appendonly yes" in joined and "--maxmemory-policy noeviction" in joined
    # A limit Redis refuses writes at, instead of growing until the host kills it; never by evicting queues.
    limit = command[command.index("--maxmemory") + 1]
    assert re.fullmatch(r"\d+(mb|gb)", limit), limit


def test_api_and_worker_run_the_commands_the_readme_describes() -> None:
    services = _compose()["services"]
    readme = (ROOT / "README.md").read_text()
    for name in ("api", "worker"):
        command = shlex.join(services[name]["command"])
        assert f"`{command}`" in readme, f"{name}: {command}"
        assert services[name]["environment"]["MONGODB_URI"].startswith("mongodb://mongodb:27017/")
        assert services[name]["depends_on"]["mongodb"]["condition"] == "service_healthy"

"""What ops watch: alert rules that promtool accepts and whose tests pass, and a dashboard and rules that
only name metrics the API and the workers really export, wired into compose's monitoring profile."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.telemetry import ApiMetrics
from workers.metrics import WorkerMetrics

ROOT = Path(__file__).resolve().parent.parent
MONITORING = ROOT / "monitoring"
SUFFIXES = ("", "_total", "_bucket", "_count", "_sum", "_created")
METRIC = re.compile(r"\b(crm_[a-z_]+|up)\b")


def _exported() -> set[str]:
    names = {"up"}
    for registry in (ApiMetrics().registry, WorkerMetrics().registry):
        for family in registry.collect():
            names |= {family.name + suffix for suffix in SUFFIXES}
    return names


def _alert_expressions() -> list[str]:
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def _dashboard_expressions() -> list[str]:
    dashboard = json.loads((MONITORING / "grafana" / "crm.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian's prometheus package) is not installed")
def test_promtool_accepts_the_alert_rules_and_their_tests_pass() -> None:
    for command in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts_test.yml"]):
        done = subprocess.run(["promtool", *command], cwd=MONITORING, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_rules_and_dashboard_name_only_metrics_that_are_exported() -> None:
    exported = _exported()
    for expression in _alert_expressions() + _dashboard_expressions():
        unknown = set(METRIC.findall(expression)) - exported
        assert not unknown, f"{expression}: {unknown}"
    alerts = {rule["alert"] for group in yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
              for rule in group["rules"]}  # fmt: skip
    wanted = {"CrmWorkerDown", "CrmDirtyBacklogOld", "CrmScoringRunFailed", "CrmImportStalled", "CrmApiErrors"}
    assert wanted | {"CrmEventDeliveryLag"} <= alerts


def test_the_monitoring_profile_loads_the_rules_and_provisions_the_dashboard() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services, configs = compose["services"], compose["configs"]
    assert services["grafana"]["profiles"] == services["prometheus"]["profiles"] == ["monitoring"]
    prometheus = yaml.safe_load(configs["prometheus"]["content"])
    mounted = {config["source"]: config["target"] for config in services["prometheus"]["configs"]}
    assert prometheus["rule_files"] == [mounted["prometheus-alerts"]]
    assert configs["prometheus-alerts"]["file"] == "./monitoring/alerts.yml"
    assert configs["grafana-crm-dashboard"]["file"] == "./monitoring/grafana/crm.json"
    provider = yaml.safe_load(configs["grafana-dashboards"]["content"])["providers"][0]
    dashboard_target = {c["source"]: c["target"] for c in services["grafana"]["configs"]}["grafana-crm-dashboard"]
    assert Path(dashboard_target).parent == Path(provider["options"]["path"])

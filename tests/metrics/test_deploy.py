"""deploy/: the Grafana dashboard and the Prometheus rules name what GET /metrics exposes.

promtool is not at hand: each file is parsed, and every metric, label and fixed label value
an expression selects is looked up in a real scrape, so renaming a metric fails here.
"""

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no annotations

from phresh.main import create_app
from tests.fixtures.database import make_settings
from tests.metrics.conftest import Samples, scrape

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "phresh-dashboard.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yaml"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yaml"
# What Prometheus itself adds: its own series of each target, and its target labels.
PROMETHEUS_SERIES = {"up": {"job", "instance"}, "probe_success": {"job", "instance"}}
TARGET_LABELS = {"job", "instance"}

SELECTOR = re.compile(r"\b(phresh_[a-z0-9_]+|up|probe_success)\b(?:\{([^}]*)\})?")
MATCHER = re.compile(r'([a-zA-Z_]+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
DURATION = re.compile(r"^\d+[smhd]$")


@pytest.fixture(scope="module")
async def exposed(database_url: str) -> Samples:
    """A scrape of an app that served a request (labelled families have their series) and
    reaches its database (the outbox is read)."""
    app = create_app(make_settings(database_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.get("/api/v1/health/live")
            await client.get("/api/v1/health/ready")
            return await scrape(client)


def labels_of(samples: Samples) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, labels in samples.values:
        found.setdefault(name, set()).update(label for label, _ in labels)
    return found


def check_expression(expr: str, samples: Samples) -> set[str]:
    """Fail unless each series ``expr`` selects is exposed with the labels it matches on
    (and the fixed values it asks for); the phresh_ metrics it names."""
    labels = labels_of(samples) | PROMETHEUS_SERIES
    named: set[str] = set()
    for name, matchers in SELECTOR.findall(expr):
        assert name in labels, f"{name} is not exposed ({expr})"
        if name.startswith("phresh_"):
            named.add(name)
        for label, operator, value in MATCHER.findall(matchers):
            assert label in labels[name] | TARGET_LABELS, f"{name} has no label {label}"
            if operator == "=" and label not in TARGET_LABELS:
                assert value in samples.label_values(name, label), f"{name}{{{label}={value}}}"
    for grouping in GROUPING.findall(expr):
        for label in filter(None, (part.strip() for part in grouping.split(","))):
            assert any(label in labels[name] for name in named) or label in TARGET_LABELS, (
                f"no metric of {expr} has the label {label}"
            )
    assert expr.count("(") == expr.count(")"), expr
    return named


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_each_alert_rule_selects_what_metrics_exposes(exposed: Samples) -> None:
    named: set[str] = set()
    for rule in rules():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"Phresh[A-Za-z0-9]+", rule["alert"])
        assert DURATION.match(rule.get("for", "0s")), rule["alert"]
        assert rule["labels"]["severity"] in {"page", "warn"}
        assert rule["annotations"]["summary"]
        named |= check_expression(rule["expr"], exposed)

    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    # What the issue asks of the rules: 5xx rate, p99 latency, pool saturation, readiness.
    assert {
        "PhreshHigh5xxRate",
        "PhreshHighP99Latency",
        "PhreshDatabasePoolSaturated",
        "PhreshDown",
        "PhreshNotReady",
    } <= set(names)
    assert {"phresh_http_requests_total", "phresh_db_pool_checked_out"} <= named


def test_the_dashboard_is_a_grafana_dashboard_of_what_metrics_exposes(exposed: Samples) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    named: set[str] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        assert grid["h"] > 0, panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            assert target["refId"]
            named |= check_expression(target["expr"], exposed)

    assert dashboard["uid"] == "phresh"
    assert len({panel["id"] for panel in panels}) == len(panels)
    assert {variable["name"] for variable in dashboard["templating"]["list"]} == {
        "datasource",
        "job",
    }
    # Every family of /metrics has a panel.
    families = {name for name in exposed.names() if name.startswith("phresh_")}
    shown = {re.sub(r"_(bucket|count|sum)$", "", name) for name in named}
    assert {re.sub(r"_(bucket|count|sum)$", "", name) for name in families} <= shown


def test_the_example_configuration_loads_the_rules_and_scrapes_their_jobs() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    used = {job for rule in rules() for job in re.findall(r'job="([^"$]+)"', rule["expr"])}

    assert [PROMETHEUS.parent / name for name in config["rule_files"]] == [ALERTS]
    assert used == jobs == {"phresh", "phresh-ready"}

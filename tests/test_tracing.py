"""Traces: with a collector configured, a span per request named by its route and a span per
SQL statement under it, without parameters; without one, no tracing at all."""

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from phresh import tracing
from phresh.config import Settings
from phresh.db import Pool
from phresh.main import create_app
from phresh.models import User
from tests.fixtures.client import BASE_URL
from tests.fixtures.database import make_settings
from tests.fixtures.factories import auth_headers, create_cleaning, create_user

COLLECTOR = "http://collector.invalid:4318"


class Collector:
    """An in-memory exporter for each app (an exporter stops with its app's provider)."""

    def __init__(self) -> None:
        self.exporters: list[InMemorySpanExporter] = []

    def exporter(self, settings: Settings) -> InMemorySpanExporter:
        self.exporters.append(InMemorySpanExporter())
        return self.exporters[-1]

    def get_finished_spans(self) -> tuple[ReadableSpan, ...]:
        return tuple(span for exporter in self.exporters for span in exporter.get_finished_spans())

    def clear(self) -> None:
        self.exporters.clear()


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> Collector:
    collector = Collector()
    monkeypatch.setattr(tracing, "exporter_for", collector.exporter)
    return collector


async def get(settings: Settings, cleaning: tuple[User, int]) -> httpx.Response:
    """The owner's GET of the cleaning, on an app started and stopped for it."""
    owner, cleaning_id = cleaning
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            return await client.get(
                f"/cleanings/{cleaning_id}", headers=auth_headers(settings, owner)
            )


@pytest.fixture
async def cleaning(live_pool: Pool) -> tuple[User, int]:
    async with live_pool.acquire() as setup:
        owner = await create_user(setup)
        made = await create_cleaning(setup, owner=owner, name="Attic")
    return owner, made.id


async def test_a_request_and_its_statements_are_spans_named_by_route(
    database_url: str, exported: Collector, cleaning: tuple[User, int]
) -> None:
    settings = make_settings(database_url, otel_exporter_otlp_endpoint=COLLECTOR)

    response = await get(settings, cleaning)

    assert response.status_code == 200, response.text
    spans = exported.get_finished_spans()
    server = [span for span in spans if span.kind == SpanKind.SERVER]
    assert [span.name for span in server] == ["GET /api/v1/cleanings/{cleaning_id}"]
    assert server[0].attributes is not None
    assert server[0].attributes["http.route"] == "/api/v1/cleanings/{cleaning_id}"
    # Not the ASGI messages' own spans (one per chunk): the request and its statements.
    assert {span.kind for span in spans} == {SpanKind.SERVER, SpanKind.CLIENT}
    statements = [span for span in spans if span.kind == SpanKind.CLIENT]
    texts = [str((span.attributes or {}).get("db.statement")) for span in statements]
    # The session lookup and the cleaning's read, with their SQL.
    assert any('"user"' in text for text in texts), texts
    assert any("FROM cleaning" in text for text in texts), texts
    for span in statements:
        # Under the request's span, never with the values bound to the statement.
        assert span.parent is not None
        assert span.parent.span_id == server[0].context.span_id
        assert "db.statement.parameters" not in (span.attributes or {})


async def test_without_a_collector_nothing_is_traced(
    database_url: str, exported: Collector, cleaning: tuple[User, int]
) -> None:
    response = await get(make_settings(database_url), cleaning)

    assert response.status_code == 200, response.text
    assert exported.get_finished_spans() == ()


async def test_tracing_stops_with_the_app_and_starts_again_with_the_next(
    database_url: str, exported: Collector, cleaning: tuple[User, int]
) -> None:
    settings = make_settings(database_url, otel_exporter_otlp_endpoint=COLLECTOR)
    await get(settings, cleaning)
    exported.clear()

    # A second app in the same process (the tests): its statements are its spans.
    await get(settings, cleaning)

    kinds = [span.kind for span in exported.get_finished_spans()]
    assert SpanKind.SERVER in kinds
    assert SpanKind.CLIENT in kinds

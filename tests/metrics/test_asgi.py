"""Every request counted under its route template, and who may read GET /metrics."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from ipaddress import ip_network
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import SecretStr, ValidationError

from phresh.config import KEY_COMMAND, Settings, describe_settings_errors
from phresh.db import Connection
from phresh.metrics.asgi import install_metrics
from tests.fixtures.client import app_on
from tests.fixtures.factories import auth_headers, create_cleaning, create_user
from tests.metrics.conftest import METRICS_URL, Samples, parse, scrape

REQUESTS = "phresh_http_requests_total"
DURATIONS = "phresh_http_request_duration_seconds_count"
IN_FLIGHT = "phresh_http_requests_in_flight"
TOKEN = "metrics-token-0123456789-0123456789-abcdef"
OUTSIDER = "203.0.113.9"


@asynccontextmanager
async def client_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` whose requests come from ``address`` (the ASGI scope's client)."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
        yield client


@asynccontextmanager
async def app_with(
    settings: Settings, connection: Connection, **overrides: Any
) -> AsyncIterator[FastAPI]:
    async with app_on(settings.model_copy(update=overrides), connection) as app:
        yield app


async def test_a_request_is_counted_under_its_route_template_method_and_status(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)
    template = "/api/v1/cleanings/{cleaning_id}"
    before = await scrape(client)

    response = await client.get(f"/cleanings/{cleaning.id}", headers=auth_headers(settings, owner))

    after = await scrape(client)
    assert response.status_code == 200
    labels = {"method": "GET", "route": template}
    assert after.value(REQUESTS, **labels, status="200") == (
        before.value(REQUESTS, **labels, status="200") + 1
    )
    assert after.value(DURATIONS, **labels) == before.value(DURATIONS, **labels) + 1
    assert f"/api/v1/cleanings/{cleaning.id}" not in after.label_values(REQUESTS, "route")


async def test_paths_no_route_serves_share_one_label(client: httpx.AsyncClient) -> None:
    before = await scrape(client)

    statuses = [
        (await client.get(path)).status_code
        for path in ("http://test/api/v1/nope/123", "http://test/anything", "http://test/x/../y")
    ]

    after = await scrape(client)
    assert statuses == [404, 404, 404]
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert after.value(REQUESTS, **unmatched) == before.value(REQUESTS, **unmatched) + 3
    routes = after.label_values(REQUESTS, "route")
    assert not [route for route in routes if "nope" in route or "anything" in route]
    assert all(route.startswith("/") or route == "unmatched" for route in routes)


async def test_a_method_outside_the_usual_ones_is_counted_as_other(
    client: httpx.AsyncClient,
) -> None:
    before = await scrape(client)

    response = await client.request("PURGE", "/health/live")

    after = await scrape(client)
    assert response.status_code == 405
    labels = {"route": "/api/v1/health/live", "status": "405"}
    assert after.value(REQUESTS, method="other", **labels) == (
        before.value(REQUESTS, method="other", **labels) + 1
    )
    assert "PURGE" not in after.label_values(REQUESTS, "method")


async def test_a_request_under_way_is_in_flight_until_it_ends(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        started.set()
        await release.wait()

    app.add_api_route("/api/v1/test/slow", slow)
    before = await scrape(client)

    request = asyncio.create_task(client.get("/test/slow"))
    async with asyncio.timeout(5):
        await started.wait()
    during = await scrape(client)
    release.set()
    response = await request
    after = await scrape(client)

    assert response.status_code == 200
    assert during.value(IN_FLIGHT) == before.value(IN_FLIGHT) + 1
    assert after.value(IN_FLIGHT) == before.value(IN_FLIGHT)


async def test_a_request_that_fails_unanswered_is_counted_as_the_server_s_500(
    settings: Settings,
) -> None:
    # No handler of Phresh's answers it: the error passes the middleware, and Starlette's
    # outermost one answers 500.
    app = FastAPI()

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError

    install_metrics(app, settings)
    labels = {"method": "GET", "route": "/broken", "status": "500"}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        before = parse((await client.get(METRICS_URL)).text)
        response = await client.get("/broken")
        after = parse((await client.get(METRICS_URL)).text)

    assert response.status_code == 500
    assert after.value(REQUESTS, **labels) == before.value(REQUESTS, **labels) + 1


async def test_a_router_included_under_two_prefixes_is_counted_under_each(
    settings: Settings,
) -> None:
    app = FastAPI()
    items = APIRouter()

    @items.get("/items/{item_id}")
    async def read_item(item_id: int) -> None:
        return None

    app.include_router(items, prefix="/a")
    app.include_router(items, prefix="/b")
    install_metrics(app, settings)
    async with client_at(app, "127.0.0.1") as client:
        before = parse((await client.get(METRICS_URL)).text)
        await client.get("http://test/a/items/1")
        await client.get("http://test/b/items/2")
        await client.get("http://test/b/items/3")
        after = parse((await client.get(METRICS_URL)).text)

    def count(route: str, samples: Samples) -> float:
        return samples.value(REQUESTS, method="GET", route=route, status="200")

    assert count("/a/items/{item_id}", after) == count("/a/items/{item_id}", before) + 1
    assert count("/b/items/{item_id}", after) == count("/b/items/{item_id}", before) + 2


async def test_metrics_answers_this_host_and_is_no_operation_of_the_api(app: FastAPI) -> None:
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        async with client_at(app, address) as client:
            response = await client.get(METRICS_URL)
            head = await client.head(METRICS_URL)
        assert response.status_code == 200, address
        assert "phresh_http_requests_total" in response.text
        assert head.status_code == 200
    assert "/metrics" not in app.openapi()["paths"]


def as_unknown_path(response: httpx.Response) -> tuple[int, str | None, Any]:
    """What a response tells about its path: status, type and body, less the path and id."""
    body = response.json()
    body.pop("instance", None)
    body.pop("request_id", None)
    body["detail"] = body["detail"].replace(response.request.url.path, "<path>")
    return response.status_code, response.headers.get("content-type"), body


async def test_to_other_clients_metrics_is_like_any_unknown_path(app: FastAPI) -> None:
    async with client_at(app, OUTSIDER) as client:
        refused = await client.get(METRICS_URL)
        unknown = await client.get("http://test/no-such-page")
        posted = await client.post(METRICS_URL)
        posted_unknown = await client.post("http://test/no-such-page")
    async with client_at(app, "127.0.0.1") as client:
        posted_here = await client.post(METRICS_URL)

    assert refused.status_code == 404
    assert as_unknown_path(refused) == as_unknown_path(unknown)
    assert "phresh_" not in refused.text
    # Only GET and HEAD scrape; another method is an unknown path from anywhere.
    assert as_unknown_path(posted) == as_unknown_path(posted_here)
    assert as_unknown_path(posted) == as_unknown_path(posted_unknown)


async def test_the_token_lets_any_client_read_metrics(
    settings: Settings, connection: Connection
) -> None:
    async with (
        app_with(settings, connection, metrics_token=SecretStr(TOKEN)) as app,
        client_at(app, OUTSIDER) as client,
    ):
        allowed = await client.get(METRICS_URL, headers={"Authorization": f"Bearer {TOKEN}"})
        lowercase = await client.get(METRICS_URL, headers={"Authorization": f"bearer {TOKEN}"})
        wrong = await client.get(METRICS_URL, headers={"Authorization": f"Bearer {TOKEN}x"})
        prefix = await client.get(METRICS_URL, headers={"Authorization": f"Bearer {TOKEN[:-1]}"})
        basic = await client.get(METRICS_URL, headers={"Authorization": f"Basic {TOKEN}"})

    assert allowed.status_code == 200
    assert "phresh_http_requests_total" in allowed.text
    assert lowercase.status_code == 200
    assert [wrong.status_code, prefix.status_code, basic.status_code] == [404, 404, 404]


async def test_a_request_that_came_through_a_proxy_needs_the_token(
    settings: Settings, connection: Connection
) -> None:
    # A proxy on this host that uvicorn does not believe: every client looks like loopback.
    async with (
        app_with(settings, connection, metrics_token=SecretStr(TOKEN)) as app,
        client_at(app, "127.0.0.1") as client,
    ):
        forwarded = await client.get(METRICS_URL, headers={"X-Forwarded-For": OUTSIDER})
        standard = await client.get(METRICS_URL, headers={"Forwarded": f"for={OUTSIDER}"})
        with_token = await client.get(
            METRICS_URL,
            headers={"X-Forwarded-For": OUTSIDER, "Authorization": f"Bearer {TOKEN}"},
        )

    assert [forwarded.status_code, standard.status_code] == [404, 404]
    assert with_token.status_code == 200


async def test_the_allowed_networks_are_the_setting_s(
    settings: Settings, connection: Connection
) -> None:
    async with app_with(settings, connection, metrics_allow="10.0.0.0/8, 192.0.2.7") as app:
        statuses = {}
        for address in ("10.1.2.3", "192.0.2.7", "192.0.2.8", "127.0.0.1"):
            async with client_at(app, address) as client:
                statuses[address] = (await client.get(METRICS_URL)).status_code
    async with (
        app_with(settings, connection, metrics_allow="") as app,
        client_at(app, "127.0.0.1") as client,
    ):
        nobody = (await client.get(METRICS_URL)).status_code

    assert statuses == {"10.1.2.3": 200, "192.0.2.7": 200, "192.0.2.8": 404, "127.0.0.1": 404}
    assert nobody == 404


def test_the_metrics_settings_refuse_what_cannot_be_used_without_quoting_it() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(metrics_allow="10.0.0.0/8, intranet", metrics_token=SecretStr("short-s3cret"))

    lines = describe_settings_errors(caught.value)
    assert lines == [
        "PHRESH_METRICS_ALLOW: must list IP addresses or networks, comma-separated "
        "(10.0.0.0/8,::1)",
        f"PHRESH_METRICS_TOKEN: must be at least 32 characters; generate one with: {KEY_COMMAND}",
    ]
    assert "intranet" not in str(caught.value)
    assert "short-s3cret" not in str(caught.value)
    assert Settings(metrics_allow=" 10.1.2.3 ,::1/128,").metrics_networks() == (
        ip_network("10.1.2.3/32"),
        ip_network("::1/128"),
    )

"""Every response carries the security headers; HSTS only outside development."""

from pathlib import Path

import httpx
import pytest

from phresh.db import Connection
from tests.fixtures.client import app_on, client_of
from tests.fixtures.database import make_settings

ROOT = "http://test"


async def get(
    database_url: str, connection: Connection, path: str, **settings: object
) -> httpx.Response:
    app_settings = make_settings(database_url, **settings)
    async with app_on(app_settings, connection) as app, client_of(app) as client:
        return await client.get(ROOT + path)


@pytest.mark.parametrize("path", ["/api/v1/health/live", "/api/v1/nowhere", "/docs"])
async def test_every_response_forbids_sniffing_and_referers(
    database_url: str, connection: Connection, path: str
) -> None:
    response = await get(database_url, connection, path)

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_outside_development_https_is_remembered(
    database_url: str, connection: Connection
) -> None:
    response = await get(database_url, connection, "/api/v1/health/live")

    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_in_development_nothing_pins_https(database_url: str, connection: Connection) -> None:
    response = await get(database_url, connection, "/api/v1/health/live", environment="development")

    assert "strict-transport-security" not in response.headers


async def test_a_header_the_response_set_is_not_doubled(
    database_url: str, connection: Connection, tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>Phresh</title>")

    response = await get(database_url, connection, "/somewhere", web_dir=tmp_path)

    assert response.headers.get_list("x-content-type-options") == ["nosniff"]
    assert response.headers.get_list("referrer-policy") == ["no-referrer"]

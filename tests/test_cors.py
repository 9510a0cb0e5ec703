"""CORS: off by default (the web app is same-origin); named origins only, with credentials."""

import httpx
import pytest
from pydantic import ValidationError

from phresh.db import Connection
from tests.fixtures.client import app_on, client_of
from tests.fixtures.database import make_settings

APP = "https://app.example.com"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, x-phresh-client",
}


async def preflight(
    database_url: str, connection: Connection, origin: str, **settings: object
) -> httpx.Response:
    app_settings = make_settings(database_url, **settings)
    async with app_on(app_settings, connection) as app, client_of(app) as client:
        return await client.options("/cleanings", headers={"Origin": origin, **PREFLIGHT})


async def test_by_default_no_other_origin_is_let_in(
    database_url: str, connection: Connection
) -> None:
    response = await preflight(database_url, connection, APP)

    assert "access-control-allow-origin" not in response.headers


async def test_a_named_origin_may_call_with_credentials(
    database_url: str, connection: Connection
) -> None:
    response = await preflight(
        database_url, connection, APP, cors_origins=f"{APP}, https://b.example"
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    assert response.headers["access-control-allow-credentials"] == "true"
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "x-phresh-client"} <= set(allowed.split(", "))


async def test_an_origin_not_named_is_not_let_in(database_url: str, connection: Connection) -> None:
    response = await preflight(database_url, connection, "https://evil.example", cors_origins=APP)

    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    "origins", ["*", "https://*.example.com", "https://app.example.com/path", "app.example.com"]
)
def test_anything_but_exact_origins_is_refused(database_url: str, origins: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        make_settings(database_url, cors_origins=origins)

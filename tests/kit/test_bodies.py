"""Request bodies: refused past PHRESH_MAX_BODY_BYTES, whether declared or streamed, and not
read at all for an endpoint that needs a token when the request carries none."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from phresh.config import Settings
from phresh.db import Connection
from phresh.errors import problem_type
from phresh.models import User
from tests.fixtures.client import app_on, client_of
from tests.fixtures.database import make_settings
from tests.fixtures.factories import auth_headers, create_user

CAP = 4096
CLEANING = {"name": "Kitchen", "description": "", "cleaning_type": "spot_clean", "price": "20"}


@pytest.fixture
def capped_settings(database_url: str) -> Settings:
    return make_settings(database_url, max_body_bytes=CAP)


@pytest.fixture
async def capped(
    capped_settings: Settings, connection: Connection
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_on(capped_settings, connection) as app, client_of(app) as client:
        yield client


@pytest.fixture
async def owner_headers(connection: Connection, capped_settings: Settings) -> dict[str, str]:
    owner: User = await create_user(connection, username="owner")
    return auth_headers(capped_settings, owner)


def padded(size: int) -> bytes:
    """A JSON cleaning of a little over ``size`` bytes."""
    return json.dumps({**CLEANING, "description": "x" * size}).encode()


class Chunks:
    """A streamed (chunked) body that counts how many of its chunks were taken."""

    def __init__(self, count: int, size: int = 1024) -> None:
        self.count = count
        self.size = size
        self.taken = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.taken += 1
            yield b" " * self.size


async def cleanings(connection: Connection) -> int:
    count: int = await connection.fetchval("SELECT count(*) FROM cleaning")
    return count


def assert_problem(response: httpx.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["type"] == problem_type(slug)
    assert response.headers["x-request-id"]


async def test_a_body_under_the_cap_is_taken(
    capped: httpx.AsyncClient, connection: Connection, owner_headers: dict[str, str]
) -> None:
    headers = owner_headers | {"Content-Type": "application/json"}
    response = await capped.post("/cleanings", content=padded(1000), headers=headers)

    assert response.status_code == 201, response.text
    assert await cleanings(connection) == 1


async def test_a_body_declared_over_the_cap_is_refused_unread(
    capped: httpx.AsyncClient, connection: Connection, owner_headers: dict[str, str]
) -> None:
    body = Chunks(count=8)
    headers = owner_headers | {"Content-Length": str(body.count * body.size)}

    response = await capped.post("/cleanings", content=body, headers=headers)

    assert_problem(response, 413, "body-too-large")
    assert response.json()["detail"] == f"The request body is over {CAP} bytes."
    assert body.taken == 0
    assert await cleanings(connection) == 0


async def test_a_streamed_body_is_cut_off_once_past_the_cap(
    capped: httpx.AsyncClient, connection: Connection, owner_headers: dict[str, str]
) -> None:
    body = Chunks(count=64)

    response = await capped.post("/cleanings", content=body, headers=owner_headers)

    assert_problem(response, 413, "body-too-large")
    assert body.taken <= CAP // body.size + 1 < body.count
    assert await cleanings(connection) == 0


async def test_a_public_endpoint_is_capped_too(capped: httpx.AsyncClient) -> None:
    big = json.dumps({"username": "ada", "email": "a@example.com", "password": "x" * CAP})

    response = await capped.post("/users", content=big)

    assert_problem(response, 413, "body-too-large")


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_without_a_token_the_body_is_not_read(
    capped: httpx.AsyncClient, declared: bool
) -> None:
    body = Chunks(count=64)
    # 64 KiB, declared or streamed: a 401 comes first, before any of it is taken.
    content: bytes | Chunks = b" " * (64 * 1024) if declared else body

    response = await capped.post("/cleanings", content=content)

    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert body.taken == 0

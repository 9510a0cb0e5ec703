"""The request deadline: a request that waits too long answers 503 with Retry-After and its
request id; an answer that has started runs on (a stream of events)."""

import asyncio
from collections.abc import AsyncIterator

import httpx
from fastapi.responses import StreamingResponse

from phresh.db import Connection
from tests.fixtures.client import BASE_URL, app_on
from tests.fixtures.database import make_settings

DEADLINE_S = 0.3


async def wait_for_ever() -> None:
    await asyncio.Event().wait()


async def stream_slowly() -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            await asyncio.sleep(DEADLINE_S / 2)
            yield b"tick\n"

    return StreamingResponse(chunks(), media_type="text/plain")


async def get(database_url: str, connection: Connection, path: str) -> httpx.Response:
    settings = make_settings(database_url, request_deadline_s=DEADLINE_S)
    async with app_on(settings, connection) as app:
        app.add_api_route("/api/v1/test/forever", wait_for_ever)
        app.add_api_route("/api/v1/test/stream", stream_slowly)
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client,
            asyncio.timeout(10),
        ):
            return await client.get(path)


async def test_a_request_past_its_deadline_answers_503_with_retry_after(
    database_url: str, connection: Connection
) -> None:
    response = await get(database_url, connection, "/test/forever")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    problem = response.json()
    assert problem["type"] == "urn:phresh:problem:unavailable"
    assert problem["request_id"] == response.headers["x-request-id"]


async def test_an_answer_that_started_runs_past_the_deadline(
    database_url: str, connection: Connection
) -> None:
    response = await get(database_url, connection, "/test/stream")

    assert response.status_code == 200
    assert response.text == "tick\n" * 4

"""SIGTERM: readiness answers 503 at once while the port still serves, for
PHRESH_SHUTDOWN_DRAIN_S; then the server stops accepting and every request in flight ends
with its own answer."""

import asyncio
import json
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from phresh.shutdown import DrainOnSigterm, Shutdown
from tests.fixtures.serving import migrated_data_dir, served

DRAIN_S = 2.0
IN_FLIGHT = 8
# Each body comes in 12 pieces 0.3 s apart: the requests are in flight at SIGTERM, through
# the drain and into uvicorn's own graceful shutdown.
BODY_PIECES = 12
PIECE_INTERVAL_S = 0.3
SUPERVISOR_LAG_S = 0.6
READY = "/api/v1/health/ready"
LIVE = "/api/v1/health/live"


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    with migrated_data_dir() as pgdata:
        yield pgdata


async def slowly(payload: bytes, interval_s: float) -> AsyncIterator[bytes]:
    step = -(-len(payload) // BODY_PIECES)
    for start in range(0, len(payload), step):
        await asyncio.sleep(interval_s)
        yield payload[start : start + step]


async def register_slowly(
    base: str, name: str, interval_s: float = PIECE_INTERVAL_S
) -> httpx.Response:
    """A real request that takes a while: a sign-up whose body comes slowly."""
    payload = json.dumps(
        {"username": name, "email": f"{name}@example.com", "password": "correct horse battery"}
    ).encode()
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        return await client.post(
            "/api/v1/users",
            content=slowly(payload, interval_s),
            headers={"Content-Type": "application/json"},
        )


async def get_on_a_new_connection(base: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        return await client.get(path)


async def accepts(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def first_refusal(port: int, deadline: float) -> float:
    """When the port first refuses a connection."""
    while time.monotonic() < deadline:
        if not await accepts(port):
            return time.monotonic()
        await asyncio.sleep(0.02)
    pytest.fail("the port still accepts connections")


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_drains_then_every_request_in_flight_ends_with_its_answer(
    data_dir: Path, workers: int
) -> None:
    with served(
        data_dir,
        PHRESH_SHUTDOWN_DRAIN_S=str(DRAIN_S),
        PHRESH_WORKERS=str(workers),
        PHRESH_RATE_LIMIT_REGISTER_PER_ADDRESS="1000/hour",
    ) as (server, port):
        base = f"http://127.0.0.1:{port}"
        in_flight = [
            asyncio.create_task(register_slowly(base, f"drain{workers}x{number}"))
            for number in range(IN_FLIGHT)
        ]
        # Their heads are in, their bodies still coming.
        await asyncio.sleep(PIECE_INTERVAL_S * 2)
        server.send_signal(signal.SIGTERM)
        sigterm_at = time.monotonic()
        if workers > 1:
            # uvicorn's supervisor looks at its signals every 0.5 s, then passes SIGTERM on.
            await asyncio.sleep(SUPERVISOR_LAG_S)

        # The drain: the port still serves new connections, readiness says go elsewhere.
        during_drain: list[tuple[httpx.Response, httpx.Response]] = []
        while time.monotonic() < sigterm_at + DRAIN_S - 0.5:
            ready = await get_on_a_new_connection(base, READY)
            live = await get_on_a_new_connection(base, LIVE)
            during_drain.append((ready, live))
            await asyncio.sleep(0.1)
        # Then the port closes (one process: with workers, uvicorn's supervisor holds the
        # socket until they have all ended).
        refused_at = await first_refusal(port, sigterm_at + DRAIN_S + 5) if workers == 1 else None
        answers = await asyncio.gather(*in_flight)
        answered_at = time.monotonic()
        output, _ = server.communicate(timeout=30)

    assert [answer.status_code for answer in answers] == [201] * IN_FLIGHT, output
    assert len(during_drain) >= 4
    for ready, live in during_drain:
        assert ready.status_code == 503
        assert ready.json()["detail"] == "shutting down: send new requests elsewhere"
        assert live.status_code == 200
        # Keep-alive clients are told to take their next request elsewhere.
        assert ready.headers["connection"] == live.headers["connection"] == "close"
    if refused_at is not None:
        assert sigterm_at + DRAIN_S <= refused_at < answered_at
    # `phresh serve` ends as SIGTERM would end it; uvicorn's supervisor ends with 0.
    assert server.returncode == (128 + signal.SIGTERM if workers == 1 else 0), output


async def test_a_request_still_in_flight_after_the_grace_is_cut_short(data_dir: Path) -> None:
    grace_s = 1
    with served(
        data_dir,
        PHRESH_SHUTDOWN_GRACE_S=str(grace_s),
        PHRESH_RATE_LIMIT_REGISTER_PER_ADDRESS="1000/hour",
    ) as (server, port):
        # Its body takes 6 s to come.
        request = asyncio.create_task(
            register_slowly(f"http://127.0.0.1:{port}", "cut_short", interval_s=0.5)
        )
        await asyncio.sleep(0.6)
        server.send_signal(signal.SIGTERM)
        sigterm_at = time.monotonic()
        [outcome] = await asyncio.gather(request, return_exceptions=True)
        ended_at = time.monotonic()
        output, _ = server.communicate(timeout=30)

    # uvicorn cancels it: a 500 if nothing was answered yet, or the connection closes.
    if isinstance(outcome, httpx.Response):
        assert outcome.status_code == 500, output
    else:
        assert isinstance(outcome, httpx.TransportError), output
    assert ended_at - sigterm_at < grace_s + 2
    assert server.returncode == 128 + signal.SIGTERM


async def test_a_second_sigterm_ends_the_drain(data_dir: Path) -> None:
    with served(data_dir, PHRESH_SHUTDOWN_DRAIN_S="60") as (server, port):
        base = f"http://127.0.0.1:{port}"
        server.send_signal(signal.SIGTERM)
        ready = await get_on_a_new_connection(base, READY)
        server.send_signal(signal.SIGTERM)
        try:
            server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail("still draining after a second SIGTERM")

    assert ready.status_code == 503
    assert server.returncode == 128 + signal.SIGTERM


async def test_ready_is_503_once_shutdown_began(app: FastAPI, client: httpx.AsyncClient) -> None:
    before = await client.get("/health/ready")
    app.state.shutdown.began = True
    after = await client.get("/health/ready")

    assert before.status_code == 200
    assert after.status_code == 503
    assert after.headers["content-type"] == "application/problem+json"
    assert after.json()["type"] == "urn:phresh:problem:not-ready"
    assert after.json()["detail"] == "shutting down: send new requests elsewhere"


async def answer_ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-app", b"1")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def response_start(app: DrainOnSigterm) -> Message:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app({"type": "http", "method": "GET", "path": "/", "headers": []}, receive, send)
    return sent[0]


async def test_responses_say_connection_close_once_shutdown_began() -> None:
    shutdown = Shutdown()
    app = DrainOnSigterm(answer_ok, shutdown=shutdown, drain_s=0)

    before = await response_start(app)
    shutdown.began = True
    after = await response_start(app)

    assert before["headers"] == [(b"x-app", b"1")]
    assert after["headers"] == [(b"x-app", b"1"), (b"connection", b"close")]

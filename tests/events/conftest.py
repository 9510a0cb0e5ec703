"""Real servers for the stream: uvicorn in this event loop, on a port of its own.

httpx's ASGITransport hands a response over only once its body is complete, which an event
stream never is; a socket does, message by message. Each served app has its own pool and
listener, as a server process has; the rows a test commits are truncated afterwards
(``live_pool``).
"""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from phresh.config import Settings
from phresh.db import Pool
from phresh.events.listener import EventListener
from phresh.main import create_app
from tests.fixtures.database import make_settings

# A stream's wait for a message, at most: everything here comes in milliseconds.
MESSAGE_TIMEOUT_S = 5.0


@pytest.fixture(scope="session")
def stream_settings(database_url: str) -> Settings:
    """Settings with a short keepalive, so that a test sees one without waiting 15 s."""
    return make_settings(database_url, events_keepalive_s=0.3)


@dataclass
class Served:
    """An app served over TCP: its API's base URL, and the app (its state) itself."""

    app: FastAPI
    base_url: str

    @property
    def listener(self) -> EventListener:
        listener: EventListener = self.app.state.event_listener
        return listener

    @property
    def pool(self) -> Pool:
        pool: Pool = self.app.state.database.pool
        return pool


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[Served]:
    """A new app, served by uvicorn (lifespan included) on a free port until the block ends."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        access_log=False,
        # A stream a failed test left open ends the server within a second anyway.
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Served(app, f"http://127.0.0.1:{port}/api/v1")
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def served(stream_settings: Settings, live_pool: Pool) -> AsyncIterator[Served]:
    async with serve(stream_settings) as served:
        yield served


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=MESSAGE_TIMEOUT_S) as client:
        yield client


@dataclass
class Message:
    """One message of an event stream: its fields, and its comment lines."""

    fields: dict[str, str] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.fields["data"])
        return data


class StreamReader:
    """Reads an open ``text/event-stream`` response message by message."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def message(self, timeout_s: float = MESSAGE_TIMEOUT_S) -> Message:
        message = Message()
        async with asyncio.timeout(timeout_s):
            async for line in self._lines:
                if line == "":
                    if message.fields or message.comments:
                        return message
                    continue
                name, _, value = line.partition(":")
                if name == "":
                    message.comments.append(value.strip())
                else:
                    message.fields[name] = value.removeprefix(" ")
        msg = "the stream ended"
        raise EOFError(msg)

    async def event(self, timeout_s: float = MESSAGE_TIMEOUT_S) -> Message:
        """The next message that is an event (keepalives skipped)."""
        async with asyncio.timeout(timeout_s):
            while True:
                message = await self.message()
                if "data" in message.fields:
                    return message

    async def end(self, timeout_s: float = MESSAGE_TIMEOUT_S) -> list[Message]:
        """Every message until the server ends the stream."""
        messages = []
        async with asyncio.timeout(timeout_s):
            while True:
                try:
                    messages.append(await self.message())
                except EOFError:
                    return messages


@asynccontextmanager
async def open_stream(
    http: httpx.AsyncClient, served: Served, headers: dict[str, str]
) -> AsyncIterator[StreamReader]:
    """The caller's stream on ``served``, past its opening ``retry:`` message."""
    async with http.stream("GET", f"{served.base_url}/events", headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        reader = StreamReader(response)
        assert (await reader.message()).fields == {"retry": "3000"}
        yield reader


async def wait_until(condition: Any, timeout_s: float = MESSAGE_TIMEOUT_S) -> None:
    """Until ``condition()`` is true (polled: for what has no event of its own to await)."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - nothing to await: a state to poll
            await asyncio.sleep(0.01)

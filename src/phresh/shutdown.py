"""Graceful shutdown of a served process: on SIGTERM, drain first, then let uvicorn stop.

uvicorn, told SIGTERM, stops accepting connections at once, waits for the requests in flight
(up to its ``timeout_graceful_shutdown``) and runs the app's shutdown (the pool closes). A load
balancer, though, keeps sending new requests to the process until its health checks have
failed a few times: those would find the port closed. So each served process first drains:
readiness answers 503 and every response says ``Connection: close`` (a client that keeps its
connections open opens its next one through the balancer), while the port still accepts and
serves, for PHRESH_SHUTDOWN_DRAIN_S; only then is uvicorn's own SIGTERM handler called.

It is done per process, from the app's lifespan, where uvicorn's ``Server`` has already set
its handler (``Server.handle_exit``) for SIGTERM: so it works the same under
``PHRESH_WORKERS`` > 1, where uvicorn's supervisor passes SIGTERM on to each worker (within
0.5 s: it looks at its signals twice a second), each running a Server of its own.
"""

import asyncio
import logging
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

CONNECTION_CLOSE = (b"connection", b"close")

SignalHandler = Callable[[int, FrameType | None], Any]


class Shutdown:
    """Whether this process has begun to shut down; readiness answers 503 from then on."""

    def __init__(self) -> None:
        self.began = False


class DrainOnSigterm:
    """Pure ASGI middleware of the served app: the drain on SIGTERM, and ``Connection: close``
    on every response once it began."""

    def __init__(self, app: ASGIApp, *, shutdown: Shutdown, drain_s: float) -> None:
        self.app = app
        self.shutdown = shutdown
        self.drain_s = drain_s
        # uvicorn's handler, called when the drain is over.
        self.server_handler: SignalHandler | None = None
        self.drain_timer: asyncio.TimerHandle | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.shutdown.began:
            await self.app(scope, receive, closing(send))
        elif scope["type"] == "lifespan":
            try:
                await self.app(scope, receive, self.watching_startup(send))
            finally:
                self.stop_listening()
        else:
            await self.app(scope, receive, send)

    def watching_startup(self, send: Send) -> Send:
        async def send_watched(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                self.listen()
            elif message["type"] == "lifespan.shutdown.complete":
                self.stop_listening()
            await send(message)

        return send_watched

    def listen(self) -> None:
        handler = signal.getsignal(signal.SIGTERM)
        # Under uvicorn's Server this is its handle_exit; an app run some other way has none
        # to hand over to, and keeps whatever SIGTERM does there.
        if not callable(handler):
            return
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.drain)
        except (ValueError, RuntimeError):
            # Not the main thread: signals cannot be handled here.
            return
        self.server_handler = handler

    def stop_listening(self) -> None:
        handler, self.server_handler = self.server_handler, None
        if handler is None:
            return
        if self.drain_timer is not None:
            self.drain_timer.cancel()
        asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
        # remove_signal_handler leaves the default action (death, with no clean-up); uvicorn
        # puts its own first handler back when its server returns.
        signal.signal(signal.SIGTERM, handler)

    def drain(self) -> None:
        if self.shutdown.began:
            # A second SIGTERM: stop draining and shut down now.
            self.stop_serving()
            return
        self.shutdown.began = True
        logger.info(
            "SIGTERM: readiness answers 503; the server stops accepting in %g s", self.drain_s
        )
        self.drain_timer = asyncio.get_running_loop().call_later(self.drain_s, self.stop_serving)

    def stop_serving(self) -> None:
        if self.drain_timer is not None:
            self.drain_timer.cancel()
            self.drain_timer = None
        if self.server_handler is not None:
            self.server_handler(signal.SIGTERM, None)


def closing(send: Send) -> Send:
    """``send``, with ``Connection: close`` added to the response: uvicorn then closes the
    connection once the response is sent, and the client opens its next one elsewhere."""

    async def send_closing(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            if CONNECTION_CLOSE not in headers:
                message = {**message, "headers": [*headers, CONNECTION_CLOSE]}
        await send(message)

    return send_closing

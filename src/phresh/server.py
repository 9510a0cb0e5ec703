"""How ``phresh serve`` reads requests: uvicorn's httptools protocol, with a cap on the size
of a request's head (its request line and headers) and on the time the head takes to arrive.

uvicorn has neither for httptools. Its h11 protocol caps the head
(``h11_max_incomplete_event_size``) but is slower, and neither has a time limit: the
keep-alive timeout covers the quiet time between requests, and any byte that arrives cancels
it. So a 16 MB header was read and held whole, and a client sending a header byte every few
seconds kept its connection for as long as it liked. uvicorn takes a protocol class for its
``http`` option; this one is its httptools protocol, counting the bytes of each head before
the parser sees them and timing it; the parser's callbacks tell where each head ends.
"""

import asyncio
import json
import logging
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from phresh.config import get_settings
from phresh.errors import PROBLEM_JSON, AppError, problem_type

logger = logging.getLogger(__name__)


class HeadTooLarge(AppError):
    status_code = 431
    slug = "headers-too-large"
    title = "Request headers too large"


class HeadTimeout(AppError):
    status_code = 408
    slug = "request-timeout"
    title = "Request timeout"


def problem_response(error: AppError) -> bytes:
    """The whole HTTP response for ``error``, written before the connection is closed."""
    body = json.dumps(
        {
            "type": problem_type(error.slug),
            "title": error.title,
            "status": error.status_code,
            "detail": error.detail,
        }
    ).encode()
    head = (
        f"HTTP/1.1 {error.status_code} {HTTPStatus(error.status_code).phrase}\r\n"
        f"content-type: {PROBLEM_JSON}\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


class HeadGuardProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request head over PHRESH_MAX_HEADER_BYTES
    (431) or not all received within PHRESH_HEADER_TIMEOUT_S (408), and closing its
    connection.

    A head is timed from the connection's start, or from its first byte after the previous
    request was received whole; it ends when the parser has read all its headers. Its bytes
    are counted as they arrive, before the parser sees them: a read that would take the head
    past the cap is refused unparsed, so the app never runs for it and no more than the cap
    is held. (A head that begins in the read which ends the previous request is counted from
    the next read: with pipelining, one read more may pass.)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.head_limit = settings.max_header_bytes
        self.head_timeout_s = settings.header_timeout_s
        # Whether the next bytes belong to a request's head, and how many of them came.
        self.head_pending = True
        self.head_bytes = 0
        # The last bytes of the head's previous read: its blank line may straddle two reads.
        self.head_tail = b""
        self.head_timer: asyncio.TimerHandle | None = None
        # Requests whose head was read and whose response is not all sent (pipelining): no
        # refusal may be written into the middle of one.
        self.responses_owed = 0
        self.head_transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_transport = transport
        self.start_head_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop_head_clock()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.head_pending:
            if self.head_timer is None:
                self.start_head_clock()
            if self.head_bytes + len(data) > self.head_limit and not self.head_ends_in(data):
                # Refused before the parser sees it: the app never runs for this request.
                self.refuse(
                    HeadTooLarge(f"The request line and headers are over {self.head_limit} bytes.")
                )
                return
            self.head_bytes += len(data)
            self.head_tail = data[-3:]
        super().data_received(data)

    def head_ends_in(self, data: bytes) -> bool:
        """Whether the head ends within the cap in ``data``: its blank line is there (or
        straddles the previous read), no further than the cap allows."""
        window = self.head_tail + data
        # The whole blank line must lie within the first `room` bytes of the window.
        room = self.head_limit - self.head_bytes + len(self.head_tail)
        return window.find(b"\r\n\r\n", 0, room) != -1

    # The parser's callbacks.
    def on_message_begin(self) -> None:
        # The first byte of a request that came in the same read as the end of the previous
        # one: data_received saw no head pending then.
        if self.head_timer is None:
            self.start_head_clock()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self.head_pending = False
        self.stop_head_clock()
        self.responses_owed += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # Whatever comes next is the next request's head; its clock starts with its first
        # byte, not now: the server may take long to answer this one.
        self.head_pending = True
        self.head_bytes = 0
        self.head_tail = b""

    def on_response_complete(self) -> None:
        self.responses_owed -= 1
        super().on_response_complete()

    def start_head_clock(self) -> None:
        loop = asyncio.get_running_loop()
        self.head_timer = loop.call_later(self.head_timeout_s, self.head_timed_out)

    def stop_head_clock(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def head_timed_out(self) -> None:
        self.head_timer = None
        if self.head_pending:
            self.refuse(
                HeadTimeout(f"The request line and headers took over {self.head_timeout_s:g} s.")
            )

    def refuse(self, error: AppError) -> None:
        self.stop_head_clock()
        transport = self.head_transport
        if transport is None or transport.is_closing():
            return
        logger.info(
            "%s from %s: connection closed", error.title, transport.get_extra_info("peername")
        )
        if self.responses_owed == 0:
            transport.write(problem_response(error))
        transport.close()

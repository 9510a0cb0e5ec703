"""The request deadline: no request waits longer than ``PHRESH_REQUEST_DEADLINE_S`` for its
answer to start.

Whatever it waits on (a frozen database server that neither answers nor closes, a pool
whose connections are all held, a password hash in a long queue), the request is cancelled
when the deadline passes and answers 503 with ``Retry-After``. The cancellation unwinds the
request like any error: its transaction is not committed, and a connection cancelled in the
middle of a statement is closed rather than handed back (``phresh.db``), so the pool stays
healthy. Once the answer has started (the headers are sent: a stream of events, a download)
the deadline no longer applies.

Pure ASGI: one timer per request, moved out of the way when the answer starts.
"""

import asyncio

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phresh.errors import ServiceUnavailable, problem_response

DETAIL = "The request took longer than this server allows; retry shortly."


class RequestDeadline:
    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        deadline = asyncio.timeout(self.seconds)

        async def send_started(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                # The answer has begun: it runs as long as it needs (a stream of events).
                deadline.reschedule(None)
            await send(message)

        try:
            async with deadline:
                await self.app(scope, receive, send_started)
        except TimeoutError:
            # A TimeoutError of the request's own (not the deadline's) is not ours to answer.
            if not deadline.expired() or started:
                raise
            response = problem_response(
                Request(scope),
                status=ServiceUnavailable.status_code,
                slug=ServiceUnavailable.slug,
                title=ServiceUnavailable.title,
                detail=DETAIL,
                headers={"Retry-After": "1"},
            )
            await response(scope, receive, send)

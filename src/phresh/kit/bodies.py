"""Request bodies: none is read for an endpoint that needs a token when the request has none,
and none is taken past ``max_bytes``.

Pure ASGI, in front of the routes: FastAPI reads and parses a body before it runs any
dependency, so without this a 100 MB body sent with no token would be read, parsed and held
before its 401. Here such a request is answered 401 at once; any other body is refused with a
413 as soon as its Content-Length says it is too large, or, sent without one (chunked), as
soon as what arrived passes the cap: the endpoint then sees the client go away, and whatever
it answers is replaced by the 413.
"""

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phresh.errors import AppError, BodyTooLarge, handle_app_error


def has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return bool(value != b"0")
        if name == b"transfer-encoding":
            return True
    return False


def declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def has_token(scope: Scope) -> bool:
    return any(name == b"authorization" and value for name, value in scope["headers"])


class BodyGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        fastapi: FastAPI,
        max_bytes: int,
        needs_token: Callable[[APIRoute], bool],
        missing_token: Callable[[], AppError],
    ) -> None:
        self.app = app
        self.fastapi = fastapi
        self.max_bytes = max_bytes
        self.needs_token = needs_token
        self.missing_token = missing_token
        # Read off the app's routes at the first request with a body: they are all in by then.
        self.token_routes: list[RouteContext] | None = None

    def wants_token(self, scope: Scope) -> bool:
        if self.token_routes is None:
            self.token_routes = [
                context
                for context in iter_route_contexts(self.fastapi.routes)
                if isinstance(context.original_route, APIRoute)
                and self.needs_token(context.original_route)
            ]
        return any(context.matches(scope)[0] == Match.FULL for context in self.token_routes)

    async def refuse(self, scope: Scope, receive: Receive, send: Send, error: AppError) -> None:
        response: Response = await handle_app_error(Request(scope), error)
        await response(scope, receive, send)

    def too_large(self) -> BodyTooLarge:
        return BodyTooLarge(f"The request body is over {self.max_bytes} bytes.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not has_body(scope):
            await self.app(scope, receive, send)
            return
        if not has_token(scope) and self.wants_token(scope):
            await self.refuse(scope, receive, send, self.missing_token())
            return
        length = declared_length(scope)
        if length is not None and length > self.max_bytes:
            await self.refuse(scope, receive, send, self.too_large())
            return

        received = 0
        over = False
        answered = False

        async def limited_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if not over:
                await send(message)
            elif not answered and message["type"] == "http.response.start":
                answered = True
                await self.refuse(scope, receive, send, self.too_large())

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            # An endpoint that took the cut-off body as a failure: the 413 is the answer.
            if not over:
                raise
            if not answered:
                await self.refuse(scope, receive, send, self.too_large())

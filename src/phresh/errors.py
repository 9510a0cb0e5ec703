"""Errors carry their HTTP status; one set of handlers renders RFC 9457 problem details."""

import logging
import secrets
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phresh import metrics
from phresh.kit.routes import route_template
from phresh.logs import describe_error
from phresh.metrics import UnavailableReason

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"


def problem_type(slug: str) -> str:
    return f"urn:phresh:problem:{slug}"


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error response of this API is shaped."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class AppError(Exception):
    """Base of every domain error: subclasses set the status, slug and title."""

    status_code: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    # True: what the request wrote before failing stands (the transaction commits, then the
    # error is answered), as when a replayed refresh token ends its session.
    commits: ClassVar[bool] = False

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers

    @classmethod
    def example(cls) -> dict[str, Any]:
        """A problem document of this kind, for the OpenAPI document."""
        return {
            "type": problem_type(cls.slug),
            "title": cls.title,
            "status": cls.status_code,
            "detail": f"{cls.title}.",
        }


class NotFound(AppError):
    status_code = 404
    slug = "not-found"
    title = "Not found"


class Forbidden(AppError):
    status_code = 403
    slug = "forbidden"
    title = "Forbidden"


class Conflict(AppError):
    status_code = 409
    slug = "conflict"
    title = "Conflict"


class Unauthorized(AppError):
    status_code = 401
    slug = "unauthorized"
    title = "Not authenticated"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class BadRequest(AppError):
    status_code = 400
    slug = "bad-request"
    title = "Bad request"


class BodyTooLarge(AppError):
    """What the body guard answers for a body over PHRESH_MAX_BODY_BYTES (kit/bodies.py)."""

    status_code = 413
    slug = "body-too-large"
    title = "Request body too large"


class InvalidInput(AppError):
    """What ``handle_validation_error`` answers: a field, parameter or body is not valid."""

    status_code = 422
    slug = "validation"
    title = "Invalid input"

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {
            **super().example(),
            "detail": "Check these fields: price.",
            "errors": [
                {
                    "field": "price",
                    "message": "Input should be greater than or equal to 0.01",
                    "type": "greater_than_equal",
                }
            ],
        }


class TooManyRequests(AppError):
    status_code = 429
    slug = "rate-limited"
    title = "Too many requests"


class ServiceUnavailable(AppError):
    status_code = 503
    slug = "unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": "1"})


def error_responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry of an endpoint: each error it can answer, as problem details.

    Errors that share a status share its response, which lists each one's problem type.
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        document_problem(responses.setdefault(error.status_code, {}), error)
    return responses


def document_problem(response: dict[str, Any], error: type[AppError]) -> None:
    """Add ``error`` to an OpenAPI response object: ``application/problem+json`` with the
    ``Problem`` schema, the problem types of this status as an enum, one example for each."""
    media = response.setdefault("content", {}).setdefault(PROBLEM_JSON, {})
    schema = media.setdefault(
        "schema",
        {"allOf": [{"$ref": PROBLEM_SCHEMA_REF}], "properties": {"type": {"enum": []}}},
    )
    types: list[str] = schema["properties"]["type"]["enum"]
    if problem_type(error.slug) in types:
        return
    types.append(problem_type(error.slug))
    examples: dict[str, Any] = media.setdefault("examples", {})
    examples[error.slug] = {"summary": error.title, "value": error.example()}
    response["description"] = "; ".join(
        f"{example['summary']} (`{slug}`)" for slug, example in examples.items()
    )


def _request_id(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


def problem_response(
    request: Request,
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(
        type=problem_type(slug),
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        request_id=_request_id(request),
        errors=errors,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


async def handle_app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        request,
        status=exc.status_code,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers,
    )


def _field_name(loc: tuple[Any, ...], error_type: str) -> str:
    # ("body", "price") -> "price"; ("query", "limit") -> "limit"; nested -> "a.b.0"
    if error_type == "json_invalid":
        # The location is a character offset into the body, not a field.
        return "body"
    parts = [str(part) for part in loc]
    if len(parts) > 1 and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _message(error: Mapping[str, Any]) -> str:
    # A ValueError raised by a validator reads "Value error, <message>": keep the message.
    # The message never echoes the input: a rejected password stays unlogged.
    raised = error.get("ctx", {}).get("error")
    if error.get("type") in {"value_error", "assertion_error"} and isinstance(raised, Exception):
        return str(raised)
    return str(error.get("msg", "invalid value"))


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(
            field=_field_name(tuple(error.get("loc", ())), str(error.get("type", ""))),
            message=_message(error),
            type=str(error.get("type", "value_error")),
        )
        for error in exc.errors()
    ]
    fields = ", ".join(dict.fromkeys(error.field for error in errors))
    return problem_response(
        request,
        status=InvalidInput.status_code,
        slug=InvalidInput.slug,
        title=InvalidInput.title,
        detail=f"Check these fields: {fields}.",
        errors=errors,
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path (a path may have several routes)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        match, _ = route.matches(request.scope)
        if match != Match.NONE and route.methods:
            methods |= route.methods
    return sorted(methods)


async def handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = HTTPStatus(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else status.description
    if exc.status_code == 404 and detail == status.phrase:
        detail = f"No route matches {request.method} {request.url.path}."
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # The route that answered knows only its own methods; the path may have others.
        allowed = allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        if detail == status.phrase:
            detail = (
                f"{request.method} is not allowed on {request.url.path}; "
                f"allowed: {', '.join(allowed)}."
            )
    return problem_response(
        request,
        status=exc.status_code,
        slug=status.phrase.lower().replace(" ", "-"),
        title=status.phrase,
        detail=detail,
        headers=headers,
    )


async def handle_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Connection refused, pool exhausted, statement or lock timeout: the client may retry.
    metrics.unavailable(unavailable_reason(exc))
    # Its type and SQLSTATE say which: no call path, this is no bug.
    logger.warning(
        "database unavailable",
        extra={"request_id": _request_id(request), **describe_error(exc, frames=False)},
    )
    return problem_response(
        request,
        status=ServiceUnavailable.status_code,
        slug=ServiceUnavailable.slug,
        title=ServiceUnavailable.title,
        detail="The database is unavailable or overloaded; retry shortly.",
        headers={"Retry-After": "1"},
    )


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # A 500 is a bug, logged once: its type, chain and call path (and SQLSTATE), never its
    # message or locals, which may carry secrets or user data; the request id ties the
    # record to the response and to the request's line.
    logger.error(
        "unhandled error",
        extra={
            "request_id": _request_id(request),
            "method": request.method,
            "route": route_template(request.scope),
            **describe_error(exc),
        },
    )
    return problem_response(
        request,
        status=500,
        slug="internal",
        title="Internal server error",
        detail="Something went wrong on our side. Quote the request id when reporting it.",
    )


# SQLSTATEs after which the same request may well succeed a moment later, each with the
# reason /metrics counts its 503 under: 57014 query_canceled (statement_timeout), 55P03
# lock_not_available (lock_timeout), 40001 and 40P01 (serialization failure, deadlock), class
# 08 connection exceptions, class 53 insufficient resources (too many connections), 57P0x
# server shutting down or starting.
RETRYABLE_SQLSTATES: dict[str, UnavailableReason] = {
    "57014": "statement_timeout",
    "55P03": "lock_timeout",
    "40001": "conflict",
    "40P01": "conflict",
    # read_only_sql_transaction: the primary's address leads to a standby (a failover under
    # way); phresh.db.Database.acquire renews the pool so that the retry finds the new one.
    "25006": "read_only",
}
RETRYABLE_SQLSTATE_CLASSES: dict[str, UnavailableReason] = {
    "08": "connection",
    "53": "overloaded",
    "57P": "shutdown",
}

# What a database that is down, unreachable, overloaded or refusing raises: the socket's own
# errors (TimeoutError among them), PostgreSQL's, and asyncpg's about the connection.
DATABASE_FAILURES = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)

# 22021 character_not_in_repertoire (a NUL byte), 22P05 untranslatable_character: text that
# PostgreSQL cannot store. Validation refuses it first; this is the net under that.
UNSTORABLE_TEXT = frozenset({"22021", "22P05"})


def retryable_reason(sqlstate: str | None) -> UnavailableReason | None:
    """Why a request that failed with ``sqlstate`` may be retried; None if it may not."""
    if sqlstate is None:
        return None
    if sqlstate in RETRYABLE_SQLSTATES:
        return RETRYABLE_SQLSTATES[sqlstate]
    for prefix, reason in RETRYABLE_SQLSTATE_CLASSES.items():
        if sqlstate.startswith(prefix):
            return reason
    return None


def unavailable_reason(exc: Exception) -> UnavailableReason:
    """Why ``handle_database_unavailable`` answers 503 for ``exc``: a retryable SQLSTATE, no
    connection or answer in time (TimeoutError), or the socket's own error."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    sqlstate = exc.sqlstate if isinstance(exc, asyncpg.PostgresError) else None
    return retryable_reason(sqlstate) or "connection"


async def handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    """Every error PostgreSQL (or asyncpg on its behalf) reports, by SQLSTATE.

    A connection that died (terminated backend, restarted server) is asyncpg's
    ConnectionDoesNotExistError, SQLSTATE 08003: the pool throws that connection away when
    it comes back, so the next request gets a live one.
    """
    assert isinstance(exc, asyncpg.PostgresError)
    if retryable_reason(exc.sqlstate) is not None:
        return await handle_database_unavailable(request, exc)
    if exc.sqlstate in UNSTORABLE_TEXT:
        return problem_response(
            request,
            status=InvalidInput.status_code,
            slug=InvalidInput.slug,
            title=InvalidInput.title,
            detail="The request contains characters that cannot be stored (such as NUL).",
        )
    return await handle_unexpected(request, exc)


class RequestIdMiddleware:
    """Tags each request with an id (``X-Request-ID``) and turns an escaped bug into a 500.

    Pure ASGI, so it costs next to nothing per request. Starlette's own last-resort handler
    re-raises after answering, and the server then logs a full traceback; here the bug is
    logged once, as one line, and the client gets problem details.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if started:
                raise
            response = await handle_unexpected(Request(scope), exc)
            await response(scope, receive, send_with_id)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            # Only a short, plain token is echoed back into headers and logs.
            if (
                0 < len(text) <= 64
                and text.isascii()
                and all(c.isalnum() or c in "-_." for c in text)
            ):
                return text
    return None


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, handle_app_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    # asyncpg raises the socket's own error when it cannot connect (ConnectionRefusedError)
    # or a connection broke (ConnectionResetError), and TimeoutError (an OSError too) when
    # no pooled connection came free in time; the database is this service's only peer.
    app.add_exception_handler(OSError, handle_database_unavailable)
    app.add_exception_handler(asyncpg.PostgresError, handle_database_error)
    app.add_middleware(RequestIdMiddleware)

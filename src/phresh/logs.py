"""Structured logs: one line per request, errors told by their type and call path.

Every record is one line on stderr: a JSON object (``PHRESH_LOG_FORMAT=json``, the default in
production) or readable text (elsewhere). Each carries its time (UTC), level, logger and
message, the fields given as ``extra=``, and, when logged while a request runs, that
request's id. uvicorn's own records (start, stop, its errors) come out the same way; its
access log is off, replaced by the line ``RequestLog`` writes once a request is answered
(logger ``phresh.access``): method, route template, status, duration, user id when known,
client address and request id. Never its query string, headers, cookies or body.

An exception is logged as its type, the types of the exceptions it was raised from or
while handling (``__cause__``/``__context__``) and its call path, one ``file:line in
function`` per frame (``describe_error``): never its message, locals or source lines, which
may carry passwords, tokens or someone's data. A PostgreSQL error adds its SQLSTATE, the
class of that state, and the names of the constraint, table and column it concerns.
"""

import json
import logging
import sys
import time
import traceback
from collections.abc import Iterator
from contextvars import ContextVar
from functools import lru_cache
from time import perf_counter
from types import TracebackType
from typing import Any

import asyncpg
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phresh.config import Settings
from phresh.kit.routes import route_template

ACCESS_LOGGER = "phresh.access"
access_logger = logging.getLogger(ACCESS_LOGGER)

# The ASGI scope's "state" of the request being served (where the request-id middleware puts
# the id and the auth dependency the user's): what a record logged during the request, or a
# slow statement's log (phresh.db), reads the request id from. Set by RequestLog.
request_state: ContextVar[dict[str, Any] | None] = ContextVar("request_state", default=None)

# What a LogRecord holds of its own; anything else on it was given as ``extra=``. uvicorn's
# ``color_message`` repeats the message with terminal colours.
RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
# The keys every line starts with: a field of the same name cannot replace them.
BASE_KEYS = frozenset({"time", "level", "logger", "message"})
# Read from the request line's message in text mode, so not repeated after it.
REQUEST_SUMMARY = frozenset({"method", "route", "path", "status", "duration_ms"})
# An unmatched path is logged (its query string never is), up to this length.
MAX_PATH_LENGTH = 256
# How many chained exceptions' types an error names.
MAX_CAUSES = 8


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    state = request_state.get()
    if state is None:
        return None
    value = state.get("request_id")
    return value if isinstance(value, str) else None


# --- errors, told without their messages ---------------------------------------------------


def describe_error(error: BaseException, *, frames: bool = True) -> dict[str, Any]:
    """The fields that tell an error: its type, the types chained to it, its call path
    (outermost first) and, for a PostgreSQL error in the chain, its SQLSTATE."""
    fields: dict[str, Any] = {"error": type_name(type(error))}
    chain = list(_chain(error))
    if chain:
        fields["causes"] = [type_name(type(link)) for link in chain]
    if frames:
        fields["frames"] = call_path(error.__traceback__)
    database_error = next(
        (link for link in (error, *chain) if isinstance(link, asyncpg.PostgresError)), None
    )
    if database_error is not None:
        fields.update(database_fields(database_error))
    return fields


def database_fields(error: asyncpg.PostgresError) -> dict[str, str]:
    """SQLSTATE (23505), the class of that state as asyncpg names it
    (IntegrityConstraintViolationError), and the schema objects the server named: never the
    message or its detail, which quote rows."""
    fields: dict[str, str] = {}
    sqlstate = error.sqlstate
    if isinstance(sqlstate, str):
        fields["sqlstate"] = sqlstate
        class_state = sqlstate[:2] + "000"
        for kind in type(error).__mro__:
            if getattr(kind, "sqlstate", None) == class_state:
                fields["sqlstate_class"] = kind.__name__
                break
    for name, attribute in (
        ("constraint", "constraint_name"),
        ("table", "table_name"),
        ("column", "column_name"),
    ):
        value = getattr(error, attribute, None)
        if isinstance(value, str):
            fields[name] = value
    return fields


def type_name(kind: type[BaseException]) -> str:
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def call_path(trace: TracebackType | None) -> list[str]:
    """One ``file:line in function`` per frame, file names relative to their sys.path entry:
    no source lines (read from disk) and no locals."""
    return [
        f"{short_path(frame.f_code.co_filename)}:{line} in {frame.f_code.co_qualname}"
        for frame, line in traceback.walk_tb(trace)
    ]


@lru_cache(maxsize=512)
def short_path(filename: str) -> str:
    """``.../site-packages/starlette/routing.py`` -> ``starlette/routing.py``."""
    roots = [entry.rstrip("/") + "/" for entry in sys.path if entry]
    root = max((r for r in roots if filename.startswith(r)), key=len, default="")
    return filename[len(root) :]


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen = {id(error)}
    link = _next_link(error)
    while link is not None and id(link) not in seen and len(seen) <= MAX_CAUSES:
        seen.add(id(link))
        yield link
        link = _next_link(link)


def _next_link(error: BaseException) -> BaseException | None:
    if error.__cause__ is not None:
        return error.__cause__
    return None if error.__suppress_context__ else error.__context__


# --- formatters -----------------------------------------------------------------------------


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """A record's own fields (its ``extra=``), the request id of the request it was logged in,
    and its exception (``exc_info``) told by ``describe_error``."""
    fields = {
        key: value
        for key, value in vars(record).items()
        if key not in RECORD_ATTRIBUTES and key not in BASE_KEYS and value is not None
    }
    if "request_id" not in fields and (request_id := current_request_id()) is not None:
        fields["request_id"] = request_id
    if record.exc_info and record.exc_info[1] is not None and "error" not in fields:
        fields.update(describe_error(record.exc_info[1]))
    return fields


def timestamp(record: logging.LogRecord) -> str:
    """ISO 8601 in UTC, to the millisecond: 2026-11-24T09:15:02.042Z."""
    return f"{utc_second(int(record.created))}.{int(record.msecs):03d}Z"


@lru_cache(maxsize=4)
def utc_second(second: int) -> str:
    # Records come many to a second: each second is formatted once.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(record_fields(record))
        return json.dumps(entry, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger>: <message> key=value ...`` on one line; a value holding a
    space, a quote, an equals sign or a control character is quoted as JSON quotes it."""

    def format(self, record: logging.LogRecord) -> str:
        fields = record_fields(record)
        if record.name == ACCESS_LOGGER:
            fields = {k: v for k, v in fields.items() if k not in REQUEST_SUMMARY}
        # A message is one line: one that holds a line break cannot fake the next record.
        message = record.getMessage().replace("\r", "\\r").replace("\n", "\\n")
        pairs = "".join(f" {key}={text_value(value)}" for key, value in fields.items())
        return f"{timestamp(record)} {record.levelname:<7} {record.name}: {message}{pairs}"


def text_value(value: object) -> str:
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str)
    text = str(value)
    if text and text.isprintable() and not any(c in text for c in ' "='):
        return text
    return json.dumps(text)


def log_config(settings: Settings) -> dict[str, Any]:
    """``logging.config.dictConfig`` for ``phresh serve`` (uvicorn applies it in each worker)
    and ``phresh worker``: every logger's records, uvicorn's included, as one format on
    stderr; phresh's and uvicorn's from PHRESH_LOG_LEVEL, other libraries' from WARNING."""
    formatter = "JsonFormatter" if settings.log_format_or_default() == "json" else "TextFormatter"
    level = settings.log_level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"phresh": {"()": f"{__name__}.{formatter}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "phresh",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {"phresh": {"level": level}, "uvicorn": {"level": level}},
        "root": {"level": "WARNING", "handlers": ["stderr"]},
    }


# --- the request line ------------------------------------------------------------------------


class RequestLog:
    """Logs each HTTP request once it is answered, with the status the client got, and makes
    the request's state readable to what logs during it (``request_state``).

    Pure ASGI, outside the request-id middleware and CORS (main.py), so it sees the answers
    of both: their 500s and problem documents, preflights. The record is built only when it
    will be written, and formatted (by the handler) only then.
    """

    def __init__(self, app: ASGIApp, *, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        token = request_state.set(state)
        started = perf_counter()
        status: int | None = None

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # Also when it failed or was cancelled before an answer: then with no status.
            if self.enabled and access_logger.isEnabledFor(logging.INFO):
                log_request(scope, state, status, perf_counter() - started)
            request_state.reset(token)


def log_request(scope: Scope, state: dict[str, Any], status: int | None, duration_s: float) -> None:
    route = route_template(scope)
    client = scope.get("client")
    duration_ms = round(duration_s * 1000, 2)
    fields: dict[str, Any] = {
        "request_id": state.get("request_id"),
        "method": scope["method"],
        "route": route,
        "status": status,
        "duration_ms": duration_ms,
        "user_id": state.get("user_id"),
        "client": client[0] if client else None,
    }
    if route is None:
        # No route: the path as sent (never the query string), cut short.
        fields["path"] = scope["path"][:MAX_PATH_LENGTH]
    # What access_logger.info() does, without looking up the caller's frame (a quarter of
    # the record's cost), which is this line every time.
    record = access_logger.makeRecord(
        ACCESS_LOGGER,
        logging.INFO,
        __file__,
        0,
        "%s %s %s %.1f ms",
        (scope["method"], route or fields["path"], "-" if status is None else status, duration_ms),
        None,
        extra=fields,
    )
    access_logger.handle(record)

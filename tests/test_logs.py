import asyncio
import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from phresh import logs
from phresh.config import Settings
from phresh.db import Connection, ConnectionDep
from phresh.main import create_app
from tests.fixtures.client import client_of
from tests.fixtures.database import make_settings
from tests.fixtures.factories import auth_headers, create_cleaning, create_user

SECRET = "hunter2-not-for-logs"


class Captured:
    """What the ``phresh`` loggers wrote through one of phresh's formatters."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[str]:
        return self.text.splitlines()

    def records(self, logger: str | None = None) -> list[dict[str, Any]]:
        parsed = [json.loads(line) for line in self.lines()]
        return [entry for entry in parsed if logger is None or entry["logger"] == logger]


@contextmanager
def captured(formatter: logging.Formatter) -> Iterator[Captured]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    phresh_logger = logging.getLogger("phresh")
    level = phresh_logger.level
    phresh_logger.addHandler(handler)
    phresh_logger.setLevel(logging.INFO)
    try:
        yield Captured(stream)
    finally:
        phresh_logger.removeHandler(handler)
        phresh_logger.setLevel(level)


@pytest.fixture
def json_log() -> Iterator[Captured]:
    with captured(logs.JsonFormatter()) as output:
        yield output


@pytest.fixture
def text_log() -> Iterator[Captured]:
    with captured(logs.TextFormatter()) as output:
        yield output


# --- the request line ------------------------------------------------------------------------


async def test_a_request_is_one_json_line_with_its_route_template_status_and_user(
    connection: Connection, settings: Settings, client: httpx.AsyncClient, json_log: Captured
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)

    response = await client.get(
        f"/cleanings/{cleaning.id}",
        headers={**auth_headers(settings, owner), "X-Request-ID": "req-one-line"},
    )

    assert response.status_code == 200
    [line] = json_log.records("phresh.access")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    assert line["level"] == "INFO"
    assert line["request_id"] == "req-one-line"
    assert line["method"] == "GET"
    assert line["route"] == "/api/v1/cleanings/{cleaning_id}"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["user_id"] == owner.id
    assert line["client"] == "127.0.0.1"
    assert "path" not in line  # the template says it; the id in the path is not logged


async def test_the_request_line_never_holds_query_values_tokens_or_cookies(
    connection: Connection, settings: Settings, client: httpx.AsyncClient, json_log: Captured
) -> None:
    user = await create_user(connection)
    headers = auth_headers(settings, user)
    token = headers["Authorization"].removeprefix("Bearer ")

    found = await client.get(
        "/cleanings",
        params={"q": f"{SECRET} windows"},
        headers={**headers, "Cookie": f"phresh_refresh=cookie-{SECRET}"},
    )
    unknown = await client.get("/no/such/path", params={"q": SECRET})

    assert (found.status_code, unknown.status_code) == (200, 404)
    assert SECRET not in json_log.text
    assert token not in json_log.text
    first, second = json_log.records("phresh.access")
    assert (first["route"], first["status"], first["user_id"]) == (
        "/api/v1/cleanings",
        200,
        user.id,
    )
    # No route: the path as sent, without its query string.
    assert (second.get("route"), second["path"], second["status"]) == (
        None,
        "/api/v1/no/such/path",
        404,
    )


async def test_the_request_line_carries_the_500_the_client_got(
    app: FastAPI, client: httpx.AsyncClient, json_log: Captured
) -> None:
    add_failing_route(app)

    response = await client.get("/explode/7")

    assert response.status_code == 500
    [line] = json_log.records("phresh.access")
    assert (line["route"], line["status"]) == ("/api/v1/explode/{widget_id}", 500)
    assert line["request_id"] == response.headers["x-request-id"]


async def test_a_cors_preflight_answered_before_the_app_has_its_line(
    settings: Settings, json_log: Captured
) -> None:
    app = create_app(settings.model_copy(update={"cors_origins": "https://app.example.com"}))

    async with app.router.lifespan_context(app), client_of(app) as client:
        response = await client.options(
            "/cleanings",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
            },
        )

    assert response.status_code == 200
    [line] = json_log.records("phresh.access")
    assert (line["method"], line["status"]) == ("OPTIONS", 200)


async def test_with_the_access_log_off_no_request_line_is_written(
    settings: Settings, json_log: Captured
) -> None:
    app = create_app(settings.model_copy(update={"access_log": False}))

    async with app.router.lifespan_context(app), client_of(app) as client:
        response = await client.get("/health/live")

    assert response.status_code == 200
    assert json_log.records("phresh.access") == []


async def test_in_text_mode_a_request_is_one_readable_line(
    client: httpx.AsyncClient, text_log: Captured
) -> None:
    live = await client.get("/health/live", headers={"X-Request-ID": "req-text"})
    # A line break in the path (%0A) cannot start a forged line of its own.
    forged = await client.get("/nope%0A2026-01-01T00:00:00.000Z INFO phresh.access: forged")

    assert (live.status_code, forged.status_code) == (200, 404)
    first, second = text_log.lines()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO    phresh\.access: "
        r"GET /api/v1/health/live 200 \d+\.\d ms request_id=req-text client=127\.0\.0\.1",
        first,
    )
    assert (
        "phresh.access: GET /api/v1/nope\\n2026-01-01T00:00:00.000Z INFO phresh.access: " in second
    )


# --- errors: type, chain, call path and SQLSTATE; never the message --------------------------


def add_failing_route(app: FastAPI) -> None:
    async def explode(widget_id: int) -> None:
        widgets: dict[str, int] = {}
        try:
            widgets[SECRET] += widget_id
        except KeyError as exc:
            raise RuntimeError(SECRET) from exc

    app.add_api_route("/api/v1/explode/{widget_id}", explode, methods=["GET"])


async def test_a_500_logs_its_call_path_once_and_never_its_message(
    app: FastAPI, client: httpx.AsyncClient, json_log: Captured
) -> None:
    add_failing_route(app)

    response = await client.get("/explode/7")

    assert response.status_code == 500
    [error] = [line for line in json_log.records() if line["level"] == "ERROR"]
    assert error["logger"] == "phresh.errors"
    assert error["request_id"] == response.headers["x-request-id"]
    assert (error["method"], error["route"]) == ("GET", "/api/v1/explode/{widget_id}")
    assert error["error"] == "RuntimeError"
    assert error["causes"] == ["KeyError"]
    # The whole path, outermost first, each frame as file:line in function.
    assert len(error["frames"]) > 1
    assert all(re.fullmatch(r"\S+\.py:\d+ in \S+", frame) for frame in error["frames"])
    assert error["frames"][-1].startswith("tests/test_logs.py:")
    assert error["frames"][-1].endswith(" in add_failing_route.<locals>.explode")
    assert SECRET not in json_log.text
    assert "Traceback" not in json_log.text


def add_query_route(app: FastAPI, *statements: tuple[str, tuple[object, ...]]) -> None:
    async def query(connection: ConnectionDep) -> None:
        for sql, args in statements:
            await connection.execute(sql, *args)

    app.add_api_route("/api/v1/query", query, methods=["POST"])


async def test_a_database_error_logs_its_sqlstate_and_constraint_not_the_row(
    app: FastAPI, client: httpx.AsyncClient, json_log: Captured
) -> None:
    add_query_route(
        app,
        ("CREATE TEMPORARY TABLE widget (code text CONSTRAINT widget_code_key UNIQUE)", ()),
        ("INSERT INTO widget (code) VALUES ($1), ($1)", (SECRET,)),
    )

    response = await client.post("/query")

    assert response.status_code == 500
    [error] = [line for line in json_log.records() if line["level"] == "ERROR"]
    assert error["error"] == "asyncpg.exceptions.UniqueViolationError"
    assert error["sqlstate"] == "23505"
    assert error["sqlstate_class"] == "IntegrityConstraintViolationError"
    assert (error["constraint"], error["table"]) == ("widget_code_key", "widget")
    # The server's message and detail quote the row ("Key (code)=(...)").
    assert SECRET not in json_log.text


async def test_a_statement_timeout_logs_its_sqlstate_with_the_503(
    app: FastAPI, client: httpx.AsyncClient, json_log: Captured
) -> None:
    add_query_route(
        app, ("SET LOCAL statement_timeout = 10", ()), ("SELECT pg_sleep(5), $1::text", (SECRET,))
    )

    response = await client.post("/query")

    assert response.status_code == 503
    [warning] = [line for line in json_log.records() if line["level"] == "WARNING"]
    assert warning["message"] == "database unavailable"
    assert warning["request_id"] == response.headers["x-request-id"]
    assert (warning["sqlstate"], warning["sqlstate_class"]) == (
        "57014",
        "OperatorInterventionError",
    )
    assert "frames" not in warning  # no bug: where it happened is not the question
    assert SECRET not in json_log.text


def raise_secret() -> None:
    raise ValueError(SECRET)


def test_an_exception_logged_with_its_traceback_is_told_by_type_and_frames(
    json_log: Captured,
) -> None:
    """What uvicorn does with an error after the answer started ("Exception in ASGI
    application"), and any logger.exception: the formatter never prints the traceback."""
    try:
        raise_secret()
    except ValueError:
        logging.getLogger("phresh.anywhere").exception("it failed")

    [line] = json_log.records()
    assert line["message"] == "it failed"
    assert line["error"] == "ValueError"
    assert line["frames"][-1].endswith(" in raise_secret")
    assert SECRET not in json_log.text
    assert "Traceback" not in json_log.text


def test_describe_error_finds_the_sqlstate_of_a_cause_and_skips_a_suppressed_context() -> None:
    try:
        try:
            raise asyncpg.exceptions.DeadlockDetectedError(SECRET)
        except asyncpg.PostgresError as exc:
            raise LookupError(SECRET) from exc
    except LookupError as exc:
        caused = exc
    try:
        try:
            raise KeyError(SECRET)
        except KeyError:
            raise TypeError(SECRET) from None
    except TypeError as exc:
        suppressed = exc

    described = logs.describe_error(caused, frames=False)
    assert described == {
        "error": "LookupError",
        "causes": ["asyncpg.exceptions.DeadlockDetectedError"],
        "sqlstate": "40P01",
        "sqlstate_class": "TransactionRollbackError",
    }
    assert logs.describe_error(suppressed, frames=False) == {"error": "TypeError"}


# --- slow statements -----------------------------------------------------------------------


@pytest.fixture
async def slow_query_app(database_url: str) -> AsyncIterator[FastAPI]:
    """An app on a pool of its own, whose statements over 50 ms are slow."""
    app = create_app(make_settings(database_url, db_slow_query_ms=50))

    async def sleep(connection: ConnectionDep) -> None:
        await connection.fetchval("SELECT pg_sleep(0.1)::text || $1::text", SECRET)
        await connection.fetchval("SELECT $1::text", SECRET)

    app.add_api_route("/api/v1/sleep", sleep, methods=["GET"])
    async with app.router.lifespan_context(app):
        yield app


async def test_a_slow_statement_is_logged_with_its_sql_and_request_id_not_its_parameters(
    slow_query_app: FastAPI, json_log: Captured
) -> None:
    async with client_of(slow_query_app) as client:
        response = await client.get("/sleep", headers={"X-Request-ID": "req-slow"})
    # asyncpg hands each statement to the query logger with call_soon.
    await asyncio.sleep(0)

    assert response.status_code == 200
    [slow] = json_log.records("phresh.sql")
    assert slow["message"] == "slow query"
    assert slow["level"] == "WARNING"
    assert slow["sql"] == "SELECT pg_sleep(0.1)::text || $1::text"
    assert slow["duration_ms"] >= 50
    assert slow["request_id"] == "req-slow"
    assert SECRET not in json_log.text


async def test_slow_statements_are_not_logged_when_the_threshold_is_zero(
    database_url: str, json_log: Captured
) -> None:
    app = create_app(make_settings(database_url, db_slow_query_ms=0))

    async def sleep(connection: ConnectionDep) -> None:
        await connection.fetchval("SELECT pg_sleep(0.06)")

    app.add_api_route("/api/v1/sleep", sleep, methods=["GET"])
    async with app.router.lifespan_context(app), client_of(app) as client:
        response = await client.get("/sleep")
    await asyncio.sleep(0)

    assert response.status_code == 200
    assert json_log.records("phresh.sql") == []


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "log_format", "formatter"),
    [
        ("production", None, "JsonFormatter"),
        ("development", None, "TextFormatter"),
        ("test", None, "TextFormatter"),
        ("production", "text", "TextFormatter"),
        ("development", "json", "JsonFormatter"),
    ],
)
def test_the_log_format_is_json_in_production_unless_told(
    environment: str, log_format: str | None, formatter: str
) -> None:
    settings = make_settings(
        "postgresql://phresh@127.0.0.1:1/x", environment=environment, log_format=log_format
    )

    config = logs.log_config(settings)

    assert config["formatters"]["phresh"]["()"] == f"phresh.logs.{formatter}"
    assert config["root"]["handlers"] == ["stderr"]

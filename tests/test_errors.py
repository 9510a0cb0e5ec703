import json
import logging

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, field_validator

from phresh.config import Settings
from phresh.db import Connection
from phresh.errors import NotFound
from phresh.main import create_app
from tests.fixtures.client import BASE_URL
from tests.fixtures.database import make_settings
from tests.fixtures.factories import auth_headers, create_cleaning, create_user
from tests.fixtures.problems import check_problem_documented

PROBLEM = "application/problem+json"
SECRET_MESSAGE = "password=hunter2 for user 42"


def add_failing_route(app: FastAPI) -> None:
    async def explode() -> None:
        raise RuntimeError(SECRET_MESSAGE)

    app.add_api_route("/api/v1/boom", explode, methods=["GET"])


def add_not_found_route(app: FastAPI) -> None:
    async def missing() -> None:
        raise NotFound("No widget 7.")

    app.add_api_route("/api/v1/widgets/7", missing, methods=["GET"])


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/thing")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "urn:phresh:problem:not-found"
    assert body["status"] == 404
    assert body["title"] == "Not Found"
    assert "/api/v1/no/such/thing" in body["detail"]
    assert body["instance"] == "/api/v1/no/such/thing"


async def test_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/health/live")

    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["allow"] == "GET"
    body = response.json()
    assert body["type"] == "urn:phresh:problem:method-not-allowed"
    assert body["status"] == 405
    assert "DELETE" in body["detail"]


async def test_validation_problem_names_each_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/users", json={"username": "x", "email": "nope"})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "urn:phresh:problem:validation"
    assert body["status"] == 422
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"username", "email", "password"}
    for error in body["errors"]:
        assert set(error) == {"field", "message", "type"}
        assert error["message"]
    assert all(field in body["detail"] for field in fields)


async def test_domain_error_renders_its_status_and_slug(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    add_not_found_route(app)

    response = await client.get("/widgets/7")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "No widget 7."


async def test_unexpected_error_is_a_generic_500_problem(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    add_failing_route(app)

    response = await client.get("/boom")

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "urn:phresh:problem:internal"
    assert body["title"] == "Internal server error"
    assert "request id" in body["detail"]
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text
    assert body["request_id"] == response.headers["x-request-id"]


async def test_unexpected_error_is_logged_once_with_the_request_id_and_no_traceback(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    add_failing_route(app)

    with caplog.at_level(logging.INFO):
        response = await client.get("/boom")

    request_id = response.headers["x-request-id"]
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].__dict__["request_id"] == request_id
    assert errors[0].__dict__["error"] == "RuntimeError"
    assert errors[0].exc_info is None
    assert "Traceback" not in caplog.text
    assert "hunter2" not in caplog.text


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    first = await client.get("/health/live")
    second = await client.get("/health/live")

    assert first.headers["x-request-id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_incoming_request_id_is_echoed_in_header_and_problem(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/no/such/thing", headers={"X-Request-ID": "trace-abc.123_x"})

    assert response.headers["x-request-id"] == "trace-abc.123_x"
    assert response.json()["request_id"] == "trace-abc.123_x"


async def test_incoming_request_id_reaches_the_500_log(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    add_failing_route(app)

    response = await client.get("/boom", headers={"X-Request-ID": "support-ticket-991"})

    assert response.headers["x-request-id"] == "support-ticket-991"
    assert response.json()["request_id"] == "support-ticket-991"
    [error] = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert error.__dict__["request_id"] == "support-ticket-991"


@pytest.mark.parametrize(
    "unsafe",
    ["x" * 65, "two words", "semi;colon", "new\tline"],
    ids=["too-long", "space", "semicolon", "tab"],
)
async def test_unsafe_incoming_request_id_is_replaced(
    client: httpx.AsyncClient, unsafe: str
) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": unsafe})

    assert response.headers["x-request-id"] != unsafe
    assert response.headers["x-request-id"]


# --- database errors: by SQLSTATE, and the socket's own errors ----------------------------

SQL_SECRET = "duplicate key value violates unique constraint: (email)=(ada@example.com)"


def add_raising_route(app: FastAPI, error: BaseException) -> None:
    async def query() -> None:
        raise error

    app.add_api_route("/api/v1/query", query, methods=["GET"])


@pytest.mark.parametrize(
    ("error", "status", "slug"),
    [
        (asyncpg.exceptions.QueryCanceledError("statement timeout"), 503, "unavailable"),
        (asyncpg.exceptions.LockNotAvailableError("lock timeout"), 503, "unavailable"),
        (asyncpg.exceptions.SerializationError("could not serialize"), 503, "unavailable"),
        (asyncpg.exceptions.DeadlockDetectedError("deadlock detected"), 503, "unavailable"),
        (asyncpg.ConnectionDoesNotExistError("closed mid-operation"), 503, "unavailable"),
        (asyncpg.exceptions.ConnectionFailureError("connection failure"), 503, "unavailable"),
        (asyncpg.exceptions.TooManyConnectionsError("too many clients"), 503, "unavailable"),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), 503, "unavailable"),
        (asyncpg.exceptions.CannotConnectNowError("starting up"), 503, "unavailable"),
        (ConnectionRefusedError(111, "Connection refused"), 503, "unavailable"),
        (ConnectionResetError(104, "Connection reset by peer"), 503, "unavailable"),
        (FileNotFoundError(2, "No such file: /tmp/.s.PGSQL.5432"), 503, "unavailable"),
        (TimeoutError(), 503, "unavailable"),
        (asyncpg.exceptions.CharacterNotInRepertoireError("0x00"), 422, "validation"),
        (asyncpg.exceptions.UntranslatableCharacterError("no equivalent"), 422, "validation"),
        (asyncpg.exceptions.UniqueViolationError(SQL_SECRET), 500, "internal"),
        (asyncpg.exceptions.UndefinedTableError(SQL_SECRET), 500, "internal"),
        (asyncpg.exceptions.PostgresError(SQL_SECRET), 500, "internal"),
    ],
    ids=[
        "statement-timeout-57014",
        "lock-timeout-55P03",
        "serialization-40001",
        "deadlock-40P01",
        "connection-gone-08003",
        "connection-failure-08006",
        "too-many-connections-53300",
        "admin-shutdown-57P01",
        "starting-up-57P03",
        "connection-refused",
        "connection-reset",
        "socket-missing",
        "pool-acquire-timeout",
        "nul-byte-22021",
        "untranslatable-22P05",
        "unique-violation-unhandled",
        "undefined-table",
        "no-sqlstate",
    ],
)
async def test_a_database_error_maps_to_one_status(
    app: FastAPI,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    error: BaseException,
    status: int,
    slug: str,
) -> None:
    add_raising_route(app, error)

    with caplog.at_level(logging.INFO):
        response = await client.get("/query")

    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == f"urn:phresh:problem:{slug}"
    # Only a 503 asks the client to come back; a 500 or 422 would fail the same way again.
    assert ("retry-after" in response.headers) == (status == 503)
    if status == 503:
        assert response.headers["retry-after"] == "1"
        [logged] = [r for r in caplog.records if r.getMessage() == "database unavailable"]
        assert logged.__dict__["error"].endswith(type(error).__name__)
        assert logged.__dict__.get("sqlstate") == getattr(error, "sqlstate", None)
    # The database's message may quote a row: it reaches neither the client nor the log.
    assert "ada@example.com" not in response.text
    assert "ada@example.com" not in caplog.text


# --- hostile and malformed input: a 4xx, never a 500 -------------------------------------

REFUSING_URL = "postgresql://postgres@127.0.0.1:1/x"


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("POST", "/cleanings", {"name": "Spring\x00clean", "price": "25"}),
        ("POST", "/cleanings", {"name": "Spring", "description": "a\x00b", "price": "25"}),
        ("PATCH", "/cleanings/{cleaning_id}", {"name": "Spring\x00clean"}),
        ("PATCH", "/profiles/me", {"bio": "a\x00b"}),
        (
            "POST",
            "/users",
            {
                "username": "nul_user",
                "email": "nul@example.com",
                "password": "long enough password",
                "full_name": "a\x00b",
            },
        ),
    ],
    ids=["cleaning-name", "cleaning-description", "patch-name", "profile-bio", "full-name"],
)
async def test_nul_character_in_a_json_field_is_422_not_500(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    method: str,
    path: str,
    payload: dict[str, str],
) -> None:
    user = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=user)

    response = await client.request(
        method,
        path.format(cleaning_id=cleaning.id),
        json=payload,
        headers=auth_headers(settings, user),
    )

    assert response.status_code == 422


async def test_nul_character_in_a_login_name_is_a_422_naming_it(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/auth/token", data={"username": "ada\x00", "password": "not the password"}
    )

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["username"]


async def test_nul_character_in_a_profile_path_is_4xx_not_500(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)

    response = await client.get("/profiles/ada%00", headers=auth_headers(settings, user))

    assert 400 <= response.status_code < 500


async def test_refused_database_connection_is_503_with_retry_after(settings: Settings) -> None:
    app = create_app(make_settings(REFUSING_URL))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        hooks = {"response": [check_problem_documented(app)]}
        async with httpx.AsyncClient(
            transport=transport, base_url=BASE_URL, event_hooks=hooks
        ) as client:
            response = await client.post(
                "/auth/token", data={"username": "ada", "password": "not the password"}
            )

    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"].endswith("unavailable")


async def test_explicit_null_in_a_patch_names_the_field(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)

    response = await client.patch(
        f"/cleanings/{cleaning.id}", json={"price": None}, headers=auth_headers(settings, owner)
    )

    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"price"}


async def test_malformed_json_body_is_reported_on_the_body(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/users", content=b'{"username": ', headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"body"}


async def test_a_body_that_cannot_be_read_is_a_documented_400(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)

    response = await client.post(
        "/cleanings",
        content=b'{"name": "\xff"}',
        headers={"Content-Type": "application/json", **auth_headers(settings, user)},
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "urn:phresh:problem:bad-request"


async def test_non_ascii_request_id_is_not_echoed_altered(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live", headers=[(b"X-Request-ID", b"caf\xe9")])

    echoed = dict(response.headers.raw)[b"x-request-id"]
    assert echoed.isascii()


# --- 405: every method the path serves ----------------------------------------------------


async def test_405_allow_lists_every_method_of_the_path(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)

    response = await client.put(f"/cleanings/{cleaning.id}", headers=auth_headers(settings, owner))

    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PATCH"
    assert "DELETE, GET, PATCH" in response.json()["detail"]


# --- messages a person can act on ---------------------------------------------------------


class Flavour(BaseModel):
    name: str

    @field_validator("name")
    @classmethod
    def known(cls, value: str) -> str:
        if value != "vanilla":
            msg = "must be vanilla"
            raise ValueError(msg)
        return value


def add_validating_route(app: FastAPI) -> None:
    async def taste(flavour: Flavour) -> None:
        return None

    app.add_api_route("/api/v1/taste", taste, methods=["POST"])


async def test_a_validator_message_has_no_value_error_prefix(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    add_validating_route(app)

    response = await client.post("/taste", json={"name": "mint"})

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "name", "message": "must be vanilla", "type": "value_error"}
    ]


async def test_length_errors_count_characters(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/users", json={"username": "ab", "email": "ab@example.com", "password": "hunter2"}
    )

    messages = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert messages == {
        "username": "String should have at least 3 characters",
        "password": "String should have at least 10 characters",
    }
    assert "hunter2" not in response.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_price": "30", "max_price": "20"}, "min_price"),
        ({"sort": "relevance"}, "sort"),
    ],
    ids=["price-range", "relevance-without-q"],
)
async def test_a_rule_over_several_parameters_names_the_one_to_change(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    params: dict[str, str],
    field: str,
) -> None:
    user = await create_user(connection)

    response = await client.get("/cleanings", params=params, headers=auth_headers(settings, user))

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [error["field"] for error in errors] == [field]
    assert not errors[0]["message"].startswith("Value error")


# --- unknown query parameters: a 422 on every endpoint -----------------------------------


@pytest.mark.parametrize(
    ("method", "path", "params", "unknown"),
    [
        ("GET", "/health/live", {"verbose": "1"}, "verbose"),
        ("GET", "/cleanings", {"colour": "red"}, "colour"),
        ("GET", "/users/me/cleanings", {"limit": "5", "stauts": "open"}, "stauts"),
        ("GET", "/feed/cleanings", {"page": "2"}, "page"),
        ("GET", "/users/me", {"expand": "profile"}, "expand"),
        ("POST", "/cleanings", {"dry_run": "1"}, "dry_run"),
    ],
)
async def test_an_unknown_query_parameter_is_a_422_naming_it(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    method: str,
    path: str,
    params: dict[str, str],
    unknown: str,
) -> None:
    user = await create_user(connection)

    response = await client.request(
        method,
        path,
        params=params,
        json={"name": "Spring", "price": "25"} if method == "POST" else None,
        headers=auth_headers(settings, user),
    )

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [error["field"] for error in errors] == [unknown]
    assert errors[0]["type"] == "extra_forbidden"


async def test_declared_query_parameters_are_still_accepted(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    headers = auth_headers(settings, user)

    mine = await client.get(
        "/users/me/cleanings", params={"status": "open", "limit": "5"}, headers=headers
    )
    public = await client.get(
        "/cleanings", params={"cleaning_type": "full_clean", "with_count": "true"}, headers=headers
    )

    assert (mine.status_code, public.status_code) == (200, 200)


# --- control characters -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [
        ("POST", "/cleanings", {"name": "\u0012Fx", "price": "25"}, "name"),
        ("POST", "/cleanings", {"name": "Two\nlines", "price": "25"}, "name"),
        (
            "POST",
            "/cleanings",
            {"name": "Spring", "description": "bell\u0007", "price": "25"},
            "description",
        ),
        (
            "POST",
            "/cleanings",
            {"name": "Spring", "description": "a\rb", "price": "25"},
            "description",
        ),
        (
            "POST",
            "/cleanings",
            {"name": "Spring", "description": "a\u0085b", "price": "25"},
            "description",
        ),
        ("PATCH", "/cleanings/{cleaning_id}", {"name": "tab\there"}, "name"),
        ("PATCH", "/profiles/me", {"full_name": "Ada\u001bLovelace"}, "full_name"),
        ("PATCH", "/profiles/me", {"phone_number": "+44 20\n7946"}, "phone_number"),
        ("PATCH", "/profiles/me", {"bio": "null\u0000byte"}, "bio"),
        ("PATCH", "/profiles/me", {"image_url": "https://example.com/\tme.png"}, "image_url"),
    ],
)
async def test_a_control_character_in_text_is_a_422_naming_the_field(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    method: str,
    path: str,
    payload: dict[str, str],
    field: str,
) -> None:
    user = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=user)

    response = await client.request(
        method,
        path.format(cleaning_id=cleaning.id),
        json=payload,
        headers=auth_headers(settings, user),
    )

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(error["field"], error["type"]) for error in errors] == [(field, "control_character")]


async def test_long_text_keeps_its_line_breaks_and_tabs(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    headers = auth_headers(settings, user)
    description = "Kitchen:\r\n\t- oven\n\t- windows"

    created = await client.post(
        "/cleanings",
        json={"name": "Spring", "description": description, "price": "25"},
        headers=headers,
    )
    profile = await client.patch(
        "/profiles/me", json={"bio": "Line one\nLine two"}, headers=headers
    )

    assert created.status_code == 201
    assert created.json()["description"] == description
    assert profile.status_code == 200
    assert profile.json()["profile"]["bio"] == "Line one\nLine two"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/cleanings", {"owner": "ada\u0001"}, "owner"),
        ("/users/me/cleanings", {"cursor": "abc\u007f"}, "cursor"),
        ("/profiles/ada%07", {}, "username"),
    ],
)
async def test_a_control_character_in_a_parameter_is_a_422_naming_it(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    path: str,
    params: dict[str, str],
    field: str,
) -> None:
    user = await create_user(connection)

    response = await client.get(path, params=params, headers=auth_headers(settings, user))

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]


# --- passwords are taken exactly as sent --------------------------------------------------


async def register(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(
        "/users",
        json={"username": username, "email": f"{username}@example.com", "password": password},
    )


async def log_in(client: httpx.AsyncClient, username: str, password: str) -> int:
    response = await client.post("/auth/token", data={"username": username, "password": password})
    return response.status_code


async def test_a_password_keeps_its_surrounding_spaces(client: httpx.AsyncClient) -> None:
    password = "  correct horse battery  "

    registered = await register(client, "spacey", password)

    assert registered.status_code == 201
    assert await log_in(client, "spacey", password) == 200
    assert await log_in(client, "spacey", password.strip()) == 401


async def test_a_password_length_counts_its_spaces(client: httpx.AsyncClient) -> None:
    # Nine characters, padded to eleven: long enough as sent.
    password = " ninechars "

    registered = await register(client, "padded", password)

    assert registered.status_code == 201
    assert await log_in(client, "padded", password) == 200


async def test_a_password_may_hold_any_character(client: httpx.AsyncClient) -> None:
    password = "tab\there\u0001bell\u0007!"

    registered = await register(client, "oddchars", password)

    assert registered.status_code == 201
    assert await log_in(client, "oddchars", password) == 200


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("POST", "/users", "password"),
        ("POST", "/users/me/password", "new_password"),
        ("POST", "/users/me/password", "current_password"),
        ("PATCH", "/users/me", "current_password"),
        ("POST", "/auth/reset-password", "new_password"),
    ],
)
async def test_a_password_with_a_lone_surrogate_is_a_422(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    method: str,
    path: str,
    field: str,
) -> None:
    """JSON can carry "\\ud800", which no UTF-8 (and no password hash) can hold."""
    user = await create_user(connection)
    body = {
        "/users": {"username": "surrogate", "email": "s@example.com", "password": "a" * 12},
        "/users/me/password": {"current_password": "a" * 12, "new_password": "b" * 12},
        "/users/me": {"email": "s@example.com", "current_password": "a" * 12},
        "/auth/reset-password": {"token": "x" * 43, "new_password": "b" * 12},
    }[path]
    body[field] = "\ud800" + "c" * 12
    content = json.dumps(body)  # ensure_ascii keeps the surrogate as its \ud800 escape

    response = await client.request(
        method,
        path,
        content=content,
        headers={"Content-Type": "application/json", **auth_headers(settings, user)},
    )

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]

import logging

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from phresh.config import Settings
from phresh.errors import NotFound
from phresh.main import create_app
from tests.fixtures.client import BASE_URL
from tests.fixtures.database import make_settings
from tests.fixtures.factories import auth_headers, create_cleaning, create_user

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
    assert request_id in errors[0].getMessage()
    assert "RuntimeError" in errors[0].getMessage()
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
    assert "request_id=support-ticket-991" in caplog.text


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
    session: AsyncSession,
    settings: Settings,
    method: str,
    path: str,
    payload: dict[str, str],
) -> None:
    user = await create_user(session)
    cleaning = await create_cleaning(session, owner=user)

    response = await client.request(
        method,
        path.format(cleaning_id=cleaning.id),
        json=payload,
        headers=auth_headers(settings, user),
    )

    assert response.status_code == 422


async def test_nul_character_in_a_login_name_is_401_not_500(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/token", data={"username": "ada\x00", "password": "not the password"}
    )

    assert response.status_code == 401


async def test_nul_character_in_a_profile_path_is_4xx_not_500(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await create_user(session)

    response = await client.get("/profiles/ada%00", headers=auth_headers(settings, user))

    assert 400 <= response.status_code < 500


async def test_refused_database_connection_is_503_with_retry_after(settings: Settings) -> None:
    app = create_app(make_settings(REFUSING_URL))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            response = await client.post(
                "/auth/token", data={"username": "ada", "password": "not the password"}
            )

    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"].endswith("unavailable")


async def test_explicit_null_in_a_patch_names_the_field(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_user(session)
    cleaning = await create_cleaning(session, owner=owner)

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


async def test_non_ascii_request_id_is_not_echoed_altered(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live", headers=[(b"X-Request-ID", b"caf\xe9")])

    echoed = dict(response.headers.raw)[b"x-request-id"]
    assert echoed.isascii()

"""Email verification, password reset, password and email changes, and the verified-email
rule, through the API. Tokens are issued here as the mail worker issues them; tests/mail and
tests/auth/test_mail_flows.py deliver them through a real SMTP server."""

from collections.abc import AsyncIterator

import httpx
import pytest

from phresh.auth import service as auth_service
from phresh.auth.service import issue_account_token
from phresh.config import Settings
from phresh.db import Connection
from phresh.models import TokenPurpose, User
from phresh.users.exceptions import EmailTaken
from tests.auth.conftest import Clock
from tests.fixtures.client import app_on, client_of
from tests.fixtures.factories import DEFAULT_PASSWORD, auth_headers, create_cleaning, create_user

PROBLEM_TYPE = "urn:phresh:problem:"


async def mails(connection: Connection) -> list[tuple[str, str, int | None]]:
    rows = await connection.fetch("SELECT kind, recipient, user_id FROM mail ORDER BY id")
    return [(row["kind"], row["recipient"], row["user_id"]) for row in rows]


async def token_for(connection: Connection, user: User, purpose: TokenPurpose, clock: Clock) -> str:
    return await issue_account_token(connection, user.id, purpose, user.email, clock())


async def is_verified(connection: Connection, user: User) -> bool:
    verified: bool = await connection.fetchval(
        'SELECT email_verified FROM "user" WHERE id = $1', user.id
    )
    return verified


async def test_registration_queues_a_verification_mail(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    response = await client.post(
        "/users",
        json={"username": "newbie", "email": "Newbie@Example.com", "password": "long enough pw"},
    )

    assert response.status_code == 201
    user_id = response.json()["user"]["id"]
    assert await mails(connection) == [("verify_email", "newbie@example.com", user_id)]


async def test_a_registration_that_fails_after_queueing_its_mail_sends_nothing(
    client: httpx.AsyncClient, connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mail is queued before the session starts; a failure there rolls the mail back."""

    async def fail(*args: object) -> None:
        raise EmailTaken("taken after all")

    monkeypatch.setattr(auth_service, "start_session", fail)

    response = await client.post(
        "/users",
        json={"username": "newbie", "email": "newbie@example.com", "password": "long enough pw"},
    )

    assert response.status_code == 409
    assert await mails(connection) == []
    assert await connection.fetchval("SELECT count(*) FROM pgqueuer") == 0


async def test_a_verification_token_works_exactly_once(
    client: httpx.AsyncClient, connection: Connection, clock: Clock
) -> None:
    user = await create_user(connection)
    token = await token_for(connection, user, TokenPurpose.verify_email, clock)

    first = await client.post("/auth/verify-email", json={"token": token})
    second = await client.post("/auth/verify-email", json={"token": token})

    assert first.status_code == 204
    assert await is_verified(connection, user)
    assert second.status_code == 400
    assert second.json()["type"] == PROBLEM_TYPE + "invalid-link-token"


async def test_a_verification_token_expires_after_a_day(
    client: httpx.AsyncClient, connection: Connection, clock: Clock
) -> None:
    user = await create_user(connection)
    token = await token_for(connection, user, TokenPurpose.verify_email, clock)
    clock.advance(hours=24, seconds=1)

    response = await client.post("/auth/verify-email", json={"token": token})

    assert response.status_code == 400
    assert not await is_verified(connection, user)


async def test_a_link_to_a_replaced_address_verifies_nothing(
    client: httpx.AsyncClient, connection: Connection, clock: Clock, settings: Settings
) -> None:
    user = await create_user(connection, username="ada")
    token = await token_for(connection, user, TokenPurpose.verify_email, clock)
    changed = await client.patch(
        "/users/me",
        json={"email": "ada@new.example", "current_password": DEFAULT_PASSWORD},
        headers=auth_headers(settings, user),
    )
    assert changed.status_code == 200

    response = await client.post("/auth/verify-email", json={"token": token})

    assert response.status_code == 400
    assert not await is_verified(connection, user)


async def test_a_reset_token_is_no_verification_token(
    client: httpx.AsyncClient, connection: Connection, clock: Clock
) -> None:
    user = await create_user(connection)
    token = await token_for(connection, user, TokenPurpose.reset_password, clock)

    response = await client.post("/auth/verify-email", json={"token": token})

    assert response.status_code == 400


async def test_resend_queues_a_mail_and_refuses_a_verified_address(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection, username="ada")

    first = await client.post("/auth/verify-email/resend", headers=auth_headers(settings, user))
    await connection.execute('UPDATE "user" SET email_verified = true WHERE id = $1', user.id)
    second = await client.post("/auth/verify-email/resend", headers=auth_headers(settings, user))

    assert first.status_code == 202
    assert first.content == b""
    assert await mails(connection) == [("verify_email", user.email, user.id)]
    assert second.status_code == 409
    assert second.json()["type"] == PROBLEM_TYPE + "email-already-verified"


async def test_forgot_password_answers_alike_for_known_and_unknown_addresses(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada", email="ada@example.com")

    known = await client.post("/auth/forgot-password", json={"email": "ADA@example.com"})
    unknown = await client.post("/auth/forgot-password", json={"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content == b""
    assert set(known.headers) - {"x-request-id"} == set(unknown.headers) - {"x-request-id"}
    # The account is looked up when the mail is delivered, not here.
    assert await mails(connection) == [
        ("reset_password", "ada@example.com", None),
        ("reset_password", "nobody@example.com", None),
    ]


async def test_a_reset_sets_the_password_once_and_ends_every_session(
    client: httpx.AsyncClient, connection: Connection, clock: Clock, settings: Settings
) -> None:
    user = await create_user(connection, username="ada")
    login = await client.post("/auth/token", data={"username": "ada", "password": DEFAULT_PASSWORD})
    token = await token_for(connection, user, TokenPurpose.reset_password, clock)
    body = {"token": token, "new_password": "a fresh password"}

    first = await client.post("/auth/reset-password", json=body)
    second = await client.post("/auth/reset-password", json={**body, "new_password": "x" * 12})

    assert first.status_code == 204
    assert second.status_code == 400
    for headers in (
        auth_headers(settings, user),
        {"Authorization": f"Bearer {login.json()['access_token']}"},
    ):
        assert (await client.get("/users/me", headers=headers)).status_code == 401
    refresh = await client.post(
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": login.json()["refresh_token"]},
    )
    assert refresh.status_code == 401
    new = await client.post("/auth/token", data={"username": "ada", "password": "a fresh password"})
    assert new.status_code == 200
    # The link went to the account's address.
    assert await is_verified(connection, user)


async def test_a_reset_spends_the_other_reset_links(
    client: httpx.AsyncClient, connection: Connection, clock: Clock
) -> None:
    user = await create_user(connection)
    first = await token_for(connection, user, TokenPurpose.reset_password, clock)
    second = await token_for(connection, user, TokenPurpose.reset_password, clock)

    used = await client.post(
        "/auth/reset-password", json={"token": first, "new_password": "a fresh password"}
    )
    stale = await client.post(
        "/auth/reset-password", json={"token": second, "new_password": "another password"}
    )

    assert used.status_code == 204
    assert stale.status_code == 400


async def test_a_reset_token_expires_after_an_hour(
    client: httpx.AsyncClient, connection: Connection, clock: Clock
) -> None:
    user = await create_user(connection, username="ada")
    token = await token_for(connection, user, TokenPurpose.reset_password, clock)
    clock.advance(hours=1, seconds=1)

    response = await client.post(
        "/auth/reset-password", json={"token": token, "new_password": "a fresh password"}
    )

    assert response.status_code == 400
    login = await client.post("/auth/token", data={"username": "ada", "password": DEFAULT_PASSWORD})
    assert login.status_code == 200


async def test_a_reset_takes_a_valid_new_password_only(
    client: httpx.AsyncClient, connection: Connection, clock: Clock
) -> None:
    user = await create_user(connection)
    token = await token_for(connection, user, TokenPurpose.reset_password, clock)

    short = await client.post(
        "/auth/reset-password", json={"token": token, "new_password": "short"}
    )
    after = await client.post(
        "/auth/reset-password", json={"token": token, "new_password": "long enough now"}
    )

    assert short.status_code == 422
    assert after.status_code == 204  # the refused request did not spend the token


async def test_an_email_change_needs_the_current_password(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection, username="ada")
    await connection.execute('UPDATE "user" SET email_verified = true WHERE id = $1', user.id)

    wrong = await client.patch(
        "/users/me",
        json={"email": "ada@new.example", "current_password": "not my password"},
        headers=auth_headers(settings, user),
    )
    right = await client.patch(
        "/users/me",
        json={"email": "Ada@New.Example", "current_password": DEFAULT_PASSWORD},
        headers=auth_headers(settings, user),
    )

    assert wrong.status_code == 403
    assert wrong.json()["type"] == PROBLEM_TYPE + "wrong-password"
    assert right.status_code == 200
    assert right.json()["email"] == "ada@new.example"
    assert right.json()["email_verified"] is False
    assert await mails(connection) == [("verify_email", "ada@new.example", user.id)]


async def test_an_email_change_to_a_taken_address_is_a_409(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection, username="ada")
    await create_user(connection, username="bob", email="bob@example.com")

    response = await client.patch(
        "/users/me",
        json={"email": "bob@example.com", "current_password": DEFAULT_PASSWORD},
        headers=auth_headers(settings, user),
    )

    assert response.status_code == 409
    assert await mails(connection) == []


@pytest.fixture
async def strict_client(
    settings: Settings, connection: Connection
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with PHRESH_REQUIRE_VERIFIED_EMAIL, on the test's connection."""
    strict = settings.model_copy(update={"require_verified_email": True})
    async with app_on(strict, connection) as app, client_of(app) as client:
        yield client


async def test_an_unverified_email_may_not_post_or_offer_when_required(
    strict_client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection, username="owner")
    cleaner = await create_user(connection, username="cleaner")
    cleaning = await create_cleaning(connection, owner=owner)
    new_cleaning = {"name": "Windows", "cleaning_type": "spot_clean", "price": "20.00"}

    post = await strict_client.post(
        "/cleanings", json=new_cleaning, headers=auth_headers(settings, owner)
    )
    offer = await strict_client.post(
        f"/cleanings/{cleaning.id}/offers", headers=auth_headers(settings, cleaner)
    )

    for refused in (post, offer):
        assert refused.status_code == 403
        assert refused.json()["type"] == PROBLEM_TYPE + "email-not-verified"
    await connection.execute('UPDATE "user" SET email_verified = true')
    post = await strict_client.post(
        "/cleanings", json=new_cleaning, headers=auth_headers(settings, owner)
    )
    offer = await strict_client.post(
        f"/cleanings/{cleaning.id}/offers", headers=auth_headers(settings, cleaner)
    )
    assert (post.status_code, offer.status_code) == (201, 201)

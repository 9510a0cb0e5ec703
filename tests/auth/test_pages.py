"""The pages the mails' links open (PHRESH_PUBLIC_URL being this server)."""

import re

import httpx

from phresh.auth.service import issue_account_token
from phresh.db import Connection
from phresh.models import TokenPurpose, User
from tests.auth.conftest import Clock
from tests.fixtures.factories import DEFAULT_PASSWORD, create_user

ROOT = "http://test"


async def verified(connection: Connection, user: User) -> bool:
    value: bool = await connection.fetchval(
        'SELECT email_verified FROM "user" WHERE id = $1', user.id
    )
    return value


async def test_opening_a_verification_link_changes_nothing_until_its_button_is_pressed(
    client: httpx.AsyncClient, connection: Connection, clock: Clock
) -> None:
    user = await create_user(connection)
    token = await issue_account_token(
        connection, user.id, TokenPurpose.verify_email, user.email, clock()
    )

    page = await client.get(f"{ROOT}/verify-email", params={"token": token})

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert re.search(r'<form method="post" action="/verify-email">', page.text)
    assert f'value="{token}"' in page.text
    assert not await verified(connection, user)

    pressed = await client.post(f"{ROOT}/verify-email", data={"token": token})
    again = await client.post(f"{ROOT}/verify-email", data={"token": token})

    assert pressed.status_code == 200
    assert "Email verified" in pressed.text
    assert await verified(connection, user)
    assert again.status_code == 400
    assert "Link not valid" in again.text


async def test_the_reset_page_sets_the_password_once(
    client: httpx.AsyncClient, connection: Connection, clock: Clock
) -> None:
    user = await create_user(connection, username="ada")
    token = await issue_account_token(
        connection, user.id, TokenPurpose.reset_password, user.email, clock()
    )

    page = await client.get(f"{ROOT}/reset-password", params={"token": token})
    short = await client.post(
        f"{ROOT}/reset-password", data={"token": token, "new_password": "short"}
    )
    done = await client.post(
        f"{ROOT}/reset-password", data={"token": token, "new_password": "my new password"}
    )
    again = await client.post(
        f"{ROOT}/reset-password", data={"token": token, "new_password": "another password"}
    )

    assert page.status_code == 200
    assert 'name="new_password"' in page.text
    assert short.status_code == 422  # and the token was not spent:
    assert done.status_code == 200
    assert "Password changed" in done.text
    assert again.status_code == 400
    old = await client.post("/auth/token", data={"username": "ada", "password": DEFAULT_PASSWORD})
    new = await client.post("/auth/token", data={"username": "ada", "password": "my new password"})
    assert (old.status_code, new.status_code) == (401, 200)


async def test_a_token_is_shown_escaped(client: httpx.AsyncClient) -> None:
    page = await client.get(f"{ROOT}/verify-email", params={"token": '"><script>x</script>'})

    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "&lt;script&gt;" in page.text

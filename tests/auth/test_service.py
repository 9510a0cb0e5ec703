import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from phresh.auth import service as auth_service
from phresh.auth.exceptions import InvalidCredentials, InvalidToken, LoginRateLimited
from phresh.auth.repository import Client
from phresh.config import Settings
from phresh.db import Connection
from phresh.ratelimit import RateLimits
from tests.fixtures.factories import DEFAULT_PASSWORD, create_user, factory_session_id

CLIENT = Client(user_agent=None, address=None)


async def test_issued_token_reads_back_as_its_user(
    connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)

    session_id = factory_session_id(user.id)
    token = auth_service.create_access_token(settings, user.id, session_id)

    claims = auth_service.TokenReader(settings).claims(token.token)
    assert (claims.user_id, claims.session_id) == (user.id, session_id)
    assert token.expires_in == settings.jwt_expire_minutes * 60


def test_token_without_a_subject_is_refused(settings: Settings) -> None:
    now = datetime.now(UTC)
    claims = {
        "sid": str(factory_session_id(1)),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "exp": now + timedelta(minutes=5),
    }
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")

    with pytest.raises(InvalidToken):
        auth_service.TokenReader(settings).claims(token)


def test_token_with_a_non_numeric_subject_is_refused(settings: Settings) -> None:
    now = datetime.now(UTC)
    claims = {
        "sub": "admin",
        "sid": str(factory_session_id(1)),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "exp": now + timedelta(minutes=5),
    }
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")

    with pytest.raises(InvalidToken):
        auth_service.TokenReader(settings).claims(token)


async def test_log_in_with_right_password_returns_a_token(
    connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection, username="ada")

    tokens = await auth_service.log_in(
        connection,
        settings,
        RateLimits.from_settings(settings),
        "ada",
        DEFAULT_PASSWORD,
        CLIENT,
        auth_service.utc_now(),
    )

    assert auth_service.TokenReader(settings).claims(tokens.token.access_token).user_id == user.id


async def test_log_in_refuses_a_disabled_account_with_the_usual_message(
    connection: Connection, settings: Settings
) -> None:
    await create_user(connection, username="ada", is_active=False)

    with pytest.raises(InvalidCredentials) as refused:
        await auth_service.log_in(
            connection,
            settings,
            RateLimits.from_settings(settings),
            "ada",
            DEFAULT_PASSWORD,
            CLIENT,
            auth_service.utc_now(),
        )

    assert refused.value.detail == "Incorrect username, email or password."


async def test_a_cached_token_is_refused_once_its_expiry_passes(
    connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    token = auth_service.create_access_token(settings, user.id, factory_session_id(user.id)).token
    now = [time.time()]
    reader = auth_service.TokenReader(settings, clock=lambda: now[0])
    assert reader.claims(token).user_id == user.id

    now[0] += settings.jwt_expire_minutes * 60 + 1

    with pytest.raises(InvalidToken):
        reader.claims(token)


async def test_a_full_token_cache_is_emptied_not_grown(
    connection: Connection, settings: Settings
) -> None:
    users = [await create_user(connection, username=f"user{n}") for n in range(3)]
    tokens = [
        auth_service.create_access_token(settings, user.id, factory_session_id(user.id)).token
        for user in users
    ]
    reader = auth_service.TokenReader(settings, max_size=2)

    ids = [reader.claims(token).user_id for token in tokens]

    assert ids == [user.id for user in users]
    assert len(reader) == 1


def test_a_token_without_a_session_is_refused(settings: Settings) -> None:
    """Tokens from before sessions, or forged without one, carry no sid."""
    now = datetime.now(UTC)
    claims = {
        "sub": "1",
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "exp": now + timedelta(minutes=5),
    }
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")

    with pytest.raises(InvalidToken):
        auth_service.TokenReader(settings).claims(token)


async def test_a_login_counts_against_the_account_whichever_name_is_typed(
    connection: Connection, settings: Settings
) -> None:
    await create_user(connection, username="ada", email="ada@example.com")
    limits = RateLimits.from_settings(
        settings.model_copy(update={"rate_limit_login_per_account": "2/minute"})
    )
    attempts = ["ada", "ada@example.com", "ADA"]

    refused = []
    for login in attempts:
        try:
            await auth_service.log_in(
                connection, settings, limits, login, "wrong", CLIENT, auth_service.utc_now()
            )
        except (InvalidCredentials, LoginRateLimited) as exc:
            refused.append(type(exc))

    assert refused == [InvalidCredentials, InvalidCredentials, LoginRateLimited]

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from phresh.auth import service as auth_service
from phresh.auth.exceptions import InvalidCredentials, InvalidToken, LoginRateLimited
from phresh.auth.service import LoginRateLimiter
from phresh.config import Settings
from phresh.db import Connection
from tests.fixtures.factories import DEFAULT_PASSWORD, create_user


def test_limiter_allows_exactly_the_limit() -> None:
    limiter = LoginRateLimiter(limit=3, window_s=60)

    for _ in range(3):
        limiter.hit("10.0.0.1", "ada")

    with pytest.raises(LoginRateLimited):
        limiter.hit("10.0.0.1", "ada")


def test_limiter_refusal_carries_retry_after_within_the_window() -> None:
    limiter = LoginRateLimiter(limit=1, window_s=60)
    limiter.hit("10.0.0.1", "ada")

    with pytest.raises(LoginRateLimited) as refused:
        limiter.hit("10.0.0.1", "ada")

    assert refused.value.headers is not None
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60


def test_limiter_counts_a_login_name_case_insensitively() -> None:
    limiter = LoginRateLimiter(limit=1, window_s=60)
    limiter.hit("10.0.0.1", "Ada")

    with pytest.raises(LoginRateLimited):
        limiter.hit("10.0.0.1", "ADA")


def test_limiter_keeps_other_logins_and_clients_apart() -> None:
    limiter = LoginRateLimiter(limit=1, window_s=60)
    limiter.hit("10.0.0.1", "ada")

    limiter.hit("10.0.0.1", "ben")
    limiter.hit("10.0.0.2", "ada")

    with pytest.raises(LoginRateLimited):
        limiter.hit("10.0.0.1", "ada")


def test_limiter_forgives_once_the_window_has_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    limiter = LoginRateLimiter(limit=1, window_s=60)
    limiter.hit("10.0.0.1", "ada")

    clock[0] += 60

    limiter.hit("10.0.0.1", "ada")
    with pytest.raises(LoginRateLimited):
        limiter.hit("10.0.0.1", "ada")


async def test_issued_token_reads_back_as_its_user(
    connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)

    token = auth_service.create_access_token(settings, user.id)

    assert auth_service.TokenReader(settings).user_id(token.access_token) == user.id
    assert token.expires_in == settings.jwt_expire_minutes * 60


def test_token_without_a_subject_is_refused(settings: Settings) -> None:
    now = datetime.now(UTC)
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "exp": now + timedelta(minutes=5),
    }
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")

    with pytest.raises(InvalidToken):
        auth_service.TokenReader(settings).user_id(token)


def test_token_with_a_non_numeric_subject_is_refused(settings: Settings) -> None:
    now = datetime.now(UTC)
    claims = {
        "sub": "admin",
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "exp": now + timedelta(minutes=5),
    }
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")

    with pytest.raises(InvalidToken):
        auth_service.TokenReader(settings).user_id(token)


async def test_log_in_with_right_password_returns_a_token(
    connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection, username="ada")

    token = await auth_service.log_in(connection, settings, "ada", DEFAULT_PASSWORD)

    assert auth_service.TokenReader(settings).user_id(token.access_token) == user.id


async def test_log_in_refuses_a_disabled_account_with_the_usual_message(
    connection: Connection, settings: Settings
) -> None:
    await create_user(connection, username="ada", is_active=False)

    with pytest.raises(InvalidCredentials) as refused:
        await auth_service.log_in(connection, settings, "ada", DEFAULT_PASSWORD)

    assert refused.value.detail == "Incorrect username, email or password."


async def test_a_cached_token_is_refused_once_its_expiry_passes(
    connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    token = auth_service.create_access_token(settings, user.id).access_token
    now = [time.time()]
    reader = auth_service.TokenReader(settings, clock=lambda: now[0])
    assert reader.user_id(token) == user.id

    now[0] += settings.jwt_expire_minutes * 60 + 1

    with pytest.raises(InvalidToken):
        reader.user_id(token)


async def test_a_full_token_cache_is_emptied_not_grown(
    connection: Connection, settings: Settings
) -> None:
    users = [await create_user(connection, username=f"user{n}") for n in range(3)]
    tokens = [auth_service.create_access_token(settings, user.id).access_token for user in users]
    reader = auth_service.TokenReader(settings, max_size=2)

    ids = [reader.user_id(token) for token in tokens]

    assert ids == [user.id for user in users]
    assert len(reader) == 1

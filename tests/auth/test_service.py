import hashlib
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
from tests.fixtures.database import TEST_JWT_SECRET, make_settings
from tests.fixtures.factories import DEFAULT_PASSWORD, create_user, factory_session_id

CLIENT = Client(user_agent=None, address=None)
# Settings need a database URL to validate; the token checks never connect to it.
UNUSED_DATABASE_URL = "postgresql://phresh@127.0.0.1:1/unused"
NEW_SECRET = "the-next-secret-0123456789-0123456789-abcdef"


def sign(settings: Settings, claims: dict[str, object]) -> str:
    """``claims`` signed as the API signs, with its current key and that key's id."""
    secret = settings.jwt_secret.get_secret_value()
    return jwt.encode(
        claims, secret, algorithm="HS256", headers={"kid": auth_service.key_id(secret)}
    )


def token_at(settings: Settings, now: datetime) -> str:
    """A token as the API would mint it on a host whose clock reads ``now``."""
    session_id = factory_session_id(1)
    return auth_service.create_access_token(settings, 1, session_id, now=now).token


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
    token = sign(settings, claims)

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
    token = sign(settings, claims)

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


async def test_a_cached_token_is_refused_once_its_expiry_and_the_leeway_pass(
    connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    token = auth_service.create_access_token(settings, user.id, factory_session_id(user.id)).token
    now = [time.time()]
    reader = auth_service.TokenReader(settings, clock=lambda: now[0])
    assert reader.claims(token).user_id == user.id

    now[0] += settings.jwt_expire_minutes * 60 + settings.jwt_leeway_s + 1

    with pytest.raises(InvalidToken):
        reader.claims(token)


async def test_a_cached_token_is_still_accepted_within_the_leeway_as_a_fresh_check_would(
    connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    expired = datetime.now(UTC) - timedelta(minutes=settings.jwt_expire_minutes, seconds=5)
    token = auth_service.create_access_token(
        settings, user.id, factory_session_id(user.id), now=expired
    ).token
    now = [time.time()]
    reader = auth_service.TokenReader(settings, clock=lambda: now[0])
    # Expired 5 s ago, within the 30 s leeway: the check accepts it, and so does the cache.
    assert reader.claims(token).user_id == user.id

    now[0] += settings.jwt_leeway_s - 10

    assert reader.claims(token).user_id == user.id


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
    token = sign(settings, claims)

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


# Clock skew: the leeway


def test_a_token_minted_on_a_clock_2_s_ahead_is_accepted(settings: Settings) -> None:
    token = token_at(settings, datetime.now(UTC) + timedelta(seconds=2))

    assert auth_service.TokenReader(settings).claims(token).user_id == 1


def test_without_leeway_a_token_minted_on_a_clock_2_s_ahead_is_refused(
    settings: Settings,
) -> None:
    """Its iat is in the future: checked, with the leeway."""
    token = token_at(settings, datetime.now(UTC) + timedelta(seconds=2))
    strict = settings.model_copy(update={"jwt_leeway_s": 0})

    with pytest.raises(InvalidToken):
        auth_service.TokenReader(strict).claims(token)


def test_a_token_expired_within_the_leeway_is_accepted(settings: Settings) -> None:
    lifetime = timedelta(minutes=settings.jwt_expire_minutes)
    token = token_at(settings, datetime.now(UTC) - lifetime - timedelta(seconds=25))

    assert auth_service.TokenReader(settings).claims(token).user_id == 1


def test_a_token_expired_31_s_ago_is_refused_with_the_default_leeway(
    settings: Settings,
) -> None:
    assert settings.jwt_leeway_s == 30
    lifetime = timedelta(minutes=settings.jwt_expire_minutes)
    token = token_at(settings, datetime.now(UTC) - lifetime - timedelta(seconds=31))

    with pytest.raises(InvalidToken):
        auth_service.TokenReader(settings).claims(token)


# Key rotation: the kid


def test_a_new_token_names_the_current_key_and_is_signed_with_it(settings: Settings) -> None:
    rotated = make_settings(
        UNUSED_DATABASE_URL, jwt_secret=NEW_SECRET, jwt_previous_secrets=TEST_JWT_SECRET
    )

    token = token_at(rotated, datetime.now(UTC))

    assert jwt.get_unverified_header(token)["kid"] == auth_service.key_id(NEW_SECRET)
    assert auth_service.key_id(NEW_SECRET) != auth_service.key_id(TEST_JWT_SECRET)
    jwt.decode(token, NEW_SECRET, algorithms=["HS256"], audience=rotated.jwt_audience)


def test_a_key_id_says_nothing_of_its_secret() -> None:
    kid = auth_service.key_id(NEW_SECRET)

    assert len(kid) == 16
    assert kid not in NEW_SECRET
    assert kid != hashlib.sha256(NEW_SECRET.encode()).hexdigest()[:16]


def test_a_token_signed_with_a_previous_secret_is_accepted(settings: Settings) -> None:
    before = token_at(settings, datetime.now(UTC))
    rotated = make_settings(
        UNUSED_DATABASE_URL,
        jwt_secret=NEW_SECRET,
        jwt_previous_secrets=f"{'o' * 40}, {TEST_JWT_SECRET}",
    )

    assert auth_service.TokenReader(rotated).claims(before).user_id == 1


def test_a_token_signed_with_a_secret_no_longer_listed_is_refused(settings: Settings) -> None:
    before = token_at(settings, datetime.now(UTC))
    retired = make_settings(UNUSED_DATABASE_URL, jwt_secret=NEW_SECRET)

    with pytest.raises(InvalidToken):
        auth_service.TokenReader(retired).claims(before)


def test_a_token_without_a_key_id_is_refused(settings: Settings) -> None:
    """Even when signed with the current secret: every token the API issues names its key."""
    now = datetime.now(UTC)
    claims = {
        "sub": "1",
        "sid": str(factory_session_id(1)),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "exp": now + timedelta(minutes=5),
    }
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")

    with pytest.raises(InvalidToken):
        auth_service.TokenReader(settings).claims(token)


def test_a_token_naming_a_known_key_but_signed_with_another_is_refused(
    settings: Settings,
) -> None:
    forged = make_settings(UNUSED_DATABASE_URL, jwt_secret=NEW_SECRET)
    token = jwt.encode(
        jwt.decode(
            token_at(forged, datetime.now(UTC)),
            NEW_SECRET,
            algorithms=["HS256"],
            audience=forged.jwt_audience,
        ),
        NEW_SECRET,
        algorithm="HS256",
        headers={"kid": auth_service.key_id(TEST_JWT_SECRET)},
    )

    with pytest.raises(InvalidToken):
        auth_service.TokenReader(settings).claims(token)

"""All SQL about users and profiles."""

from phresh.db import Connection
from phresh.kit.repository import SqlBuilder, constraints_named, one, select_list
from phresh.models import Profile, User

USER_COLUMNS = select_list(User, "u")
PROFILE_COLUMNS = select_list(Profile, "p", username="u.username")
# Columns a profile update may set: ProfileUpdate's fields, spliced as constants.
PROFILE_FIELDS = frozenset({"full_name", "phone_number", "bio", "image_url"})

INSERT_USER = f"""
WITH u AS (
    INSERT INTO "user" (username, email, password_hash) VALUES ($1, $2, $3) RETURNING *
), p AS (
    INSERT INTO profile (user_id, full_name) SELECT id, $4 FROM u RETURNING user_id
)
SELECT {USER_COLUMNS} FROM u JOIN p ON p.user_id = u.id
"""  # noqa: S608 - USER_COLUMNS is a constant


async def insert_user(
    connection: Connection,
    *,
    username: str,
    email: str,
    password_hash: str,
    full_name: str | None,
) -> tuple[User, Profile]:
    """The user and their profile, in one statement; a taken name or email is a
    ConstraintViolation naming its unique constraint."""
    with constraints_named():
        record = await connection.fetchrow(INSERT_USER, username, email, password_hash, full_name)
    user = one(User, record)
    assert user is not None  # INSERT ... RETURNING always answers its row
    # The profile row as inserted: both rows' timestamps are the transaction's now().
    profile = Profile(
        user_id=user.id,
        username=user.username,
        full_name=full_name,
        phone_number=None,
        bio=None,
        image_url=None,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )
    return user, profile


USER_BY_ID = f'SELECT {USER_COLUMNS} FROM "user" u WHERE u.id = $1'  # noqa: S608


async def get_user_by_id(connection: Connection, user_id: int) -> User | None:
    return one(User, await connection.fetchrow(USER_BY_ID, user_id))


USER_BY_LOGIN = f'SELECT {USER_COLUMNS} FROM "user" u WHERE u.username = $1 OR u.email = $1'  # noqa: S608


async def get_user_by_login(connection: Connection, login: str) -> User | None:
    return one(User, await connection.fetchrow(USER_BY_LOGIN, login.lower()))


PROFILE_BY_USER_ID = (
    f'SELECT {PROFILE_COLUMNS} FROM profile p JOIN "user" u ON u.id = p.user_id '  # noqa: S608
    "WHERE p.user_id = $1"
)


async def get_profile(connection: Connection, user_id: int) -> Profile | None:
    return one(Profile, await connection.fetchrow(PROFILE_BY_USER_ID, user_id))


ACTIVE_PROFILE_BY_USERNAME = (
    f'SELECT {PROFILE_COLUMNS} FROM profile p JOIN "user" u ON u.id = p.user_id '  # noqa: S608
    "WHERE u.username = $1 AND u.is_active"
)


async def get_active_profile(connection: Connection, username: str) -> Profile | None:
    """The profile of an active user; None for an unknown or disabled one."""
    return one(Profile, await connection.fetchrow(ACTIVE_PROFILE_BY_USERNAME, username.lower()))


async def update_profile(
    connection: Connection, user_id: int, changes: dict[str, object]
) -> Profile | None:
    """Set ``changes`` (keys from PROFILE_FIELDS) and answer the profile as it now is."""
    query = SqlBuilder(user_id)
    assignments = query.assignments(changes, PROFILE_FIELDS)
    sql = (
        f"WITH p AS (UPDATE profile SET {assignments} "  # noqa: S608 - constants
        "WHERE user_id = $1 RETURNING *) "
        f'SELECT {PROFILE_COLUMNS} FROM p JOIN "user" u ON u.id = p.user_id'
    )
    return one(Profile, await connection.fetchrow(sql, *query.params))


USER_ID_BY_USERNAME = 'SELECT id FROM "user" WHERE username = $1'


async def get_user_id_by_username(connection: Connection, username: str) -> int | None:
    user_id: int | None = await connection.fetchval(USER_ID_BY_USERNAME, username.lower())
    return user_id


MAKE_SUPERUSER = 'UPDATE "user" SET is_superuser = true, email_verified = true WHERE id = $1'


async def make_superuser(connection: Connection, user_id: int) -> None:
    await connection.execute(MAKE_SUPERUSER, user_id)


MARK_EMAIL_VERIFIED = 'UPDATE "user" SET email_verified = true WHERE id = $1 AND email = $2'


async def mark_email_verified(connection: Connection, user_id: int, email: str) -> bool:
    """Whether the user still had ``email`` (now verified)."""
    return await connection.execute(MARK_EMAIL_VERIFIED, user_id, email) == "UPDATE 1"


# A reset link went to the account's address: following it proves the address too.
RESET_PASSWORD = """
UPDATE "user" SET password_hash = $3, email_verified = true
WHERE id = $1 AND email = $2 AND is_active
"""


async def reset_password(
    connection: Connection, user_id: int, email: str, password_hash: str
) -> bool:
    """Whether the active user still had ``email`` (their password is now set)."""
    result = await connection.execute(RESET_PASSWORD, user_id, email, password_hash)
    return result == "UPDATE 1"


SET_PASSWORD = 'UPDATE "user" SET password_hash = $2 WHERE id = $1'


async def set_password(connection: Connection, user_id: int, password_hash: str) -> None:
    await connection.execute(SET_PASSWORD, user_id, password_hash)


RENEW_PASSWORD_HASH = 'UPDATE "user" SET password_hash = $3 WHERE id = $1 AND password_hash = $2'


async def renew_password_hash(
    connection: Connection, user_id: int, old_hash: str, new_hash: str
) -> None:
    """The same password hashed with today's parameters, unless it changed meanwhile."""
    await connection.execute(RENEW_PASSWORD_HASH, user_id, old_hash, new_hash)


SET_EMAIL = f"""
UPDATE "user" u SET email = $2, email_verified = false WHERE id = $1 RETURNING {USER_COLUMNS}
"""  # noqa: S608 - USER_COLUMNS is a constant


async def set_email(connection: Connection, user_id: int, email: str) -> User | None:
    """The user with a new, unverified email; a taken email is a ConstraintViolation."""
    with constraints_named():
        return one(User, await connection.fetchrow(SET_EMAIL, user_id, email))

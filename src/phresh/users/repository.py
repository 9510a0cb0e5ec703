"""All SQL about users and profiles."""

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from phresh.kit.repository import ConstraintViolation, driver_connection, violated_constraint
from phresh.models import Profile, User


async def insert_user(session: AsyncSession, user: User, profile: Profile) -> User:
    session.add_all([user, profile])
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ConstraintViolation(violated_constraint(exc)) from exc
    return user


USER_BY_ID = """
SELECT id, username, email, password_hash, is_active, is_superuser, email_verified,
       created_at, updated_at
FROM "user" WHERE id = $1
"""


async def get_user_by_id(session: AsyncSession, user_id: int) -> User | None:
    """The user, read with plain SQL and attached to the session as if the ORM had loaded it.

    This runs on every authenticated request; ``session.get`` would cost about a millisecond
    of CPU in compilation and hydration for a one-row primary-key read.
    """
    existing = session.identity_map.get(identity_key(User, user_id))
    if isinstance(existing, User):
        return existing
    row = await (await driver_connection(session)).fetchrow(USER_BY_ID, user_id)
    if row is None:
        return None
    user = User(**dict(row))
    make_transient_to_detached(user)
    session.add(user)
    return user


async def get_user_with_profile(session: AsyncSession, user_id: int) -> User | None:
    statement = select(User).options(joinedload(User.profile)).where(User.id == user_id)
    return await session.scalar(statement)


async def get_user_by_login(session: AsyncSession, login: str) -> User | None:
    login = login.lower()
    statement = select(User).where(or_(User.username == login, User.email == login))
    return await session.scalar(statement)


async def get_profile_by_username(session: AsyncSession, username: str) -> Profile | None:
    statement = (
        select(Profile)
        .join(Profile.user)
        .options(joinedload(Profile.user))
        .where(User.username == username.lower())
    )
    return await session.scalar(statement)


async def get_profile(session: AsyncSession, user_id: int) -> Profile | None:
    return await session.get(Profile, user_id)


async def get_user_id_by_username(session: AsyncSession, username: str) -> int | None:
    user_id: int | None = await (await driver_connection(session)).fetchval(
        'SELECT id FROM "user" WHERE username = $1', username.lower()
    )
    return user_id


async def flush(session: AsyncSession) -> None:
    await session.flush()

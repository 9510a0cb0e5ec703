"""All SQL about users and profiles."""

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from phresh.kit.repository import flush as flush  # re-exported: services save through it
from phresh.models import Profile, User


async def insert_user(session: AsyncSession, user: User, profile: Profile) -> User:
    await flush(session, user, profile)
    return user


async def get_user_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


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
    return await session.scalar(select(User.id).where(User.username == username.lower()))

"""The database refuses bad rows by itself: CHECKs, FKs and uniques, tried with raw SQL."""

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from phresh.kit.repository import violated_constraint
from phresh.models import User
from tests.fixtures.factories import create_cleaning, create_user

GOOD_CLEANING = {
    "name": "Spring clean",
    "description": "Three rooms.",
    "cleaning_type": "spot_clean",
    "price": "25.00",
    "status": "open",
    "deleted_at": None,
}


async def refused_constraint(session: AsyncSession, sql: str, params: dict[str, Any]) -> str:
    """Run ``sql`` in a savepoint, expect an IntegrityError, and name the constraint."""
    with pytest.raises(IntegrityError) as refused:
        async with session.begin_nested():
            await session.execute(text(sql), params)
    name = violated_constraint(refused.value)
    assert name is not None
    return name


async def insert_cleaning(session: AsyncSession, owner: User, **overrides: Any) -> str:
    return await refused_constraint(
        session,
        "INSERT INTO cleaning (owner_id, name, description, cleaning_type, price, status, "
        "deleted_at) VALUES (:owner_id, :name, :description, :cleaning_type, :price, :status, "
        ":deleted_at)",
        {**GOOD_CLEANING, "owner_id": owner.id, **overrides},
    )


async def insert_user(session: AsyncSession, username: str, email: str) -> str:
    return await refused_constraint(
        session,
        'INSERT INTO "user" (username, email, password_hash) VALUES (:username, :email, :hash)',
        {"username": username, "email": email, "hash": "x"},
    )


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"price": "0"}, "ck_cleaning_price_positive"),
        ({"price": "-5"}, "ck_cleaning_price_positive"),
        ({"status": "bogus"}, "ck_cleaning_status_valid"),
        ({"cleaning_type": "x"}, "ck_cleaning_cleaning_type_valid"),
        ({"name": "   "}, "ck_cleaning_name_not_blank"),
        ({"name": ""}, "ck_cleaning_name_not_blank"),
        ({"description": "d" * 5001}, "ck_cleaning_description_length"),
        ({"deleted_at": datetime(2026, 1, 1, tzinfo=UTC)}, "ck_cleaning_deleted_is_closed"),
    ],
    ids=[
        "price-zero",
        "price-negative",
        "status-bogus",
        "type-unknown",
        "name-blank",
        "name-empty",
        "description-long",
        "deleted-but-open",
    ],
)
async def test_database_refuses_a_bad_cleaning(
    session: AsyncSession, overrides: dict[str, Any], constraint: str
) -> None:
    owner = await create_user(session)

    assert await insert_cleaning(session, owner, **overrides) == constraint


async def test_database_refuses_a_cleaning_without_an_owner(session: AsyncSession) -> None:
    owner = User(id=2**62)

    assert await insert_cleaning(session, owner) == "fk_cleaning_owner_id_user"


@pytest.mark.parametrize(
    ("username", "email", "constraint"),
    [
        ("Bad Name", "bad@example.com", "ck_user_username_format"),
        ("UPPER", "upper@example.com", "ck_user_username_format"),
        ("ab", "ab@example.com", "ck_user_username_format"),
        ("shouty", "Shouty@Example.com", "ck_user_email_lower"),
    ],
    ids=["space", "upper-case-username", "too-short", "upper-case-email"],
)
async def test_database_refuses_a_bad_user(
    session: AsyncSession, username: str, email: str, constraint: str
) -> None:
    assert await insert_user(session, username, email) == constraint


async def test_database_refuses_a_duplicate_email(session: AsyncSession) -> None:
    await create_user(session, username="first", email="same@example.com")

    assert await insert_user(session, "second", "same@example.com") == "uq_user_email"


async def test_database_refuses_a_duplicate_username(session: AsyncSession) -> None:
    await create_user(session, username="taken", email="one@example.com")

    assert await insert_user(session, "taken", "two@example.com") == "uq_user_username"


async def test_database_refuses_an_overlong_bio(session: AsyncSession) -> None:
    user = await create_user(session)

    constraint = await refused_constraint(
        session,
        "UPDATE profile SET bio = :bio WHERE user_id = :id",
        {"bio": "b" * 2001, "id": user.id},
    )

    assert constraint == "ck_profile_bio_length"


async def test_a_good_row_goes_in_after_a_refused_one(session: AsyncSession) -> None:
    owner = await create_user(session)
    await insert_cleaning(session, owner, price="0")

    cleaning = await create_cleaning(session, owner=owner)

    assert cleaning.id is not None


async def test_updated_at_is_kept_by_the_database_whatever_the_writer_sends(
    session: AsyncSession,
) -> None:
    owner = await create_user(session)
    cleaning = await create_cleaning(session, owner=owner)

    await session.execute(
        text("UPDATE cleaning SET updated_at = '2000-01-01T00:00:00Z' WHERE id = :id"),
        {"id": cleaning.id},
    )

    updated_at = await session.scalar(
        text("SELECT updated_at FROM cleaning WHERE id = :id"), {"id": cleaning.id}
    )
    assert updated_at is not None
    assert updated_at.year != 2000


async def test_deleting_a_user_deletes_their_profile_and_cleanings(
    session: AsyncSession,
) -> None:
    owner = await create_user(session)
    await create_cleaning(session, owner=owner)

    await session.execute(text('DELETE FROM "user" WHERE id = :id'), {"id": owner.id})

    remaining = await session.scalar(
        text(
            "SELECT (SELECT count(*) FROM profile WHERE user_id = :id) "
            "+ (SELECT count(*) FROM cleaning WHERE owner_id = :id)"
        ),
        {"id": owner.id},
    )
    assert remaining == 0

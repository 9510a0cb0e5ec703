"""The database refuses bad rows by itself: CHECKs, FKs and uniques, tried with raw SQL."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from phresh.db import Connection
from tests.fixtures.factories import (
    create_cleaning,
    create_evaluation,
    create_offer,
    create_user,
)

GOOD_CLEANING: dict[str, Any] = {
    "name": "Spring clean",
    "description": "Three rooms.",
    "cleaning_type": "spot_clean",
    "price": Decimal("25.00"),
    "status": "open",
    "deleted_at": None,
}
NO_SUCH_USER = 2**62


async def refused_constraint(connection: Connection, sql: str, *args: Any) -> str:
    """Run ``sql`` in a savepoint (the test's transaction survives the refusal), expect an
    integrity error, and name the constraint the database reports."""
    with pytest.raises(asyncpg.IntegrityConstraintViolationError) as refused:
        async with connection.transaction():
            await connection.execute(sql, *args)
    name = refused.value.constraint_name
    assert name is not None
    return name


async def insert_cleaning(connection: Connection, owner_id: int, **overrides: Any) -> str:
    row = {**GOOD_CLEANING, **overrides}
    return await refused_constraint(
        connection,
        "INSERT INTO cleaning (owner_id, name, description, cleaning_type, price, status, "
        "deleted_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        owner_id,
        row["name"],
        row["description"],
        row["cleaning_type"],
        row["price"],
        row["status"],
        row["deleted_at"],
    )


async def insert_user(connection: Connection, username: str, email: str) -> str:
    return await refused_constraint(
        connection,
        'INSERT INTO "user" (username, email, password_hash) VALUES ($1, $2, $3)',
        username,
        email,
        "x",
    )


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"price": Decimal(0)}, "ck_cleaning_price_positive"),
        ({"price": Decimal(-5)}, "ck_cleaning_price_positive"),
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
    connection: Connection, overrides: dict[str, Any], constraint: str
) -> None:
    owner = await create_user(connection)

    assert await insert_cleaning(connection, owner.id, **overrides) == constraint


async def test_database_refuses_a_cleaning_without_an_owner(connection: Connection) -> None:
    assert await insert_cleaning(connection, NO_SUCH_USER) == "fk_cleaning_owner_id_user"


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
    connection: Connection, username: str, email: str, constraint: str
) -> None:
    assert await insert_user(connection, username, email) == constraint


async def test_database_refuses_a_duplicate_email(connection: Connection) -> None:
    await create_user(connection, username="first", email="same@example.com")

    assert await insert_user(connection, "second", "same@example.com") == "uq_user_email"


async def test_database_refuses_a_duplicate_username(connection: Connection) -> None:
    await create_user(connection, username="taken", email="one@example.com")

    assert await insert_user(connection, "taken", "two@example.com") == "uq_user_username"


async def test_database_refuses_an_overlong_bio(connection: Connection) -> None:
    user = await create_user(connection)

    constraint = await refused_constraint(
        connection, "UPDATE profile SET bio = $1 WHERE user_id = $2", "b" * 2001, user.id
    )

    assert constraint == "ck_profile_bio_length"


async def test_a_good_row_goes_in_after_a_refused_one(connection: Connection) -> None:
    owner = await create_user(connection)
    await insert_cleaning(connection, owner.id, price=Decimal(0))

    cleaning = await create_cleaning(connection, owner=owner)

    assert await connection.fetchval("SELECT count(*) FROM cleaning WHERE id = $1", cleaning.id)


@pytest.mark.parametrize("table", ["user", "profile", "cleaning", "offer", "evaluation"])
async def test_updated_at_is_kept_by_the_database_whatever_the_writer_sends(
    connection: Connection, table: str
) -> None:
    owner = await create_user(connection)
    cleaner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)
    offer = await create_offer(connection, cleaning=cleaning, cleaner=cleaner)
    await create_evaluation(connection, offer=offer)

    await connection.execute(f"UPDATE \"{table}\" SET updated_at = '2000-01-01T00:00:00Z'")

    # The trigger stamps the transaction's now() on every row it updated.
    stamped = await connection.fetch(f'SELECT updated_at = now() AS now, updated_at FROM "{table}"')
    assert stamped
    assert all(row["now"] for row in stamped), [row["updated_at"] for row in stamped]


async def test_deleting_a_user_deletes_their_profile_and_cleanings(
    connection: Connection,
) -> None:
    owner = await create_user(connection)
    await create_cleaning(connection, owner=owner)

    await connection.execute('DELETE FROM "user" WHERE id = $1', owner.id)

    remaining = await connection.fetchval(
        "SELECT (SELECT count(*) FROM profile WHERE user_id = $1) "
        "+ (SELECT count(*) FROM cleaning WHERE owner_id = $1)",
        owner.id,
    )
    assert remaining == 0


async def test_deleting_a_cleaning_deletes_its_offers_and_evaluation(
    connection: Connection,
) -> None:
    owner = await create_user(connection)
    cleaner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)
    offer = await create_offer(connection, cleaning=cleaning, cleaner=cleaner)
    await create_evaluation(connection, offer=offer)

    await connection.execute("DELETE FROM cleaning WHERE id = $1", cleaning.id)

    remaining = await connection.fetchval(
        "SELECT (SELECT count(*) FROM offer WHERE cleaning_id = $1) "
        "+ (SELECT count(*) FROM evaluation WHERE cleaning_id = $1)",
        cleaning.id,
    )
    assert remaining == 0

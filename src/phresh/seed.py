"""Demo data in bulk. COPY, not ORM inserts: a million cleanings take seconds, not hours.

Every demo user's password is ``DEMO_PASSWORD``; one argon2 hash serves them all.
"""

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from phresh.config import to_async_url
from phresh.users.service import hash_password

DEMO_PASSWORD = "phresh-demo-password"  # noqa: S105 - documented demo credential

FIRST = ["ada", "ben", "cleo", "dan", "eva", "finn", "gia", "hugo", "ines", "jon", "kai", "lea"]
ROOMS = ["studio", "one-bedroom flat", "two-bedroom flat", "family house", "loft", "office"]
JOBS = [
    ("dust_up", "Quick dust-up of the {room}", "Dust shelves, skirting boards and sills."),
    ("spot_clean", "Spot clean: {room} kitchen", "Hob, oven front, sink and counters cleaned."),
    (
        "spot_clean",
        "Bathroom refresh in a {room}",
        "Limescale off taps and tiles, mirror polished.",
    ),
    ("full_clean", "Deep clean of a {room}", "Every room cleaned top to bottom, windows inside."),
    (
        "full_clean",
        "End-of-tenancy clean, {room}",
        "Cleaned to deposit standard: oven, fridge, floors.",
    ),
]


def _asyncpg_dsn(url: str) -> str:
    return to_async_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


def _users(count: int, start: int, password_hash: str) -> Iterator[tuple[object, ...]]:
    for n in range(start, start + count):
        name = f"{FIRST[n % len(FIRST)]}{n}"
        yield (name, f"{name}@example.com", password_hash, True, False, True)


def _cleanings(
    rng: random.Random, count: int, owner_ids: list[int], now: datetime
) -> Iterator[tuple[object, ...]]:
    for _ in range(count):
        cleaning_type, name, description = rng.choice(JOBS)
        room = rng.choice(ROOMS)
        created = now - timedelta(seconds=rng.randrange(0, 365 * 24 * 3600))
        price = Decimal(rng.randrange(1500, 9000)) / 100
        yield (
            rng.choice(owner_ids),
            name.format(room=room),
            description,
            cleaning_type,
            price,
            created,
            created,
        )


async def seed(url: str, *, users: int, cleanings: int, random_seed: int) -> str:
    rng = random.Random(random_seed)  # noqa: S311 - demo data, not secrets
    started = time.perf_counter()
    password_hash = await hash_password(DEMO_PASSWORD)
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        async with conn.transaction():
            start = (await conn.fetchval('SELECT count(*) FROM "user"')) or 0
            await conn.copy_records_to_table(
                "user",
                records=_users(users, start, password_hash),
                columns=[
                    "username",
                    "email",
                    "password_hash",
                    "is_active",
                    "is_superuser",
                    "email_verified",
                ],
            )
            rows = await conn.fetch('SELECT id FROM "user" ORDER BY id DESC LIMIT $1', users)
            owner_ids = [row["id"] for row in rows]
            await conn.execute(
                "INSERT INTO profile (user_id, full_name) "
                "SELECT id, initcap(regexp_replace(username, '[0-9]+$', '')) FROM \"user\" u "
                "WHERE NOT EXISTS (SELECT 1 FROM profile p WHERE p.user_id = u.id)"
            )
            await conn.copy_records_to_table(
                "cleaning",
                records=_cleanings(rng, cleanings, owner_ids, datetime.now(UTC)),
                columns=[
                    "owner_id",
                    "name",
                    "description",
                    "cleaning_type",
                    "price",
                    "created_at",
                    "updated_at",
                ],
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    elapsed = time.perf_counter() - started
    return (
        f"seeded {users} users and {cleanings} cleanings in {elapsed:.1f} s "
        f"(demo password: {DEMO_PASSWORD})"
    )

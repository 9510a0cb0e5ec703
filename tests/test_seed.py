"""The bulk seed: believable proportions, every index back, every foreign key intact."""

import asyncio

import asyncpg
import pytest

from phresh import migrations, seed


async def _fetch(url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(query)
        return rows
    finally:
        await conn.close()


# Names, uniqueness, partiality and columns: what a rebuilt index must match (the definition's
# text is re-rendered by PostgreSQL, so it is not compared verbatim).
INDEXES = """
SELECT c.relname, i.indisunique, i.indpred IS NOT NULL AS partial, i.indkey::text AS columns
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' ORDER BY 1
"""


async def test_bulk_seed_rebuilds_every_index_and_keeps_the_rules(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await asyncio.to_thread(migrations.upgrade, empty_database_url)
    before = await _fetch(empty_database_url, INDEXES)
    monkeypatch.setattr(seed, "BULK_THRESHOLD", 100)

    report = await seed.seed(empty_database_url, users=30, cleanings=600, random_seed=7)

    assert "indexes" in report
    assert await _fetch(empty_database_url, INDEXES) == before
    [counts] = await _fetch(
        empty_database_url,
        """
        SELECT (SELECT count(*) FROM "user") AS users,
               (SELECT count(*) FROM profile) AS profiles,
               (SELECT count(*) FROM cleaning) AS cleanings,
               (SELECT count(*) FROM cleaning WHERE status = 'open') AS open,
               (SELECT count(*) FROM offer o JOIN cleaning c ON c.id = o.cleaning_id
                 WHERE o.cleaner_id = c.owner_id) AS self_offers,
               (SELECT count(*) FROM cleaning c WHERE c.status IN ('assigned', 'completed')
                 AND NOT EXISTS (SELECT 1 FROM offer o WHERE o.cleaning_id = c.id
                                 AND o.status IN ('accepted', 'completed'))) AS unstaffed,
               (SELECT count(*) FROM evaluation) AS evaluations,
               (SELECT count(*) FROM cleaning WHERE status = 'completed') AS completed
        """,
    )
    assert counts["users"] == counts["profiles"] == 30
    assert counts["cleanings"] == 600
    assert 0.6 < counts["open"] / 600 < 0.8
    assert counts["self_offers"] == 0
    assert counts["unstaffed"] == 0
    assert counts["evaluations"] == counts["completed"] > 0


async def test_seed_is_repeatable_and_adds_to_existing_data(empty_database_url: str) -> None:
    await asyncio.to_thread(migrations.upgrade, empty_database_url)

    await seed.seed(empty_database_url, users=5, cleanings=20, random_seed=1)
    await seed.seed(empty_database_url, users=5, cleanings=20, random_seed=1)

    [counts] = await _fetch(
        empty_database_url,
        'SELECT (SELECT count(*) FROM "user") AS users, (SELECT count(*) FROM cleaning) AS c',
    )
    assert (counts["users"], counts["c"]) == (10, 40)


INSERT_USER = "INSERT INTO \"user\" (username, email, password_hash) VALUES ($1, $2, 'h')"


async def test_seed_after_used_up_ids_gives_every_row_an_existing_user(
    empty_database_url: str,
) -> None:
    await asyncio.to_thread(migrations.upgrade, empty_database_url)
    conn = await asyncpg.connect(empty_database_url)
    try:
        await conn.execute(INSERT_USER, "taken", "t@x.io")
        # A failed insert uses up an id, as a refused duplicate sign-up does.
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(INSERT_USER, "taken", "u@x.io")
        await conn.execute("""SELECT nextval(pg_get_serial_sequence('"user"', 'id'))""")
    finally:
        await conn.close()

    report = await seed.seed(empty_database_url, users=3, cleanings=30, random_seed=2)

    assert "seeded 3 users, 30 cleanings" in report
    [counts] = await _fetch(
        empty_database_url,
        """
        SELECT (SELECT count(*) FROM "user") AS users,
               (SELECT count(*) FROM profile) AS profiles,
               (SELECT count(DISTINCT owner_id) FROM cleaning) AS owners,
               (SELECT count(*) FROM cleaning c JOIN "user" u ON u.id = c.owner_id
                 WHERE u.username <> 'taken') AS owned_by_new_users,
               (SELECT count(*) FROM offer o JOIN "user" u ON u.id = o.cleaner_id
                 WHERE u.username <> 'taken') AS offers_by_new_users,
               (SELECT count(*) FROM offer) AS offers
        """,
    )
    assert (counts["users"], counts["profiles"]) == (4, 3)
    assert counts["owners"] == 3
    assert counts["owned_by_new_users"] == 30
    assert counts["offers_by_new_users"] == counts["offers"] > 0


async def test_seed_names_a_few_demo_logins_and_the_password(empty_database_url: str) -> None:
    await asyncio.to_thread(migrations.upgrade, empty_database_url)

    report = await seed.seed(empty_database_url, users=5, cleanings=0, random_seed=1)

    logins = report.splitlines()[-1]
    names = await _fetch(empty_database_url, 'SELECT username FROM "user" ORDER BY id LIMIT 3')
    assert logins == (
        f"log in as any demo user ({', '.join(row['username'] for row in names)}, ...) "
        f"with the password {seed.DEMO_PASSWORD}"
    )


SESSION_SETTINGS = (
    "SELECT current_setting('synchronous_commit') AS synchronous_commit, "
    "current_setting('maintenance_work_mem') AS maintenance_work_mem, "
    "current_setting('session_replication_role') AS session_replication_role"
)


async def test_seed_leaves_its_session_as_it_found_it(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Through a transaction pooler the seed's server connection next serves the API: a
    # session-level SET would make the API's writes skip the WAL flush. The seed closes its
    # connection, so its session is looked at just before it goes.
    await asyncio.to_thread(migrations.upgrade, empty_database_url)
    [fresh] = await _fetch(empty_database_url, SESSION_SETTINGS)
    monkeypatch.setattr(seed, "BULK_THRESHOLD", 10)  # its bulk path SETs the most
    at_close: list[dict[str, str]] = []
    close = asyncpg.Connection.close

    async def close_after_a_look(connection: "asyncpg.Connection[asyncpg.Record]") -> None:
        if not connection.is_closed():
            row = await connection.fetchrow(SESSION_SETTINGS)
            assert row is not None
            at_close.append(dict(row))
        await close(connection)

    monkeypatch.setattr(asyncpg.Connection, "close", close_after_a_look)

    report = await seed.seed(empty_database_url, users=5, cleanings=20, random_seed=1)

    assert "indexes" in report
    assert at_close == [dict(fresh)]
    assert fresh["synchronous_commit"] == "on"

"""The benchmark database: one embedded PostgreSQL, one database per data size.

Each size lives in its own database (``bench_10k``, ``bench_100k``, ``bench_1m``) on the server
in ``var/bench-pgdata``, so every size is seeded once and then reused: a database is re-seeded
(TRUNCATE ... CASCADE, then ``phresh.seed.seed``) only when its row counts differ from the
wanted size. Whatever a benchmark writes (new cleanings, the accept plan) has ids above the
seeded ones and is deleted again afterwards, so the counts stay put between runs.
"""

import asyncio
import hashlib
import inspect
import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
from alembic.util import CommandError
from pydantic import SecretStr

from bench.reference import sql
from phresh import embedded, migrations
from phresh import seed as seeding
from phresh.auth.service import create_access_token
from phresh.cleanings import search
from phresh.cleanings.schemas import CleaningListQuery
from phresh.config import Settings, to_libpq_url
from phresh.main import create_app

# A fixed secret: the servers and the tokens minted here must agree, nothing else.
BENCH_JWT_SECRET = "phresh-bench-secret-not-for-production-0123456789"  # noqa: S105
USERS = 10_000
RANDOM_SEED = 42

# Rotated through by the search benchmark: common words, phrases, rare combinations, a NOT.
SEARCH_QUERIES = [
    "oven",
    "window wash",
    "carpet shampoo",
    '"end of tenancy"',
    "mould treatment hackney",
    "grout bathroom",
    "sofa steam -pet",
    "fridge freezer defrost",
    "toddler eco products",
    "patio jet wash",
    "hoover",
    "loft apartment shoreditch",
]


def seed_stamp() -> str:
    """What seeded a database: the seed's code and random seed. Kept as the database's
    comment, so a database seeded by an older phresh/seed.py is seeded again."""
    source = inspect.getsource(seeding)
    return f"phresh-seed {hashlib.sha256(source.encode()).hexdigest()[:16]} {RANDOM_SEED}"


def database_name(cleanings: int) -> str:
    if cleanings % 1_000_000 == 0:
        return f"bench_{cleanings // 1_000_000}m"
    if cleanings % 1_000 == 0:
        return f"bench_{cleanings // 1_000}k"
    return f"bench_{cleanings}"


def dsn(url: str) -> str:
    """The libpq form of ``url``, as asyncpg.connect takes it."""
    return to_libpq_url(url)


def bench_settings(database_url: str) -> Settings:
    """The settings the servers run with, as far as tokens and cursors are concerned."""
    return Settings(
        _env_file=None,
        environment="production",
        database_url=SecretStr(database_url),
        jwt_secret=SecretStr(BENCH_JWT_SECRET),
        jwt_expire_minutes=24 * 60,
    )


def bench_session_id(user_id: int) -> uuid.UUID:
    """The session prepare_database gives each user, which the bench's tokens belong to."""
    return uuid.UUID(int=user_id)


# One live session per user, with the id bench_session_id gives it.
BENCH_SESSIONS = """
INSERT INTO auth_session (id, user_id, expires_at)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(id), 12, '0'))::uuid, id,
       now() + interval '1 year'
FROM "user"
ON CONFLICT (id) DO UPDATE SET revoked_at = NULL, revoked_reason = NULL,
    expires_at = EXCLUDED.expires_at
"""


def mint_token(settings: Settings, user_id: int) -> str:
    return create_access_token(settings, user_id, bench_session_id(user_id)).token


class BenchServer:
    """The embedded PostgreSQL for benchmarks, started (or joined) for the run."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.server = embedded.start_server(pgdata)
        self.server_url = embedded.database_url(self.server, "postgres")

    @property
    def pid(self) -> int | None:
        pid: int | None = self.server.get_pid()
        return pid

    def url(self, database: str) -> str:
        return embedded.with_database(self.server_url, database)

    def stop(self) -> None:
        embedded.stop_server(self.server)


@dataclass
class Prepared:
    """A seeded database and what the load scripts need from it."""

    size: int
    url: str
    seed_report: str
    max_cleaning_id: int
    counts: dict[str, int]


async def _counts(conn: Any) -> dict[str, int]:
    row = await conn.fetchrow(
        'SELECT (SELECT count(*) FROM "user") AS users, (SELECT count(*) FROM cleaning) '
        "AS cleanings, (SELECT count(*) FROM offer) AS offers, "
        "(SELECT count(*) FROM evaluation) AS evaluations"
    )
    return dict(row)


async def prepare_database(server: BenchServer, cleanings: int, *, log: Any) -> Prepared:
    """Create, migrate and (only if the counts are off) seed the database for ``cleanings``."""
    name = database_name(cleanings)
    await embedded.ensure_database(server.server_url, name)
    url = server.url(name)
    try:
        await asyncio.to_thread(migrations.upgrade, url)
    except CommandError as exc:
        # Migrated by another Phresh (a newer work tree than --phresh-rev, say) to a revision
        # this one does not know: start the database again.
        log(f"{name}: {exc}; recreating it")
        await embedded.drop_database(server.server_url, name)
        await embedded.ensure_database(server.server_url, name)
        await asyncio.to_thread(migrations.upgrade, url)
    conn = await asyncpg.connect(dsn(url))
    try:
        counts = await _counts(conn)
        report = "kept (row counts match)"
        stamp = seed_stamp()
        seeded_with = await conn.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            name,
        )
        if counts["users"] != USERS or counts["cleanings"] != cleanings or seeded_with != stamp:
            why = (
                f"found {counts['users']} users, {counts['cleanings']} cleanings"
                if seeded_with == stamp or counts["cleanings"] != cleanings
                else "phresh/seed.py changed since it was seeded"
            )
            log(f"seeding {name}: {USERS} users, {cleanings} cleanings ({why})")
            await conn.execute(
                'TRUNCATE evaluation, offer, cleaning, profile, "user" RESTART IDENTITY CASCADE'
            )
            report = await seeding.seed(
                url, users=USERS, cleanings=cleanings, random_seed=RANDOM_SEED
            )
            log(report)
            counts = await _counts(conn)
            await conn.execute(f"COMMENT ON DATABASE {name} IS '{stamp}'")
        await conn.execute(BENCH_SESSIONS)
        max_id = await conn.fetchval("SELECT coalesce(max(id), 0) FROM cleaning")
    finally:
        await conn.close()
    return Prepared(cleanings, url, report, max_id, counts)


async def cleanup(prepared: Prepared) -> int:
    """Delete what the benchmarks wrote (ids above the seed's) and vacuum the dead rows away,
    so the next list or feed page does not wade through them."""
    conn = await asyncpg.connect(dsn(prepared.url))
    try:
        status = await conn.execute("DELETE FROM cleaning WHERE id > $1", prepared.max_cleaning_id)
        await conn.execute("VACUUM (ANALYZE) cleaning, offer")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    return int(status.split()[-1])


async def checkpoint(prepared: Prepared) -> None:
    """Flush dirty pages now, so a checkpoint's writes do not land in a measured run."""
    conn = await asyncpg.connect(dsn(prepared.url))
    try:
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def sample_cleaning_ids(prepared: Prepared, count: int) -> list[int]:
    """Live (not deleted) seeded cleanings, any status: what GET /cleanings/{id} can show."""
    rng = random.Random(RANDOM_SEED)  # noqa: S311 - a sample, not a secret
    candidates = [rng.randint(1, prepared.max_cleaning_id) for _ in range(count * 2)]
    conn = await asyncpg.connect(dsn(prepared.url))
    try:
        rows = await conn.fetch(
            "SELECT id FROM unnest($1::bigint[]) WITH ORDINALITY AS c(id, n) "
            "WHERE EXISTS (SELECT 1 FROM cleaning WHERE cleaning.id = c.id "
            "AND deleted_at IS NULL) ORDER BY n",
            candidates,
        )
    finally:
        await conn.close()
    return [row["id"] for row in rows][:count]


async def sample_cleaners(prepared: Prepared, count: int) -> list[str]:
    """Usernames of cleaners with evaluations, busiest first (the stats have work to do)."""
    conn = await asyncpg.connect(dsn(prepared.url))
    try:
        rows = await conn.fetch(
            'SELECT u.username FROM evaluation e JOIN "user" u ON u.id = e.cleaner_id '
            "GROUP BY u.username ORDER BY count(*) DESC, u.username LIMIT $1",
            count,
        )
    finally:
        await conn.close()
    return [row["username"] for row in rows]


async def first_user_id(prepared: Prepared) -> int:
    conn = await asyncpg.connect(dsn(prepared.url))
    try:
        user_id: int = await conn.fetchval('SELECT min(id) FROM "user" WHERE is_active')
    finally:
        await conn.close()
    return user_id


async def deep_cursor(
    prepared: Prepared, settings: Settings, depth: float, limit: int
) -> tuple[str, datetime, int]:
    """A cursor for the page of GET /cleanings that starts ``depth`` (0-1) into the open
    cleanings, newest first: the row there is found with OFFSET once, then signed with
    Phresh's own codec and scope, exactly as a client walking the pages would hold it."""
    conn = await asyncpg.connect(dsn(prepared.url))
    try:
        open_count = await conn.fetchval(
            "SELECT count(*) FROM cleaning WHERE status = 'open' AND deleted_at IS NULL"
        )
        row = await conn.fetchrow(
            "SELECT created_at, id FROM cleaning WHERE status = 'open' AND deleted_at IS NULL "
            "ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1",
            max(0, int(open_count * depth) - 1),
        )
    finally:
        await conn.close()
    assert row is not None, "the bench database has no open cleaning"
    created_at: datetime = row["created_at"]
    codec = create_app(settings).state.cursor_codec
    scope = CleaningListQuery(limit=limit).cursor_scope()
    cursor: str = codec.encode_cursor(scope, [created_at.isoformat(), row["id"]])
    return cursor, created_at, row["id"]


@dataclass
class AcceptPlan:
    cleaning_ids: list[int]
    # One line a wrk thread: "<cleaning id> <owner token>"
    lines: list[str]
    # "<username> <token>", shared by every thread (an offer is per cleaning and cleaner)
    cleaners: list[str]


async def create_accept_plan(
    prepared: Prepared, settings: Settings, threads: int, cleaners: int
) -> AcceptPlan:
    """One open cleaning per wrk thread, each owned by its own seeded user, and ``cleaners``
    other seeded users to offer on them in turn. Created long ago, so they stay off the first
    pages of the listings."""
    conn = await asyncpg.connect(dsn(prepared.url))
    try:
        users = await conn.fetch(
            'SELECT id, username FROM "user" WHERE is_active ORDER BY id LIMIT $1',
            threads + cleaners,
        )
        if len(users) < threads + cleaners:
            msg = f"the accept plan needs {threads + cleaners} users"
            raise RuntimeError(msg)
        lines, cleaning_ids = [], []
        async with conn.transaction():
            for index, owner in enumerate(users[:threads]):
                cleaning_id = await conn.fetchval(
                    "INSERT INTO cleaning (owner_id, name, description, cleaning_type, price, "
                    "created_at, updated_at) VALUES ($1, $2, 'Accept benchmark', 'full_clean', "
                    "40, now() - interval '1000 days', now() - interval '1000 days') RETURNING id",
                    owner["id"],
                    f"Bench accept {index}",
                )
                cleaning_ids.append(cleaning_id)
                lines.append(f"{cleaning_id} {mint_token(settings, owner['id'])}")
    finally:
        await conn.close()
    offering = [f"{u['username']} {mint_token(settings, u['id'])}" for u in users[threads:]]
    return AcceptPlan(cleaning_ids, lines, offering)


async def reset_accept_plan(prepared: Prepared, plan: AcceptPlan) -> None:
    """Every plan cleaning open again with no offers, whatever the last run cut off."""
    conn = await asyncpg.connect(dsn(prepared.url))
    try:
        async with conn.transaction():
            await conn.execute(
                "DELETE FROM offer WHERE cleaning_id = ANY($1::bigint[])", plan.cleaning_ids
            )
            await conn.execute(
                "UPDATE cleaning SET status = 'open' WHERE id = ANY($1::bigint[]) "
                "AND status <> 'open'",
                plan.cleaning_ids,
            )
    finally:
        await conn.close()


async def server_facts(url: str) -> dict[str, str]:
    conn = await asyncpg.connect(dsn(url))
    try:
        facts = {"version": await conn.fetchval("SELECT version()")}
        for setting in ("shared_buffers", "max_connections", "synchronous_commit", "fsync"):
            facts[setting] = await conn.fetchval(f"SHOW {setting}")
    finally:
        await conn.close()
    return facts


async def search_tsquery(url: str, q: str) -> str | None:
    """``q`` as Phresh turns it into a tsquery before searching (search_tsquery)."""
    text = search.websearch(q)
    if not text:
        return None
    conn = await asyncpg.connect(dsn(url))
    try:
        query: str | None = await conn.fetchval(sql.TO_TSQUERY, text)
    finally:
        await conn.close()
    return query


async def explain_ms(url: str, statement: str, args: list[Any], repeat: int = 5) -> float:
    """The median server-side execution time of ``statement`` (EXPLAIN ANALYZE), in ms:
    how much of a request's latency is the database's own work."""
    conn = await asyncpg.connect(dsn(url))
    try:
        times = []
        for _ in range(repeat):
            plan = await conn.fetchval(
                f"EXPLAIN (ANALYZE, FORMAT JSON, TIMING OFF) {statement}", *args
            )
            document = plan if isinstance(plan, list) else json.loads(plan)
            times.append(float(document[0]["Execution Time"]))
    finally:
        await conn.close()
    times.sort()
    return times[len(times) // 2]

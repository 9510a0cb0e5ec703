"""CPU per request of two data-access designs: SQLAlchemy 2 (asyncio, asyncpg dialect) or asyncpg.

For the architecture decision record. The same statements run against the same database
(a scratch database ``phresh_data_access_bench`` on the given PostgreSQL, created with just
the ``"user"`` and ``cleaning`` tables of Phresh's schema, 10 users and 10,000 cleanings, and
dropped at the end), and what is timed is this process's CPU (``time.process_time()``), that
is the Python work of the driver, the library and the event loop (uvloop); PostgreSQL's own
work is in other processes and not counted.

One "read request" is what GET /api/v1/cleanings/{id} asks of the database: take a
connection from the pool, look the current user up by id, read the cleaning (Phresh's
``CLEANING_READ``), turn each row into a dict, give the connection back; autocommit, no
BEGIN/COMMIT. One "write request" is POST /cleanings: take a connection, BEGIN, Phresh's
``INSERT_CLEANING`` (fixed values, the bench user as owner), COMMIT, give the connection back.
Both designs make the same round trips (2 for a read, 3 for a write) on 4-connection pools.

Variants:

- ``a-session-text``: an ``AsyncSession`` (``async_sessionmaker``, ``expire_on_commit=False``,
  ``autoflush=False`` as in Phresh) running ``text()`` statements with named binds; reads on
  an ``AUTOCOMMIT`` engine, the write in ``async with sessionmaker() as s, s.begin()``.
- ``a-connection-core``: ``async with engine.connect()`` (reads, ``AUTOCOMMIT``) or
  ``engine.begin()`` (write) running Core ``select()``/``insert()`` statements built once at
  import, on the ``Table`` objects of ``phresh.migrations.schema`` (lightweight
  ``table()``/``column()`` when those cannot be imported); SQLAlchemy's compiled cache on.
- ``b-asyncpg-pool``: ``asyncpg.create_pool(min_size=4, max_size=4, reset=<no-op>)`` and
  ``fetchrow``; the no-op reset skips the RESET ALL round trip on release (an unfinished
  transaction is still rolled back by the pool).

Each variant is warmed up (500 requests of each kind), then the variants alternate (their
order rotated each round) in R rounds of S seconds, one request at a time; a figure is the
median over the rounds of CPU microseconds per request (process_time delta / requests), and
of wall-clock requests per second (which also depends on PostgreSQL and on whatever else
runs on the machine: the CPU figure is the one to compare).

    .venv/bin/python -m bench.data_access [--seconds 1.0] [--rounds 5] [--database-url URL]
        [--profile VARIANT [--profile-request read|write]]

``--profile`` instead prints the top 25 cProfile entries (cumulative time) of one variant.
"""

import argparse
import asyncio
import cProfile
import gc
import importlib
import io
import pstats
import re
import resource
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib.metadata import version
from statistics import median
from typing import Any, Literal, Protocol

import asyncpg
import uvloop
from sqlalchemy import (
    TableClause,
    bindparam,
    column,
    insert,
    select,
    table,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.expression import Executable

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SCRATCH_DATABASE = "phresh_data_access_bench"
POOL_SIZE = 4
USERS = 10
CLEANINGS = 10_000
SAMPLED_IDS = 1_000
WARMUP_REQUESTS = 500
BATCH = 20  # requests between two looks at the clock
PROFILE_SECONDS = 3.0

Kind = Literal["read", "write"]
KINDS: tuple[Kind, ...] = ("read", "write")
Row = dict[str, Any]

# The statements, as asyncpg receives them ($n binds). CurrentUser's lookup: the columns of
# phresh.models.user.User (what Phresh's get_user_by_id selects); $1 the token's user id.
USER_BY_ID = (
    "SELECT id, username, email, password_hash, is_active, is_superuser, email_verified, "
    'created_at, updated_at FROM "user" WHERE id = $1'
)
# Phresh's statements when the decision was measured (e5b9650, docs/adr/0001), kept as they
# were so the figures stay reproducible: what is compared is the stacks, on the same SQL.
# GET /cleanings/{id}: $1 the id
CLEANING_READ = """
SELECT c.id, u.username AS owner, c.name, c.description, c.cleaning_type, c.price, c.status,
       c.created_at, c.updated_at
FROM cleaning c JOIN "user" u ON u.id = c.owner_id
WHERE c.id = $1 AND c.deleted_at IS NULL
"""
# POST /cleanings: $1 owner id, $2 name, $3 description, $4 cleaning type, $5 price
INSERT_CLEANING = """
WITH inserted AS (
    INSERT INTO cleaning (owner_id, name, description, cleaning_type, price)
    VALUES ($1, $2, $3, $4, $5)
    RETURNING *
)
SELECT c.id, u.username AS owner, c.name, c.description, c.cleaning_type, c.price, c.status,
       c.created_at, c.updated_at
FROM inserted c JOIN "user" u ON u.id = c.owner_id
"""
INSERT_BINDS = ("owner_id", "name", "description", "cleaning_type", "price")
# The write's fixed values (name, description, cleaning type, price), after the owner id.
WRITE_VALUES = ("Bench clean", "A bench run.", "spot_clean", Decimal("25.00"))


def named(sql: str, names: Sequence[str]) -> str:
    """The statement with ``$n`` replaced by ``:name`` (``text()``'s bind syntax)."""
    return re.sub(r"\$(\d+)\b", lambda m: ":" + names[int(m.group(1)) - 1], sql)


USER_BY_ID_TEXT = text(named(USER_BY_ID, ["id"]))
CLEANING_READ_TEXT = text(named(CLEANING_READ, ["id"]))
INSERT_CLEANING_TEXT = text(named(INSERT_CLEANING, INSERT_BINDS))


def core_tables() -> tuple[TableClause, TableClause, str]:
    """``"user"`` and ``cleaning`` for Core: Phresh's ``Table`` objects when importable."""
    try:
        # By name, so this file keeps working whatever shape the schema module takes.
        schema = importlib.import_module("phresh.migrations.schema")
        tables = schema.metadata.tables
        return tables["user"], tables["cleaning"], "phresh.migrations.schema Table objects"
    except Exception:  # noqa: BLE001 - any failure: fall back to untyped columns
        user = table(
            "user",
            *(
                column(name)
                for name in (
                    "id",
                    "username",
                    "email",
                    "password_hash",
                    "is_active",
                    "is_superuser",
                    "email_verified",
                    "created_at",
                    "updated_at",
                )
            ),
        )
        cleaning = table(
            "cleaning",
            *(
                column(name)
                for name in (
                    "id",
                    "owner_id",
                    "name",
                    "description",
                    "cleaning_type",
                    "price",
                    "status",
                    "deleted_at",
                    "search",
                    "created_at",
                    "updated_at",
                )
            ),
        )
        return (
            user,
            cleaning,
            "lightweight table()/column() (phresh.migrations.schema not importable)",
        )


USER_TABLE, CLEANING_TABLE, CORE_TABLES_SOURCE = core_tables()


def _core_statements() -> tuple[Executable, Executable, Executable]:
    u, c = USER_TABLE.c, CLEANING_TABLE.c
    user_by_id = select(
        u.id,
        u.username,
        u.email,
        u.password_hash,
        u.is_active,
        u.is_superuser,
        u.email_verified,
        u.created_at,
        u.updated_at,
    ).where(u.id == bindparam("id"))
    cleaning_read = (
        select(
            c.id,
            u.username.label("owner"),
            c.name,
            c.description,
            c.cleaning_type,
            c.price,
            c.status,
            c.created_at,
            c.updated_at,
        )
        .select_from(CLEANING_TABLE.join(USER_TABLE, u.id == c.owner_id))
        .where(c.id == bindparam("id"), c.deleted_at.is_(None))
    )
    inserted = (
        insert(CLEANING_TABLE)
        .values({name: bindparam(name) for name in INSERT_BINDS})
        .returning(*CLEANING_TABLE.c)
        .cte("inserted")
    )
    i = inserted.c
    insert_cleaning = select(
        i.id,
        u.username.label("owner"),
        i.name,
        i.description,
        i.cleaning_type,
        i.price,
        i.status,
        i.created_at,
        i.updated_at,
    ).select_from(inserted.join(USER_TABLE, u.id == i.owner_id))
    return user_by_id, cleaning_read, insert_cleaning


USER_BY_ID_CORE, CLEANING_READ_CORE, INSERT_CLEANING_CORE = _core_statements()


def found(row: Mapping[Any, Any] | asyncpg.Record | None) -> Row:
    if row is None:
        raise LookupError("no row")
    return dict(row)


def write_params(user_id: int) -> dict[str, Any]:
    return dict(zip(INSERT_BINDS, (user_id, *WRITE_VALUES), strict=True))


class Variant(Protocol):
    name: str

    async def read(self, user_id: int, cleaning_id: int) -> tuple[Row, Row]: ...

    async def write(self, user_id: int) -> Row: ...

    async def close(self) -> None: ...


def sqlalchemy_engine(url: str) -> AsyncEngine:
    return create_async_engine(url, pool_size=POOL_SIZE, max_overflow=0)


class SessionText:
    name = "a-session-text"

    def __init__(self, url: str) -> None:
        self.engine = sqlalchemy_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.read_sessions = async_sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"),
            expire_on_commit=False,
            autoflush=False,
        )

    async def read(self, user_id: int, cleaning_id: int) -> tuple[Row, Row]:
        session: AsyncSession
        async with self.read_sessions() as session:
            user = (await session.execute(USER_BY_ID_TEXT, {"id": user_id})).mappings().first()
            cleaning = (
                (await session.execute(CLEANING_READ_TEXT, {"id": cleaning_id})).mappings().first()
            )
            return found(user), found(cleaning)

    async def write(self, user_id: int) -> Row:
        session: AsyncSession
        async with self.sessions() as session, session.begin():
            result = await session.execute(INSERT_CLEANING_TEXT, write_params(user_id))
            return found(result.mappings().first())

    async def close(self) -> None:
        await self.engine.dispose()


class ConnectionCore:
    name = "a-connection-core"

    def __init__(self, url: str) -> None:
        self.engine = sqlalchemy_engine(url)
        self.read_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    async def read(self, user_id: int, cleaning_id: int) -> tuple[Row, Row]:
        async with self.read_engine.connect() as conn:
            user = (await conn.execute(USER_BY_ID_CORE, {"id": user_id})).mappings().first()
            cleaning = (
                (await conn.execute(CLEANING_READ_CORE, {"id": cleaning_id})).mappings().first()
            )
            return found(user), found(cleaning)

    async def write(self, user_id: int) -> Row:
        async with self.engine.begin() as conn:
            result = await conn.execute(INSERT_CLEANING_CORE, write_params(user_id))
            return found(result.mappings().first())

    async def close(self) -> None:
        await self.engine.dispose()


async def no_reset(connection: object) -> None:
    """The pool's reset: nothing (the pool rolls back an unfinished transaction itself)."""


class AsyncpgPool:
    name = "b-asyncpg-pool"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def create(cls, dsn: str) -> "AsyncpgPool":
        pool = await asyncpg.create_pool(
            dsn, min_size=POOL_SIZE, max_size=POOL_SIZE, reset=no_reset
        )
        return cls(pool)

    async def read(self, user_id: int, cleaning_id: int) -> tuple[Row, Row]:
        async with self.pool.acquire() as conn:
            user = await conn.fetchrow(USER_BY_ID, user_id)
            cleaning = await conn.fetchrow(CLEANING_READ, cleaning_id)
            return found(user), found(cleaning)

    async def write(self, user_id: int) -> Row:
        async with self.pool.acquire() as conn, conn.transaction():
            return found(await conn.fetchrow(INSERT_CLEANING, user_id, *WRITE_VALUES))

    async def close(self) -> None:
        await self.pool.close()


VARIANT_NAMES = (SessionText.name, ConnectionCore.name, AsyncpgPool.name)


async def create_variants(urls: "Urls", names: Sequence[str]) -> list[Variant]:
    variants: list[Variant] = []
    for name in names:
        if name == SessionText.name:
            variants.append(SessionText(urls.sqlalchemy))
        elif name == ConnectionCore.name:
            variants.append(ConnectionCore(urls.sqlalchemy))
        else:
            variants.append(await AsyncpgPool.create(urls.asyncpg))
    return variants


# --- the database -------------------------------------------------------------------------


@dataclass(frozen=True)
class Urls:
    admin: str
    asyncpg: str
    sqlalchemy: str


def urls_for(database_url: str) -> Urls:
    admin = make_url(database_url).set(drivername="postgresql")
    scratch = admin.set(database=SCRATCH_DATABASE)
    return Urls(
        admin=admin.render_as_string(hide_password=False),
        asyncpg=scratch.render_as_string(hide_password=False),
        sqlalchemy=scratch.set(drivername="postgresql+asyncpg").render_as_string(
            hide_password=False
        ),
    )


# The two tables as Phresh's migrations create them (columns, types, defaults, keys, checks,
# the generated search vector and the cleaning indexes), seeded in SQL.
SCHEMA = f"""
CREATE TABLE "user" (
    id bigint GENERATED BY DEFAULT AS IDENTITY CONSTRAINT pk_user PRIMARY KEY,
    username varchar(32) NOT NULL CONSTRAINT uq_user_username UNIQUE
        CONSTRAINT ck_user_username_format CHECK (username ~ '^[a-z0-9_-]{{3,32}}$'),
    email varchar(254) NOT NULL CONSTRAINT uq_user_email UNIQUE
        CONSTRAINT ck_user_email_lower CHECK (email = lower(email) AND char_length(email) <= 254),
    password_hash text NOT NULL,
    is_active boolean NOT NULL DEFAULT true,
    is_superuser boolean NOT NULL DEFAULT false,
    email_verified boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE cleaning (
    id bigint GENERATED BY DEFAULT AS IDENTITY CONSTRAINT pk_cleaning PRIMARY KEY,
    owner_id bigint NOT NULL
        CONSTRAINT fk_cleaning_owner_id_user REFERENCES "user" (id) ON DELETE CASCADE,
    name varchar(200) NOT NULL,
    description text NOT NULL DEFAULT '',
    cleaning_type varchar(16) NOT NULL DEFAULT 'spot_clean',
    price numeric(10, 2) NOT NULL CONSTRAINT ck_cleaning_price_positive CHECK (price > 0),
    status varchar(16) NOT NULL DEFAULT 'open',
    deleted_at timestamptz,
    search tsvector NOT NULL GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, name), 'A') ||
        setweight(to_tsvector('english'::regconfig, description), 'B')
    ) STORED,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ck_cleaning_cleaning_type_valid
        CHECK (cleaning_type IN ('dust_up', 'spot_clean', 'full_clean')),
    CONSTRAINT ck_cleaning_status_valid
        CHECK (status IN ('open', 'assigned', 'completed', 'cancelled'))
);
CREATE INDEX ix_cleaning_name ON cleaning (name);
CREATE INDEX ix_cleaning_owner_id_created_at ON cleaning (owner_id, created_at, id);
CREATE INDEX ix_cleaning_search ON cleaning USING gin (search);
INSERT INTO "user" (username, email, password_hash)
SELECT 'bench_user_' || g, 'bench_user_' || g || '@example.com',
       '$argon2id$v=19$m=65536,t=3,p=4$' || md5('salt' || g) || '$' || md5('hash' || g)
FROM generate_series(1, {USERS}) AS g;
INSERT INTO cleaning (owner_id, name, description, cleaning_type, price, created_at)
SELECT 1 + g % {USERS}, 'Cleaning number ' || g,
       'A thorough clean of the kitchen, the bathroom and the living room, job ' || g || '.',
       (ARRAY['dust_up', 'spot_clean', 'full_clean'])[1 + g % 3],
       10 + (g % 90) + 0.5, now() - g * interval '1 minute'
FROM generate_series(1, {CLEANINGS}) AS g;
ANALYZE "user";
ANALYZE cleaning;
"""  # noqa: S608 - built from this module's constants only


async def create_scratch(urls: Urls) -> tuple[int, list[int], str]:
    """Creates and seeds the scratch database: the bench user id, sampled cleaning ids and
    the server's version."""
    admin = await asyncpg.connect(urls.admin)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DATABASE} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {SCRATCH_DATABASE}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(urls.asyncpg)
    try:
        await conn.execute(SCHEMA)
        user_id: int = await conn.fetchval('SELECT min(id) FROM "user"')
        ids = [
            row["id"]
            for row in await conn.fetch(
                "SELECT id FROM cleaning ORDER BY md5(id::text) LIMIT $1", SAMPLED_IDS
            )
        ]
        version: str = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    return user_id, ids, version


async def drop_scratch(urls: Urls) -> None:
    admin = await asyncpg.connect(urls.admin)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DATABASE} WITH (FORCE)")
    finally:
        await admin.close()


# --- measuring ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    user_id: int
    cleaning_ids: list[int]


@dataclass(frozen=True)
class Run:
    requests: int
    cpu_s: float
    system_s: float  # the kernel's part of cpu_s (getrusage's split)
    wall_s: float


async def run_count(variant: Variant, kind: Kind, work: Workload, requests: int) -> None:
    ids = work.cleaning_ids
    for n in range(requests):
        if kind == "read":
            await variant.read(work.user_id, ids[n % len(ids)])
        else:
            await variant.write(work.user_id)


async def run_for(variant: Variant, kind: Kind, work: Workload, seconds: float) -> Run:
    """One request at a time for ``seconds`` of wall time: requests, CPU and wall seconds."""
    user_id, ids = work.user_id, work.cleaning_ids
    size = len(ids)
    count = 0
    gc.collect()
    wall = time.perf_counter()
    system = resource.getrusage(resource.RUSAGE_SELF).ru_stime
    cpu = time.process_time()
    deadline = time.monotonic() + seconds
    if kind == "read":
        while time.monotonic() < deadline:
            for _ in range(BATCH):
                await variant.read(user_id, ids[count % size])
                count += 1
    else:
        while time.monotonic() < deadline:
            for _ in range(BATCH):
                await variant.write(user_id)
                count += 1
    cpu = time.process_time() - cpu
    system = resource.getrusage(resource.RUSAGE_SELF).ru_stime - system
    return Run(count, cpu, system, time.perf_counter() - wall)


async def check_same_rows(variants: Sequence[Variant], work: Workload) -> None:
    """Every variant reads the same rows and writes the same row (ids and times aside)."""
    for cleaning_id in work.cleaning_ids[:10]:
        reads = [await v.read(work.user_id, cleaning_id) for v in variants]
        if any(r != reads[0] for r in reads):
            raise AssertionError(f"variants read different rows for cleaning {cleaning_id}")
    moving = {"id", "created_at", "updated_at"}
    writes = [
        {k: val for k, val in (await v.write(work.user_id)).items() if k not in moving}
        for v in variants
    ]
    if any(w != writes[0] for w in writes):
        raise AssertionError(f"variants wrote different rows: {writes}")


@dataclass(frozen=True)
class Figure:
    cpu_us: float  # median over rounds
    cpu_us_min: float
    cpu_us_max: float
    system_share: float  # median over rounds: the kernel's share of the CPU (syscalls)
    per_second: float  # median over rounds, wall clock


async def measure(
    variants: Sequence[Variant], work: Workload, rounds: int, seconds: float
) -> dict[Kind, dict[str, Figure]]:
    results: dict[Kind, dict[str, Figure]] = {}
    for kind in KINDS:
        for variant in variants:
            await run_count(variant, kind, work, WARMUP_REQUESTS)
        runs: dict[str, list[Run]] = {v.name: [] for v in variants}
        for r in range(rounds):
            shift = r % len(variants)
            for variant in [*variants[shift:], *variants[:shift]]:
                runs[variant.name].append(await run_for(variant, kind, work, seconds))
        results[kind] = {}
        for name, made in runs.items():
            cpu = [run.cpu_s / run.requests * 1e6 for run in made]
            results[kind][name] = Figure(
                cpu_us=median(cpu),
                cpu_us_min=min(cpu),
                cpu_us_max=max(cpu),
                system_share=median(run.system_s / run.cpu_s for run in made),
                per_second=median(run.requests / run.wall_s for run in made),
            )
        shown = ", ".join(f"{n} {f.cpu_us:.1f}" for n, f in results[kind].items())
        print(f"  {kind}: µs CPU/request: {shown}", flush=True)
    return results


async def profile(variant: Variant, kind: Kind, work: Workload, seconds: float) -> str:
    """cProfile of one variant's requests, top 25 by cumulative time."""
    await run_count(variant, kind, work, WARMUP_REQUESTS)
    # CPU time, not wall time: under greenlets (SQLAlchemy's asyncio bridge) cProfile keeps
    # suspended frames on its stack and would charge them the waits for PostgreSQL. The CPU
    # clock costs a system call per profiler event here, which inflates every figure, SQL-
    # Alchemy's (more calls) more; the calls per request are exact.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    # In a task of its own: only its frame is resumed at each step, not this one's callers.
    run = await asyncio.create_task(run_for(variant, kind, work, seconds))
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    out.write(
        f"{variant.name}, {kind} request: {run.requests} requests in {run.wall_s:.1f} s; "
        f"under cProfile {run.cpu_s / run.requests * 1e6:.0f} µs CPU/request, "
        f"{stats.total_calls / run.requests:.0f} function calls/request\n"  # type: ignore[attr-defined]
    )
    stats.sort_stats("cumulative").print_stats(25)
    return out.getvalue()


def table_markdown(results: dict[Kind, dict[str, Figure]]) -> str:
    lines = [
        "| request | variant | µs CPU/request (median) | min-max over rounds "
        "| x b-asyncpg-pool | of which kernel | requests/s (wall, median) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for kind, figures in results.items():
        base = figures[AsyncpgPool.name].cpu_us
        for name, f in figures.items():
            lines.append(
                f"| {kind} | {name} | {f.cpu_us:.1f} | {f.cpu_us_min:.1f}-{f.cpu_us_max:.1f} "
                f"| {f.cpu_us / base:.2f} | {f.system_share:.0%} | {f.per_second:,.0f} |"
            )
    return "\n".join(lines)


async def main_async(options: argparse.Namespace) -> str:
    urls = urls_for(options.database_url)
    began = time.monotonic()
    user_id, ids, server_version = await create_scratch(urls)
    work = Workload(user_id, ids)
    names = [options.profile] if options.profile else list(VARIANT_NAMES)
    variants: list[Variant] = []
    try:
        variants = await create_variants(urls, names)
        if options.profile:
            seconds = max(options.seconds, PROFILE_SECONDS)
            return await profile(variants[0], options.profile_request, work, seconds)
        await check_same_rows(variants, work)
        results = await measure(variants, work, options.rounds, options.seconds)
    finally:
        for variant in variants:
            await variant.close()
        await drop_scratch(urls)
    return (
        f"\nCPU per request, one request at a time on uvloop, {options.rounds} rounds x "
        f"{options.seconds:g} s (median), {time.monotonic() - began:.0f} s. "
        f"Python {sys.version.split()[0]}, SQLAlchemy {version('sqlalchemy')}, "
        f"asyncpg {version('asyncpg')}, uvloop {version('uvloop')}, "
        f"PostgreSQL {server_version}; Core on {CORE_TABLES_SOURCE}.\n\n" + table_markdown(results)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.data_access", description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="Wall seconds a round.")
    parser.add_argument("--rounds", type=int, default=5, help="Rounds a figure (median of).")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="A PostgreSQL server (and a database on it to connect to for CREATE/DROP "
        f"DATABASE {SCRATCH_DATABASE}).",
    )
    parser.add_argument(
        "--profile", choices=VARIANT_NAMES, help="Instead: cProfile one variant (top 25)."
    )
    parser.add_argument(
        "--profile-request", choices=KINDS, default="read", help="The request --profile runs."
    )
    options = parser.parse_args(argv)
    print(uvloop.run(main_async(options)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Demo data in bulk, generated inside PostgreSQL.

Set-based ``INSERT ... SELECT generate_series`` rather than rows sent from Python: a million
cleanings with their offers and evaluations take well under two minutes. The proportions
are those of a living marketplace: most cleanings open with a few pending offers, some
assigned (one accepted offer, the rest rejected), some completed and rated, a few deleted.
``setseed`` makes the same seed give the same data.

Every demo user's password is ``DEMO_PASSWORD``; one argon2 hash serves them all.
"""

import time

import asyncpg

from phresh.config import to_libpq_url
from phresh.users.service import hash_password

DEMO_PASSWORD = "phresh-demo-password"  # noqa: S105 - documented demo credential
# Usernames the report names, to log in with.
DEMO_LOGINS_SHOWN = 3

FIRST_NAMES = [
    "ada", "ben", "cleo", "dan", "eva", "finn", "gia", "hugo", "ines", "jon", "kai", "lea",
    "milo", "nora", "omar", "pia", "quinn", "rosa", "sami", "tess", "uma", "vik", "wren", "zoe",
]  # fmt: skip
JOBS = [
    "Deep clean", "Spring clean", "End-of-tenancy clean", "Quick tidy", "Oven clean",
    "Window wash", "Carpet shampoo", "Bathroom descale", "Kitchen degrease", "Fridge clean-out",
    "Post-party clean-up", "Move-in clean", "Dusting and hoovering", "Ironing and tidy",
    "Balcony scrub", "Mould treatment", "Grout restoration", "Blind dusting", "Sofa steam",
    "Garage sweep", "Loft clear and clean", "Conservatory clean", "Mattress refresh",
    "Pet hair removal", "Stair carpet clean", "Patio jet wash", "Hob and extractor clean",
    "Skirting board wipe-down", "Cupboard reorganise", "Laundry and bed change",
]  # fmt: skip
ROOMS = [
    "studio", "one-bedroom flat", "two-bedroom flat", "three-bedroom house", "townhouse",
    "loft apartment", "cottage", "bungalow", "maisonette", "penthouse", "basement flat",
    "houseboat", "office suite", "family home", "garden flat", "duplex",
]  # fmt: skip
PLACES = [
    "Hackney", "Brixton", "Camden", "Islington", "Peckham", "Clapham", "Dalston", "Bermondsey",
    "Walthamstow", "Greenwich", "Richmond", "Ealing", "Stratford", "Shoreditch", "Fulham",
    "Hampstead", "Wimbledon", "Deptford", "Tooting", "Kilburn", "Hoxton", "Putney", "Balham",
    "Highgate", "Leyton", "Chiswick", "Battersea", "Whitechapel", "Holloway", "Crouch End",
]  # fmt: skip
DETAILS = [
    "Limescale on the taps and shower screen.", "The oven has not been cleaned in a year.",
    "Two cats, so plenty of fur on the sofas.", "Hardwood floors: no harsh products please.",
    "Windows inside only, ground floor.", "Please bring your own hoover.",
    "Kitchen cupboards inside and out.", "Light cleaning, flat is mostly tidy.",
    "We have a toddler: eco products only.", "Tenancy ends Friday, deposit at stake.",
    "Stairs and landing included.", "Fridge and freezer need defrosting.",
    "Grease build-up above the hob.", "Bathroom grout has gone grey.",
    "Balcony doors and frames too.", "Key safe by the front door.",
    "Parking available on the drive.", "Allergy sufferer: thorough dusting needed.",
    "Mirrors and glass tables to polish.", "Bins need washing out.",
]  # fmt: skip


def _array(values: list[str]) -> str:
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return f"ARRAY[{quoted}]"


def _pick(array: str, expression: str) -> str:
    return f"({array})[1 + floor({expression} * cardinality({array}))::int]"


# Only module constants are spliced into these statements; every value is a bind parameter.
# The new users' ids are those the insert returns: a sequence has gaps (every failed insert
# uses up a value), so they are neither max(id) + 1 onwards nor contiguous.
USERS_SQL = f"""
INSERT INTO "user" (username, email, password_hash, email_verified, created_at, updated_at)
SELECT name || n, name || n || '@example.com',
       $3, true, now() - interval '800 days', now() - interval '800 days'
FROM (
    SELECT n, {_pick(_array(FIRST_NAMES), "random()")} AS name
    FROM generate_series($1::bigint, $1::bigint + $2::bigint - 1) AS n
) AS numbered
RETURNING id, username
"""  # noqa: S608

PROFILES_SQL = """
INSERT INTO profile (user_id, full_name)
SELECT id, initcap(regexp_replace(username, '[0-9]+$', '')) FROM "user" WHERE id = ANY($1::bigint[])
"""

# Generated per cleaning: owner (one of the new users, $1), text, price, status, times.
# Soft-deleted rows are cancelled.
CLEANINGS_SQL = f"""
WITH numbered AS (
    SELECT n, random() AS r_status, random() AS r_time, random() AS r_edit
    FROM generate_series(1, $2::bigint) AS n
)
INSERT INTO cleaning (owner_id, name, description, cleaning_type, price, status, deleted_at,
                      created_at, updated_at)
SELECT {_pick("$1::bigint[]", "random()")},
       {_pick(_array(JOBS), "random()")} || ', ' || {_pick(_array(ROOMS), "random()")}
           || ' in ' || {_pick(_array(PLACES), "random()")},
       {_pick(_array(DETAILS), "random()")} || ' ' || {_pick(_array(DETAILS), "random()")},
       (ARRAY['dust_up', 'spot_clean', 'spot_clean', 'full_clean'])[1 + floor(random() * 4)::int],
       round((12 + random() * 70)::numeric, 2),
       CASE WHEN r_status < 0.70 THEN 'open' WHEN r_status < 0.85 THEN 'assigned'
            WHEN r_status < 0.97 THEN 'completed' ELSE 'cancelled' END,
       CASE WHEN r_status >= 0.97 THEN now() - r_time * interval '1 day' END,
       now() - interval '730 days' * r_time - interval '1 day',
       now() - interval '730 days' * r_time - interval '1 day'
           + CASE WHEN r_edit < 0.2 THEN r_edit * interval '5 days' ELSE interval '0' END
FROM numbered
-- Oldest first, as a real table fills: ids, time and physical order agree.
ORDER BY r_time DESC
"""  # noqa: S608

# 0-3 offers a cleaning, by new users ($1) other than the owner; statuses follow the
# cleaning's. A repeated cleaner is skipped (ON CONFLICT). The accepted offer (j = 0) is kept
# because the rows are inserted in the order generate_series yields them, which this
# statement's plan does but no SQL rule promises.
OFFERS_SQL = """
INSERT INTO offer (cleaning_id, cleaner_id, status, created_at, updated_at)
SELECT c.id,
       -- a user picked from the cleaning's id and j; the next one if that is the owner
       CASE WHEN ($1::bigint[])[1 + pick] = c.owner_id
            THEN ($1::bigint[])[1 + (pick + 1) % cardinality($1::bigint[])]
            ELSE ($1::bigint[])[1 + pick] END,
       CASE WHEN c.status = 'assigned' AND j = 0 THEN 'accepted'
            WHEN c.status = 'completed' AND j = 0 THEN 'completed'
            WHEN c.status IN ('assigned', 'completed', 'cancelled') THEN 'rejected'
            ELSE 'pending' END,
       c.created_at + interval '1 hour' * (j + 1),
       c.created_at + interval '1 hour' * (j + 1)
FROM cleaning c
CROSS JOIN LATERAL generate_series(
    0, CASE WHEN c.status = 'open' THEN (c.id % 4)::int - 1 ELSE (c.id % 3)::int END
) AS j
CROSS JOIN LATERAL (
    SELECT ((c.id + j * 7919 + c.id % 97) % cardinality($1::bigint[]))::int AS pick
) AS picked
WHERE c.id > $2::bigint AND cardinality($1::bigint[]) > 1
ON CONFLICT DO NOTHING
"""

EVALUATIONS_SQL = """
INSERT INTO evaluation (cleaning_id, cleaner_id, no_show, headline, comment, professionalism,
                        completeness, efficiency, overall_rating, created_at, updated_at)
SELECT o.cleaning_id, o.cleaner_id, r < 0.03,
       (ARRAY['Great job', 'Spotless', 'Good value', 'Missed a few spots', 'Would book again',
              'Late but thorough', 'Did not show up'])[1 + floor(r * 7)::int],
       'Cleaned as agreed.',
       CASE WHEN r < 0.03 THEN 0 ELSE 3 + floor(random() * 3)::int END,
       CASE WHEN r < 0.03 THEN 0 ELSE 2 + floor(random() * 4)::int END,
       CASE WHEN r < 0.03 THEN 0 ELSE 2 + floor(random() * 4)::int END,
       CASE WHEN r < 0.03 THEN 0 ELSE 1 + floor(power(random(), 0.4) * 5)::int END,
       o.created_at + interval '3 days', o.created_at + interval '3 days'
FROM (SELECT *, random() AS r FROM offer WHERE status = 'completed' AND cleaning_id > $1::bigint) o
"""


# Below this many new cleanings, indexes are maintained row by row; above it, they are dropped
# and rebuilt once at the end, which is several times faster (GIN above all).
BULK_THRESHOLD = 50_000

SECONDARY_INDEXES_SQL = """
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
WHERE i.indrelid = $1::regclass AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
"""


async def _drop_secondary_indexes(conn: asyncpg.Connection, table: str) -> list[str]:
    """Drop the indexes no constraint depends on; return their exact definitions."""
    rows = await conn.fetch(SECONDARY_INDEXES_SQL, table)
    for row in rows:
        await conn.execute(f"DROP INDEX {row['name']}")
    return [row["definition"] for row in rows]


async def _defer_foreign_key_checks(conn: asyncpg.Connection) -> bool:
    """Skip the per-row FK triggers for this transaction, if the role may (superuser only).

    Row-by-row checks would double the load time; ``_verify_foreign_keys`` then checks every
    foreign key of the loaded tables in one set-based pass before the transaction commits.
    """
    if not await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
        return False
    await conn.execute("SET LOCAL session_replication_role = replica")
    return True


# (child, parent, join condition): every foreign key of the tables the seed writes.
FOREIGN_KEYS = [
    ("cleaning c", '"user" p', "p.id = c.owner_id"),
    ("offer c", "cleaning p", "p.id = c.cleaning_id"),
    ("offer c", '"user" p', "p.id = c.cleaner_id"),
    ("evaluation c", "offer p", "(p.cleaning_id, p.cleaner_id) = (c.cleaning_id, c.cleaner_id)"),
    ("profile c", '"user" p', "p.id = c.user_id"),
]


async def _verify_foreign_keys(conn: asyncpg.Connection) -> None:
    for child, parent, condition in FOREIGN_KEYS:
        orphans = await conn.fetchval(
            f"SELECT count(*) FROM {child} WHERE NOT EXISTS "  # noqa: S608 - constants only
            f"(SELECT 1 FROM {parent} WHERE {condition})"
        )
        if orphans:
            msg = f"seed produced {orphans} rows in {child} with no matching {parent}"
            raise RuntimeError(msg)


class _Timer:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.last = self.started
        self.phases: list[str] = []

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases.append(f"{phase} {now - self.last:.1f}s")
        self.last = now

    @property
    def total(self) -> float:
        return time.perf_counter() - self.started


async def seed(url: str, *, users: int, cleanings: int, random_seed: int) -> str:
    timer = _Timer()
    password_hash = await hash_password(DEMO_PASSWORD)
    conn = await asyncpg.connect(to_libpq_url(url))
    try:
        async with conn.transaction():
            # Bulk load: no waiting on the WAL flush, more memory for index builds. LOCAL: for
            # this transaction only; a session-level SET would outlive it on a server
            # connection that a pooler then hands to the API (whose writes would then not
            # wait for the WAL either).
            await conn.execute(
                "SET LOCAL synchronous_commit = off; SET LOCAL maintenance_work_mem = '512MB'"
            )
            await conn.execute("SELECT setseed($1)", (random_seed % 1000) / 1000)
            rebuild: list[str] = []
            checks_deferred = False
            if cleanings >= BULK_THRESHOLD:
                for table in ("cleaning", "offer", "evaluation"):
                    rebuild += await _drop_secondary_indexes(conn, table)
                checks_deferred = await _defer_foreign_key_checks(conn)
            first_number = (await conn.fetchval('SELECT count(*) FROM "user"')) + 1
            rows = await conn.fetch(USERS_SQL, first_number, users, password_hash)
            new_users = sorted((row["id"], row["username"]) for row in rows)
            user_ids = [user_id for user_id, _ in new_users]
            await conn.execute(PROFILES_SQL, user_ids)
            timer.lap("users")
            # New cleanings are those above the highest id now: a sequence only goes up.
            last_cleaning = await conn.fetchval("SELECT coalesce(max(id), 0) FROM cleaning")
            await conn.execute(CLEANINGS_SQL, user_ids, cleanings)
            timer.lap("cleanings")
            await conn.execute(OFFERS_SQL, user_ids, last_cleaning)
            timer.lap("offers")
            await conn.execute(EVALUATIONS_SQL, last_cleaning)
            timer.lap("evaluations")
            for definition in rebuild:
                await conn.execute(definition)
            if rebuild:
                timer.lap("indexes")
            if checks_deferred:
                await conn.execute("SET LOCAL session_replication_role = origin")
                await _verify_foreign_keys(conn)
                timer.lap("foreign-key check")
            offers = await conn.fetchval(
                "SELECT count(*) FROM offer WHERE cleaning_id > $1", last_cleaning
            )
            evaluations = await conn.fetchval(
                "SELECT count(*) FROM evaluation WHERE cleaning_id > $1", last_cleaning
            )
            logins = [username for _, username in new_users[:DEMO_LOGINS_SHOWN]]
        await conn.execute("ANALYZE")
        timer.lap("analyze")
    finally:
        await conn.close()
    names = ", ".join(logins)
    more = ", ..." if users > len(logins) else ""
    return (
        f"seeded {users} users, {cleanings} cleanings, {offers} offers and "
        f"{evaluations} evaluations in {timer.total:.1f} s ({', '.join(timer.phases)})\n"
        f"log in as any demo user ({names}{more}) with the password {DEMO_PASSWORD}"
    )

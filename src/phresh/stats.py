"""The statements that cost the database the most, from pg_stat_statements (`phresh db top`).

The embedded server loads the module at its start and each of its databases has the view
(phresh.embedded); an external server needs both done by its administrator (README,
"Operating Phresh"). The statistics are the server's: every statement since they were last
reset, whoever ran it, in this database only. Statements are shown as PostgreSQL stores
them, constants replaced by ``$n``: never the values they ran with.
"""

import enum
from dataclasses import dataclass

import asyncpg

from phresh.config import to_libpq_url


class Order(enum.StrEnum):
    """What "most" means: time over all calls, time per call, or calls."""

    total = "total"
    mean = "mean"
    calls = "calls"


@dataclass(frozen=True)
class StatementStats:
    calls: int
    total_ms: float
    mean_ms: float
    rows: int
    query: str


class StatsUnavailable(Exception):
    """pg_stat_statements cannot be read here: the message says what to do."""


TOP_STATEMENTS = """
SELECT calls, total_exec_time, mean_exec_time, rows, query
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY
    CASE $2::text
        WHEN 'mean' THEN mean_exec_time
        WHEN 'calls' THEN calls::float8
        ELSE total_exec_time
    END DESC
LIMIT $1
"""

NOT_INSTALLED = (
    "pg_stat_statements is not installed in this database: run "
    "CREATE EXTENSION pg_stat_statements; as a superuser (the embedded server does it itself)"
)
NOT_LOADED = (
    "pg_stat_statements is not loaded: add it to shared_preload_libraries and restart "
    "PostgreSQL (an embedded server started before phresh loaded it does at its next start, "
    "once every phresh command using it has stopped)"
)


async def top_statements(url: str, *, limit: int, order: Order) -> list[StatementStats]:
    conn = await asyncpg.connect(to_libpq_url(url))
    try:
        rows = await conn.fetch(TOP_STATEMENTS, limit, order.value)
    except asyncpg.UndefinedTableError as exc:
        raise StatsUnavailable(NOT_INSTALLED) from exc
    except asyncpg.ObjectNotInPrerequisiteStateError as exc:
        raise StatsUnavailable(NOT_LOADED) from exc
    finally:
        await conn.close()
    return [
        StatementStats(
            calls=row["calls"],
            total_ms=row["total_exec_time"],
            mean_ms=row["mean_exec_time"],
            rows=row["rows"],
            query=row["query"],
        )
        for row in rows
    ]


# A statement is shown on one line, cut at this many characters.
QUERY_WIDTH = 160


def render(statements: list[StatementStats]) -> str:
    """A table: total and mean time in ms, calls, rows, then the statement on one line."""
    if not statements:
        return "no statements recorded yet"
    header = f"{'total ms':>12} {'calls':>9} {'mean ms':>10} {'rows':>10}  statement"
    lines = [header]
    for stats in statements:
        query = " ".join(stats.query.split())
        if len(query) > QUERY_WIDTH:
            query = query[: QUERY_WIDTH - 1] + "…"
        lines.append(
            f"{stats.total_ms:>12.1f} {stats.calls:>9} {stats.mean_ms:>10.2f} "
            f"{stats.rows:>10}  {query}"
        )
    return "\n".join(lines)

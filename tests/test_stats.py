import asyncpg
import pytest

from phresh import stats
from phresh.config import to_libpq_url


@pytest.fixture
async def statements_url(empty_database_url: str) -> str:
    """A fresh database with pg_stat_statements' view, on a server that loads it (the
    embedded one does; another server may not)."""
    conn = await asyncpg.connect(to_libpq_url(empty_database_url))
    try:
        if "pg_stat_statements" not in await conn.fetchval("SHOW shared_preload_libraries"):
            pytest.skip("the test server does not load pg_stat_statements")
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    finally:
        await conn.close()
    return empty_database_url


async def run_statements(url: str) -> None:
    conn = await asyncpg.connect(to_libpq_url(url))
    try:
        for _ in range(5):
            await conn.fetchval("SELECT $1::int AS often_called", 1)
        await conn.fetchval("SELECT pg_sleep(0.05)::text || $1::text AS slow_once", "x")
    finally:
        await conn.close()


async def test_top_statements_are_this_database_s_heaviest_first(statements_url: str) -> None:
    await run_statements(statements_url)

    by_calls = await stats.top_statements(statements_url, limit=1, order=stats.Order.calls)
    by_mean = await stats.top_statements(statements_url, limit=1, order=stats.Order.mean)

    [often] = by_calls
    assert (often.query, often.calls, often.rows) == ("SELECT $1::int AS often_called", 5, 5)
    [slow] = by_mean
    assert "slow_once" in slow.query
    assert slow.mean_ms >= 50
    # Constants are stored as $n: the values never reach the statistics.
    assert "'x'" not in slow.query


async def test_top_statements_say_what_to_do_without_the_extension(
    empty_database_url: str,
) -> None:
    with pytest.raises(stats.StatsUnavailable, match="CREATE EXTENSION pg_stat_statements"):
        await stats.top_statements(empty_database_url, limit=10, order=stats.Order.total)


def test_render_shows_one_line_per_statement_cut_to_its_width() -> None:
    long_query = "SELECT " + ", ".join(f"column_{n}" for n in range(60)) + "\n  FROM t"
    rendered = stats.render(
        [
            stats.StatementStats(calls=3, total_ms=12.5, mean_ms=4.1667, rows=9, query=long_query),
            stats.StatementStats(calls=1, total_ms=1.0, mean_ms=1.0, rows=0, query="SELECT 1"),
        ]
    ).splitlines()

    assert rendered[0].split() == ["total", "ms", "calls", "mean", "ms", "rows", "statement"]
    assert rendered[1].split()[:4] == ["12.5", "3", "4.17", "9"]
    assert rendered[1].endswith("…")
    assert len(rendered[1].split("  ")[-1]) == stats.QUERY_WIDTH
    assert rendered[2].endswith("  SELECT 1")
    assert stats.render([]) == "no statements recorded yet"

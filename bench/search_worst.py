"""Worst-case search: the slowest answer any accepted ``q`` gets on the 100k database.

    python -m bench.search_worst [--rounds 5] [--pgdata var/bench-pgdata]

Seeds (or reuses) ``bench_100k`` as ``bench.run`` does, then times the hardest queries the
limits of ``phresh.cleanings.search`` accept (as many words as allowed, OR-ed or AND-ed,
common, rare, phrases, negations, no word at all), each with sort=relevance, newest and
price, alone or with another filter (a cleaning type; a narrow price range), with and
without with_count:

1. database: the statements ``list_public_cleanings`` and ``count_public_cleanings`` run,
   under custom and under generic plans (``plan_cache_mode`` forced), because a pooled
   connection settles on either after a few executions of a statement;
2. HTTP: ``GET /api/v1/cleanings`` on ``phresh serve`` (1 worker, a pool of 1 connection),
   after a warm-up of the benchmark's own searches, as a busy server would be.

Each figure is the slowest of ``--rounds`` requests; the worst ten of each part are printed.
"""

import argparse
import asyncio
import itertools
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from pydantic import ValidationError

from bench import data, servers
from bench.run import RUN_DIR
from phresh.cleanings import repository, search
from phresh.cleanings.schemas import CleaningListQuery, CleaningSort

SIZE = 100_000
# Words of the seed's text, the most common first (each is in 10-50% of the cleanings).
COMMON = [
    "clean", "flat", "need", "door", "inside", "floor", "please", "product", "bedroom", "end",
    "wash", "dust", "tidy", "two", "tenancy", "sofa", "balcony", "fridge", "stairs", "kitchen",
    "bathroom", "cupboard", "hoover", "grout", "window", "oven", "hob", "deposit", "friday",
]  # fmt: skip
SHORT = sorted(COMMON, key=len)


def fill(words: list[str], joiner: str, *, prefix: str = "", head: str = "") -> str:
    """As many of ``words`` as the limits accept, joined."""
    taken: list[str] = []
    for word in words:
        candidate = head + joiner.join([*taken, prefix + word])
        parsed = search.parse(candidate)
        if len(candidate) > search.MAX_LENGTH or parsed.word_count > search.MAX_WORDS:
            break
        taken.append(prefix + word)
    return head + joiner.join(taken)


def cases() -> dict[str, str]:
    rare = [f"zq{n}x" for n in range(search.MAX_WORDS * 2)]
    pairs = [f'"{a} {b}"' for a, b in itertools.pairwise(SHORT)]
    return {
        "common words OR-ed": fill(SHORT, " or "),
        "common words AND-ed": fill(SHORT, " "),
        "common words, one phrase": '"' + fill(SHORT, " ") + '"',
        "phrases of common words OR-ed": fill(pairs, " or "),
        "hyphenated compound": fill(SHORT, "-"),
        "one common word minus the rest": fill(SHORT[1:], " ", prefix="-", head="clean "),
        "rare words OR-ed": fill(rare, " or "),
        "rare words AND-ed": fill(rare, " "),
        "numbers OR-ed": fill([str(n) for n in range(10_000, 10_100)], " or "),
        "word and its negation": "clean -clean",
        "one common word": "clean",
        "one rare word": "zeppelin",
        "stop words minus common words": fill(SHORT, " ", prefix="-", head="the "),
        "a separator line": "-" * search.MAX_LENGTH,
    }


SORTS = (CleaningSort.relevance, CleaningSort.newest, CleaningSort.price)
# The other filters, which change the plans: none, a third of the rows, a sliver of prices.
FILTERS: dict[str, dict[str, str]] = {
    "": {},
    "cleaning_type=full_clean": {"cleaning_type": "full_clean"},
    "price 81.90-82.00": {"min_price": "81.90", "max_price": "82.00"},
}
# slowest ms, median ms, case, "sort=... [filters] [+ with_count]"
Timing = tuple[float, float, str, str]


def variants() -> list[tuple[str, dict[str, str]]]:
    """Each sort, with and without a count, with each of FILTERS: the query parameters."""
    found = []
    for sort in SORTS:
        for label, filters in FILTERS.items():
            for with_count in (False, True):
                params = {"sort": sort.value, **filters}
                if with_count:
                    params["with_count"] = "true"
                name = " ".join(part for part in (f"sort={sort.value}", label) if part)
                found.append((name + (" + with_count" if with_count else ""), params))
    return found


async def timed(rounds: int, call: Callable[[], Any]) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        await call()
        times.append((time.perf_counter() - began) * 1000)
    return max(times), statistics.median(times)


async def database_part(url: str, rounds: int, mode: str) -> list[Timing]:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=1)
    timings: list[Timing] = []
    try:
        async with pool.acquire() as connection:
            await connection.execute(f"SET plan_cache_mode = {mode}")
            for name, q in cases().items():
                for variant, params in variants():
                    filters = CleaningListQuery.model_validate({"q": q, **params})

                    async def call(filters: CleaningListQuery = filters) -> None:
                        # As cleanings.service.list_public_cleanings runs them.
                        assert filters.q is not None
                        tsquery = await repository.search_tsquery(connection, filters.q)
                        if tsquery is None:
                            return
                        sort = filters.effective_sort
                        await repository.list_public_cleanings(
                            connection, filters, sort=sort, after=None, limit=21, tsquery=tsquery
                        )
                        if filters.with_count:
                            await repository.count_public_cleanings(
                                connection, filters, tsquery=tsquery
                            )

                    slowest, middle = await timed(rounds, call)
                    timings.append((slowest, middle, name, variant))
    finally:
        await pool.close()
    return timings


async def http_part(prepared: data.Prepared, rounds: int) -> list[Timing]:
    settings = data.bench_settings(prepared.url)
    token = data.mint_token(settings, await data.first_user_id(prepared))
    env = servers.server_env(prepared.url, data.BENCH_JWT_SECRET, workers=1, pool_size=1)
    server = servers.start_phresh(env, 1, RUN_DIR / "search-worst")
    timings: list[Timing] = []
    try:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as client:

            async def get(params: dict[str, str]) -> None:
                response = await client.get("/api/v1/cleanings", params=params, timeout=30)
                if response.status_code != 200:
                    msg = f"{params}: {response.status_code} {response.text[:300]}"
                    raise RuntimeError(msg)

            for _ in range(10):  # what a busy server's connection has seen: the bench's searches
                for q in data.SEARCH_QUERIES:
                    for sort in SORTS:
                        await get({"q": q, "sort": sort.value, "with_count": "true"})
            for name, q in cases().items():
                for variant, extra in variants():
                    params = {"q": q, "limit": "20", **extra}

                    async def call(params: dict[str, str] = params) -> None:
                        await get(params)

                    slowest, middle = await timed(rounds, call)
                    timings.append((slowest, middle, name, variant))
    finally:
        server.stop()
    return timings


def report(title: str, timings: list[Timing]) -> None:
    print(f"\n{title}: slowest of each, worst ten (ms: slowest / median)")
    for slowest, middle, name, variant in sorted(timings, reverse=True)[:10]:
        print(f"  {slowest:7.1f} / {middle:6.1f}  {name}, {variant}")


async def main(rounds: int, pgdata: Path) -> None:
    for name, q in cases().items():
        try:
            CleaningListQuery(q=q)
        except ValidationError as exc:  # the cases must be what the API accepts
            raise SystemExit(f"{name!r} is refused: {exc}") from exc
    server = data.BenchServer(pgdata)
    try:
        prepared = await data.prepare_database(server, SIZE, log=print)
        print(
            f"limits: {search.MAX_LENGTH} characters, {search.MAX_WORDS} words; "
            f"{prepared.counts['cleanings']:,} cleanings; {rounds} rounds a figure"
        )
        worst = {}
        for mode in ("force_custom_plan", "force_generic_plan"):
            timings = await database_part(prepared.url, rounds, mode)
            report(f"database, {mode}", timings)
            worst[f"database, {mode}"] = max(timings)
        timings = await http_part(prepared, rounds)
        report("HTTP, phresh serve", timings)
        worst["HTTP"] = max(timings)
        print("\nworst:")
        for part, (slowest, _, name, variant) in worst.items():
            print(f"  {part}: {slowest:.1f} ms ({name}, {variant})")
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.search_worst", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="Requests a figure (slowest of).")
    parser.add_argument("--pgdata", type=Path, default=servers.REPO / "var" / "bench-pgdata")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.pgdata))

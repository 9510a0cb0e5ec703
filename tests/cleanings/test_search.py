"""The search box: q is rebuilt into syntax websearch_to_tsquery always parses, and bounded."""

import asyncio
import random

import asyncpg
import httpx
import pytest
from asyncpg.connection import LoggedQuery

from phresh.cleanings import search
from phresh.cleanings.repository import SEARCH_WINDOW
from phresh.cleanings.schemas import CleaningListQuery
from phresh.db import Connection
from tests.fixtures.factories import create_cleaning, create_user

# --- what reaches PostgreSQL ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "websearch"),
    [
        ("oven clean", "oven clean"),
        ('"end of tenancy" -pet', '"end of tenancy" -pet'),
        ("oven OR hob", "oven or hob"),
        ("-" * 33, ""),
        ("kitchen " + "-" * 40, "kitchen"),
        ("--pet oven", "-pet oven"),
        ("or oven or or hob or", "oven or hob"),
        ("!!!|||&&&(((oven)))", "oven"),
        ("oven<->hob", '"oven hob"'),
        ("a:* b:A", 'a "b A"'),
        ("back\\", "back"),
        ('unbalanced "quote here', 'unbalanced "quote here"'),
        ('-"" """', ""),
        ("e-mail o'brien 3.5 jane@example.com", "e-mail o'brien 3.5 jane@example.com"),
        ("café 東京 😀", "café 東京"),
        ("'; drop table cleaning; --", "drop table cleaning"),
    ],
)
def test_q_is_rebuilt_from_words_phrases_negations_and_or(q: str, websearch: str) -> None:
    assert search.websearch(q) == websearch


def test_words_are_runs_of_letters_and_digits() -> None:
    assert search.parse("e-mail o'brien 3.5 jane@example.com").word_count == 9
    assert search.parse('"deep clean" -pet or oven ---').word_count == 4


# --- item 5: no q is a 500 -------------------------------------------------------------------


async def test_a_separator_line_is_ignored(
    client: httpx.AsyncClient, connection: Connection, headers: dict[str, str]
) -> None:
    owner = await create_user(connection)
    kitchen = await create_cleaning(connection, owner=owner, name="Kitchen")
    separator = "-" * 33  # one more dash than websearch_to_tsquery's operator stack holds

    alone = await client.get("/cleanings", params={"q": separator}, headers=headers)
    after_a_word = await client.get(
        "/cleanings", params={"q": f"kitchen {separator}"}, headers=headers
    )

    assert alone.status_code == 200, alone.text
    assert alone.json()["items"] == []
    assert after_a_word.status_code == 200, after_a_word.text
    assert [c["id"] for c in after_a_word.json()["items"]] == [kitchen.id]


# Pieces of what breaks websearch_to_tsquery, or nearly: its operators, runs of them, quotes,
# "or", tsquery modifiers, backslashes, hyphenated compounds, marks and other scripts.
PIECES = [
    "-", "--", "!", "|", "&", "<->", "<2>", "<", ">", '"', "'", "(", ")", ":", ":*", ":A", "*",
    "\\", "or", "OR", "-or", " ", "  ", "a", "a-", "-a", "kitchen", "oven", "the",
    "e-mail", "3.5", "@", "/", "+", "_", ".", "é", "e\u0301", "東京", "😀", "\u00a0", "\u200b",
    "\u2028", "\ufeff", "ß", "İ", "ﬁ", "١٢٣", "x" * 40,
]  # fmt: skip
# Runs of one: 33 of "-" overflow websearch_to_tsquery's operator stack, as do most with a "-".
RUNS = [
    "-", "- ", "-!", "-(", '-"', "-or ", "-a ", "a-", "!", "|", "&", "<->", '"', "or ", "\\", ":*",
]  # fmt: skip


def hostile(rng: random.Random) -> str:
    """A search text built to break a tsquery parser; some are over the limits."""
    kind = rng.random()
    if kind < 0.3:
        run = rng.choice(RUNS)
        has_words = any(char.isalnum() for char in run)
        return run * rng.randint(1, 24 if has_words else 150)
    if kind < 0.5:
        # Any code point a URL can carry (no surrogates), NUL included.
        points = [rng.randint(0, 0x2FFFF) for _ in range(rng.randint(1, 40))]
        return "".join(chr(p) for p in points if not 0xD800 <= p <= 0xDFFF) or "x"
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 40)))


async def test_no_search_text_is_a_server_error(
    client: httpx.AsyncClient,
    connection: Connection,
    headers: dict[str, str],
) -> None:
    owner = await create_user(connection)
    await create_cleaning(connection, owner=owner, name="Kitchen and oven")
    rng = random.Random(20261122)  # noqa: S311 - reproducible test data
    texts = [hostile(rng) for _ in range(400)]
    statuses: dict[int, int] = {}
    broken_raw = 0

    for q in texts:
        response = await client.get("/cleanings", params={"q": q}, headers=headers)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code in (200, 422), (q, response.text)
        if response.status_code == 422:
            errors = response.json()["errors"]
            assert [e["field"] for e in errors] == ["q"], (q, errors)
            assert errors[0]["message"], (q, errors)
        # The generator's power: how many of these PostgreSQL refuses when sent as they are.
        if "\x00" not in q:
            try:
                async with connection.transaction():  # a savepoint: the test goes on
                    await connection.execute("SELECT websearch_to_tsquery('english', $1)", q)
            except asyncpg.PostgresError:
                broken_raw += 1

    assert statuses.get(200, 0) > 250, statuses
    assert statuses.get(422, 0) > 20, statuses  # over the limits, NUL, nothing to look for
    assert broken_raw > 10, broken_raw


# --- item 6: bounded work ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "says"),
    [
        (  # the 2,700 OR-ed words (16 KB) that held a connection for 15 s
            " or ".join(["oven", "hob", "sofa"] * 900)[:16_384],
            f"at most {search.MAX_LENGTH} characters",
        ),
        (" ".join(["oven"] * (search.MAX_WORDS + 1)), f"at most {search.MAX_WORDS} words"),
        ("-".join(["a"] * (search.MAX_WORDS + 1)), f"at most {search.MAX_WORDS} words"),
        ("-pet", "needs a word to look for"),
        ("oven or -pet", "needs a word to look for"),
    ],
)
async def test_a_query_beyond_the_limits_is_a_422_that_says_which(
    client: httpx.AsyncClient, headers: dict[str, str], q: str, says: str
) -> None:
    response = await client.get("/cleanings", params={"q": q}, headers=headers)

    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["q"]
    assert says in errors[0]["message"]


async def test_a_query_at_the_limits_is_answered(
    client: httpx.AsyncClient, connection: Connection, headers: dict[str, str]
) -> None:
    owner = await create_user(connection)
    oven = await create_cleaning(connection, owner=owner, name="Oven")
    words = ["oven"] + [f"zq{n:04}" for n in range(search.MAX_WORDS - 1)]
    longest = " or ".join(words)
    longest += " " * (search.MAX_LENGTH - len(longest))

    response = await client.get(
        "/cleanings", params={"q": longest, "with_count": "true"}, headers=headers
    )

    assert len(longest) == search.MAX_LENGTH
    assert response.status_code == 200, response.text
    assert [c["id"] for c in response.json()["items"]] == [oven.id]
    assert response.json()["total"] == 1


def test_the_limits_are_in_the_openapi_description() -> None:
    description = CleaningListQuery.model_fields["q"].description or ""

    assert f"{search.MAX_LENGTH} characters" in description
    assert f"{search.MAX_WORDS} words" in description


@pytest.mark.parametrize("q", ["the", "the -oven", "-" * 33, "!!!"])
async def test_a_query_with_nothing_to_look_up_reads_no_cleaning(
    client: httpx.AsyncClient,
    connection: Connection,
    headers: dict[str, str],
    q: str,
) -> None:
    owner = await create_user(connection)
    await create_cleaning(connection, owner=owner, name="Spring clean", description="no oven")
    statements: list[str] = []

    def record(logged: LoggedQuery) -> None:
        statements.append(logged.query)

    # Every request of the test app runs on the test's connection: its statements are these.
    with connection.query_logger(record):
        response = await client.get(
            "/cleanings", params={"q": q, "with_count": "true"}, headers=headers
        )
        await asyncio.sleep(0)  # asyncpg calls the logger soon after each statement

    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
    assert response.json()["total"] == 0
    assert statements  # the caller's user was read: the logger sees the app's statements
    # Only the tsquery is made: "-oven" alone would have to test every open cleaning.
    assert not [s for s in statements if "FROM cleaning" in s], statements


async def test_relevance_total_is_what_its_pages_hold(
    client: httpx.AsyncClient,
    connection: Connection,
    headers: dict[str, str],
) -> None:
    owner = await create_user(connection)
    await connection.execute(
        "INSERT INTO cleaning (owner_id, name, description, cleaning_type, price) "
        "SELECT $1, 'Job ' || n, 'kitchen', 'spot_clean', 20 "
        "FROM generate_series(1, $2) AS n",
        owner.id,
        SEARCH_WINDOW + 5,
    )
    seen: list[int] = []
    cursor = None
    while True:
        params = {"q": "kitchen", "limit": "100", "with_count": "true"}
        response = await client.get(
            "/cleanings", params=params | ({"cursor": cursor} if cursor else {}), headers=headers
        )
        assert response.status_code == 200, response.text
        if cursor is None:
            total = response.json()["total"]
        seen.extend(c["id"] for c in response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    by_newest = await client.get(
        "/cleanings",
        params={"q": "kitchen", "sort": "newest", "with_count": "true"},
        headers=headers,
    )

    assert total == len(seen) == len(set(seen)) == SEARCH_WINDOW
    assert by_newest.json()["total"] == SEARCH_WINDOW + 5

"""The one keyset page helper every list uses."""

from datetime import UTC, datetime

import pytest

from phresh.kit.pagination import (
    CursorCodec,
    InvalidCursor,
    Page,
    after_time_key,
    keyset_page,
    time_key,
)

CODEC = CursorCodec(b"k" * 32)
START = datetime(2026, 1, 1, tzinfo=UTC)
ROWS = [(START.replace(minute=n), n) for n in range(5)]


def page_of(rows: list[tuple[datetime, int]], limit: int) -> tuple[list[int], str | None]:
    page = keyset_page(
        rows,
        limit=limit,
        codec=CODEC,
        scope="test",
        key=lambda row: time_key(*row),
        page=Page[int],
        item=lambda row: row[1],
    )
    return page.items, page.next_cursor


def test_a_last_page_has_no_cursor() -> None:
    assert page_of(ROWS[:3], limit=3) == ([0, 1, 2], None)


def test_the_extra_row_is_not_shown_and_the_cursor_points_after_the_last_shown() -> None:
    items, cursor = page_of(ROWS[:4], limit=3)

    assert items == [0, 1, 2]
    assert after_time_key(CODEC, "test", cursor) == ROWS[2]


def test_the_first_page_has_nothing_to_start_after() -> None:
    assert after_time_key(CODEC, "test", None) is None


def test_a_cursor_is_bound_to_its_listing() -> None:
    _, cursor = page_of(ROWS, limit=2)

    with pytest.raises(InvalidCursor):
        after_time_key(CODEC, "another listing", cursor)


def test_the_total_is_passed_through_when_counted() -> None:
    page = keyset_page(
        ROWS,
        limit=2,
        codec=CODEC,
        scope="test",
        key=lambda r: time_key(*r),
        page=Page[str],
        item=str,
        total=5,
    )

    assert page.total == 5

"""The one keyset page helper every list uses."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from phresh.kit.pagination import (
    CursorCodec,
    InvalidCursor,
    Page,
    after_time_key,
    cursor_key_id,
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


# Key rotation

OLD_KEY = b"o" * 32
NEW_KEY = b"n" * 32


def cursor_of(codec: CursorCodec) -> str:
    cursor = codec.encode_cursor("test", time_key(*ROWS[2]))
    assert len(cursor) < 128  # it goes in a URL
    return cursor


def test_a_cursor_signed_with_a_previous_key_still_reads() -> None:
    rotated = CursorCodec(NEW_KEY, [OLD_KEY])

    assert after_time_key(rotated, "test", cursor_of(CursorCodec(OLD_KEY))) == ROWS[2]


def test_a_cursor_signed_with_a_key_no_longer_listed_is_refused() -> None:
    with pytest.raises(InvalidCursor):
        after_time_key(CursorCodec(NEW_KEY), "test", cursor_of(CursorCodec(OLD_KEY)))


def test_new_cursors_are_signed_with_the_current_key() -> None:
    cursor = cursor_of(CursorCodec(NEW_KEY, [OLD_KEY]))

    assert after_time_key(CursorCodec(NEW_KEY), "test", cursor) == ROWS[2]
    with pytest.raises(InvalidCursor):
        after_time_key(CursorCodec(OLD_KEY), "test", cursor)


def test_a_cursor_without_a_key_id_is_refused() -> None:
    """The previous release's cursors (signature, then payload): their clients start over."""
    scope = hashlib.sha256(b"test").hexdigest()[:16]
    payload = json.dumps([scope, time_key(*ROWS[2])], separators=(",", ":"))
    signature = hmac.new(OLD_KEY, payload.encode(), hashlib.sha256).digest()[:16]
    legacy = base64.urlsafe_b64encode(signature + payload.encode()).rstrip(b"=").decode()

    with pytest.raises(InvalidCursor):
        after_time_key(CursorCodec(OLD_KEY), "test", legacy)


def test_keys_that_share_a_key_id_each_verify_their_cursors() -> None:
    first = b"k" * 32
    second = next(
        key
        for n in range(100_000)
        if cursor_key_id(key := n.to_bytes(32, "big")) == cursor_key_id(first)
    )
    codec = CursorCodec(first, [second])

    assert after_time_key(codec, "test", cursor_of(CursorCodec(second))) == ROWS[2]
    assert after_time_key(codec, "test", cursor_of(CursorCodec(first))) == ROWS[2]


def test_a_tampered_cursor_is_refused() -> None:
    raw = bytearray(base64.urlsafe_b64decode(cursor_of(CODEC) + "=="))
    raw[-3] ^= 1
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()

    with pytest.raises(InvalidCursor):
        after_time_key(CODEC, "test", tampered)


def test_codecs_from_secrets_sign_with_the_first_and_verify_with_each() -> None:
    secrets = ["current-" + "c" * 32, "previous-" + "p" * 32]
    codec = CursorCodec.from_secrets(secrets)
    previous = CursorCodec.from_secrets(secrets[1:])

    assert after_time_key(codec, "test", cursor_of(previous)) == ROWS[2]
    with pytest.raises(InvalidCursor):
        after_time_key(previous, "test", cursor_of(codec))

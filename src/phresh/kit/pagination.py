"""Keyset pagination with opaque, signed cursors.

A cursor is the sort key of the last row a client saw, JSON-encoded, signed with HMAC and
base64url-encoded. A client cannot forge one into SQL: a cursor whose signature does not
match, or that was minted for another listing, is a 400.

Its first byte names the key that signed it, so that keys rotate: a codec signs with its
first key and verifies with any of them (a rotation's previous ones), so that while a new key
rolls out, processes accept each other's cursors. A cursor issued before key ids existed (no
such byte) is a 400 like any unknown one: its client starts the listing over.
"""

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from phresh.errors import BadRequest


class InvalidCursor(BadRequest):
    slug = "invalid-cursor"
    title = "Invalid cursor"


SIGNATURE_BYTES = 16
UNKNOWN_CURSOR = "The cursor is not one this API issued."


def cursor_key(secret: str) -> bytes:
    """The HMAC key of cursors derived from a configured secret (the JWT secret's by
    default): a digest of its own, so that a cursor's signature is no token's."""
    return hashlib.sha256(b"cursor:" + secret.encode()).digest()


def cursor_key_id(key: bytes) -> int:
    """One byte naming ``key`` in its cursors. Two keys may share one (1 in 256): a cursor
    is then checked against each of them, so a collision costs an HMAC, never a refusal."""
    return hashlib.sha256(b"cursor-key-id:" + key).digest()[0]


class CursorCodec:
    """Signs cursors with ``key`` and verifies them with it or any of ``previous``."""

    def __init__(self, key: bytes, previous: Sequence[bytes] = ()) -> None:
        self._key = key
        self._key_id = bytes([cursor_key_id(key)])
        self._keys: dict[int, list[bytes]] = {}
        for each in (key, *previous):
            self._keys.setdefault(cursor_key_id(each), []).append(each)

    @classmethod
    def from_secrets(cls, secrets: Sequence[str]) -> "CursorCodec":
        """A codec signing with the first secret's key, verifying with every one's."""
        signing, *previous = (cursor_key(secret) for secret in secrets)
        return cls(signing, previous)

    @staticmethod
    def _sign(key: bytes, payload: bytes) -> bytes:
        return hmac.new(key, payload, hashlib.sha256).digest()[:SIGNATURE_BYTES]

    @staticmethod
    def _scope_digest(scope: str) -> str:
        # A digest, not the scope itself: scopes can hold a long search text.
        return hashlib.sha256(scope.encode()).hexdigest()[:16]

    def encode_cursor(self, scope: str, values: list[Any]) -> str:
        payload = json.dumps([self._scope_digest(scope), values], separators=(",", ":")).encode()
        token = self._key_id + self._sign(self._key, payload) + payload
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode()

    def decode_cursor(self, scope: str, cursor: str) -> list[Any]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError) as exc:
            raise InvalidCursor(UNKNOWN_CURSOR) from exc
        if len(raw) <= 1 + SIGNATURE_BYTES:
            raise InvalidCursor(UNKNOWN_CURSOR)
        signature, payload = raw[1 : 1 + SIGNATURE_BYTES], raw[1 + SIGNATURE_BYTES :]
        keys = self._keys.get(raw[0], [])
        if not any(hmac.compare_digest(signature, self._sign(key, payload)) for key in keys):
            raise InvalidCursor(UNKNOWN_CURSOR)
        found_scope, values = json.loads(payload)
        if found_scope != self._scope_digest(scope) or not isinstance(values, list):
            raise InvalidCursor("The cursor belongs to another listing or sort order.")
        return values


Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1-100.")]
Cursor = Annotated[
    str | None,
    Query(max_length=512, description="Opaque cursor from the previous page's `next_cursor`."),
]
WithCount = Annotated[
    bool, Query(description="Also return `total`, the number of matching rows (costs a count).")
]


T = TypeVar("T")
R = TypeVar("R")


class Page(BaseModel, Generic[T]):
    """What every list answers: a page of items, the cursor of the next one, the total."""

    items: list[T]
    next_cursor: str | None
    total: int | None = None


P = TypeVar("P", bound=Page[Any])


def keyset_page(
    rows: Sequence[R],
    *,
    limit: int,
    codec: CursorCodec,
    scope: str,
    key: Callable[[R], list[Any]],
    page: type[P],
    item: Callable[[R], Any] | None = None,
    total: int | None = None,
) -> P:
    """A ``page`` (``Page[SomeRead]``) from up to ``limit + 1`` rows read in keyset order.

    The extra row only says that a next page exists; its cursor is the key of the last row
    shown, so the next page's query starts right after it. The rows (or ``item`` of each)
    become the page's items in one validation: from the entities' attributes.
    """
    next_cursor = codec.encode_cursor(scope, key(rows[limit - 1])) if len(rows) > limit else None
    shown = rows[:limit]
    items = shown if item is None else [item(row) for row in shown]
    return page.model_validate({"items": items, "next_cursor": next_cursor, "total": total})


# Most lists walk (a timestamp, an id) newest or oldest first.
TimeKey = tuple[datetime, int]


def time_key(at: datetime, row_id: int | uuid.UUID) -> list[Any]:
    return [at.isoformat(), row_id if isinstance(row_id, int) else str(row_id)]


def after_time_key(codec: CursorCodec, scope: str, cursor: str | None) -> TimeKey | None:
    """The (timestamp, id) a cursor of ``scope`` points after; None for the first page."""
    return after_time_key_of(codec, scope, cursor, int)


K = TypeVar("K")


def after_time_key_of(
    codec: CursorCodec, scope: str, cursor: str | None, id_of: Callable[[Any], K]
) -> tuple[datetime, K] | None:
    """``after_time_key`` for rows whose id is read by ``id_of`` (``uuid.UUID``, say)."""
    if cursor is None:
        return None
    at, row_id = codec.decode_cursor(scope, cursor)
    return datetime.fromisoformat(at), id_of(row_id)

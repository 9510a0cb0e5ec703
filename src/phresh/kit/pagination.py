"""Keyset pagination with opaque, signed cursors.

A cursor is the sort key of the last row a client saw, JSON-encoded, signed with HMAC and
base64url-encoded. A client cannot forge one into SQL: a cursor whose signature does not
match, or that was minted for another listing, is a 400.
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


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:16]

    @staticmethod
    def _scope_digest(scope: str) -> str:
        # A digest, not the scope itself: scopes can hold a long search text.
        return hashlib.sha256(scope.encode()).hexdigest()[:16]

    def encode_cursor(self, scope: str, values: list[Any]) -> str:
        payload = json.dumps([self._scope_digest(scope), values], separators=(",", ":")).encode()
        token = self._sign(payload) + payload
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode()

    def decode_cursor(self, scope: str, cursor: str) -> list[Any]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError) as exc:
            raise InvalidCursor("The cursor is not one this API issued.") from exc
        signature, payload = raw[:16], raw[16:]
        if len(signature) != 16 or not hmac.compare_digest(signature, self._sign(payload)):
            raise InvalidCursor("The cursor is not one this API issued.")
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

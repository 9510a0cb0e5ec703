"""The limit: Phresh's benchmarked endpoints on raw ASGI + an asyncpg pool.

No framework, no ORM, no pydantic models: a path split for routing, PyJWT for the same token
check, the same SQL as Phresh (``bench/reference/sql.py``) in the same order (writes in one
transaction; reads in autocommit or in a transaction, whichever Phresh does), and
``pydantic_core.to_json`` for the body (Rust-speed, like orjson, and already installed as
FastAPI's dependency). Whatever Phresh spends beyond this is framework, layering and
validation overhead.

Configured from the same environment variables as Phresh: PHRESH_DATABASE_URL,
PHRESH_JWT_SECRET, PHRESH_JWT_ISSUER, PHRESH_JWT_AUDIENCE, PHRESH_CURSOR_SECRET and
PHRESH_DB_POOL_SIZE; BENCH_REFERENCE_READ_TRANSACTION=1 puts reads in a transaction.
Run it with uvicorn's factory flag::

    uvicorn bench.reference.app:create_app --factory --loop uvloop --http httptools
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import jwt
from pydantic_core import to_json

from bench.reference import sql
from phresh.cleanings import search

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Row = Mapping[str, Any]

API = "/api/v1"
MAX_ID = 2**63 - 1
CLEANING_TYPES = frozenset({"dust_up", "spot_clean", "full_clean"})
MAX_PRICE = Decimal("99999999.99")
CENT = Decimal("0.01")


class Problem(Exception):
    """An error response, rendered as RFC 9457 problem details like Phresh's."""

    def __init__(self, status: int, slug: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.body = {
            "type": f"urn:phresh:problem:{slug}",
            "title": title,
            "status": status,
            "detail": detail,
        }


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "invalid-token", "Invalid or expired token", detail)


def _not_found(slug: str, detail: str) -> Problem:
    return Problem(404, slug, "Not found", detail)


def _conflict(slug: str, detail: str) -> Problem:
    return Problem(409, slug, "Conflict", detail)


def _invalid(detail: str) -> Problem:
    return Problem(422, "validation-error", "Invalid request", detail)


class CursorCodec:
    """Phresh's cursor format (kit/pagination.py), so cursors are interchangeable."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        # The key's id, one byte in front (phresh.kit.pagination.cursor_key_id).
        self._key_id = bytes([hashlib.sha256(b"cursor-key-id:" + secret).digest()[0]])

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:16]

    @staticmethod
    def _scope_digest(scope: str) -> str:
        return hashlib.sha256(scope.encode()).hexdigest()[:16]

    def encode_cursor(self, scope: str, values: list[Any]) -> str:
        payload = json.dumps([self._scope_digest(scope), values], separators=(",", ":")).encode()
        token = self._key_id + self._sign(payload) + payload
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode()

    def decode_cursor(self, scope: str, cursor: str) -> list[Any]:
        invalid = Problem(400, "invalid-cursor", "Invalid cursor", "Not a cursor of this API.")
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError) as exc:
            raise invalid from exc
        key_id, signature, payload = raw[:1], raw[1:17], raw[17:]
        if key_id != self._key_id or len(signature) != 16:
            raise invalid
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise invalid
        found_scope, values = json.loads(payload)
        if found_scope != self._scope_digest(scope) or not isinstance(values, list):
            raise invalid
        return values


def token_subject(token: str, secret: str, audience: str, issuer: str) -> tuple[int, uuid.UUID]:
    """The user id and session id of a valid access token (HS256, exp, iss, aud, sub, sid
    required, as Phresh); jwt.PyJWTError or ValueError otherwise."""
    claims = jwt.decode(
        token,
        secret,
        algorithms=["HS256"],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iss", "aud", "sub", "sid"]},
    )
    return int(claims["sub"]), uuid.UUID(claims["sid"])


def cleaning_json(row: Row) -> dict[str, Any]:
    """CleaningRead: the owner by username, the price as a two-decimal string."""
    return {
        "id": row["id"],
        "owner": row["owner"],
        "name": row["name"],
        "description": row["description"],
        "cleaning_type": row["cleaning_type"],
        "price": f"{row['price']:.2f}",
        "status": row["status"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def event_data(cleaning: Row, by: str) -> str:
    """An event's data as Phresh writes it (events/service.py event_data), as JSON text."""
    return json.dumps({"cleaning_id": cleaning["id"], "cleaning_name": cleaning["name"], "by": by})


def offer_json(row: Row) -> dict[str, Any]:
    """OfferRead, from a row of Phresh's offer columns (the cleaner by username)."""
    return {
        "cleaning_id": row["cleaning_id"],
        "cleaner": row["cleaner"],
        "status": row["status"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _average(value: Any) -> float | None:
    return None if value is None else round(float(str(value)), 2)


def _query(scope: Scope) -> dict[str, str]:
    params = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    return {key: values[-1] for key, values in params.items()}


def _limit(query: Mapping[str, str]) -> int:
    try:
        limit = int(query.get("limit", "20"))
    except ValueError as exc:
        raise _invalid("limit must be an integer") from exc
    if not 1 <= limit <= 100:
        raise _invalid("limit must be 1-100")
    return limit


def _cleaning_id(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise _invalid("cleaning_id must be a positive integer")
    return int(raw)


def _price(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _invalid("price must be a number or a string")
    try:
        price = Decimal(str(value))
    except InvalidOperation as exc:
        raise _invalid("price must be a decimal number") from exc
    if not CENT <= price <= MAX_PRICE or price != price.quantize(CENT):
        raise _invalid("price must be 0.01-99,999,999.99 with at most 2 decimals")
    return price.quantize(CENT)


def _new_cleaning(body: bytes) -> tuple[str, str, str, Decimal]:
    """The checks of CleaningCreate: the same limits, by hand."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise _invalid("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise _invalid("the body must be an object")
    unknown = data.keys() - {"name", "description", "cleaning_type", "price"}
    if unknown:
        raise _invalid(f"unknown fields: {', '.join(sorted(unknown))}")
    name, description = data.get("name"), data.get("description", "")
    cleaning_type = data.get("cleaning_type", "spot_clean")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
        raise _invalid("name must be 1-200 characters")
    if not isinstance(description, str) or len(description.strip()) > 5000:
        raise _invalid("description must be at most 5,000 characters")
    if cleaning_type not in CLEANING_TYPES:
        raise _invalid("cleaning_type must be dust_up, spot_clean or full_clean")
    if "price" not in data:
        raise _invalid("price is required")
    return name.strip(), description.strip(), cleaning_type, _price(data["price"])


async def _user_id_by_username(conn: asyncpg.Connection, username: str) -> int:
    """users/service.py get_user_id: no statement for a name no user can have (a NUL, or
    longer than 254), as in Phresh; then the id of the lower-cased username."""
    user_id = None
    if "\x00" not in username and len(username) <= 254:
        user_id = await conn.fetchval(sql.USER_ID_BY_USERNAME, username.lower())
    if user_id is None:
        raise _not_found("user-not-found", f"No user is called {username!r}.")
    return int(user_id)


async def _tsquery(conn: asyncpg.Connection, q: str) -> str | None:
    """cleanings/repository.py search_tsquery: q rebuilt by Phresh's own search module (the
    same Python work), then made a tsquery once; None when the index has nothing to look up."""
    text = search.websearch(q)
    if not text:
        return None
    row = await conn.fetchrow(sql.TO_TSQUERY, text)
    if row is None or row["indexable"] in ("", "T"):
        return None
    return str(row["query"])


class ReferenceApp:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self.database_url = environ["PHRESH_DATABASE_URL"].replace(
            "postgresql+asyncpg://", "postgresql://", 1
        )
        self.jwt_secret = environ["PHRESH_JWT_SECRET"]
        self.issuer = environ.get("PHRESH_JWT_ISSUER", "phresh")
        self.audience = environ.get("PHRESH_JWT_AUDIENCE", "phresh-api")
        self.pool_size = int(environ.get("PHRESH_DB_POOL_SIZE", "10"))
        # Mirror Phresh: its GETs run in autocommit (no BEGIN/COMMIT) unless this says they
        # run in a transaction; bench/run.py sets it from what the SQL parity check saw.
        self.reads_in_transaction = environ.get("BENCH_REFERENCE_READ_TRANSACTION") == "1"
        cursor_secret = environ.get("PHRESH_CURSOR_SECRET") or self.jwt_secret
        self.codec = CursorCodec(hashlib.sha256(b"cursor:" + cursor_secret.encode()).digest())
        self.pool: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            status, body = await self._route(scope, receive)
            content_type = b"application/json"
        except Problem as problem:
            status, body = problem.status, problem.body
            content_type = b"application/problem+json"
        payload = b"" if body is None else to_json(body)
        headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(payload))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # The same server settings as Phresh's engine, sent in the startup packet.
                self.pool = await asyncpg.create_pool(
                    self.database_url,
                    min_size=self.pool_size,
                    max_size=self.pool_size,
                    # asyncpg's default reset sends "SELECT pg_advisory_unlock_all(); CLOSE ALL;
                    # UNLISTEN *; RESET ALL" on every release: a round trip Phresh's pool does
                    # not make. This app sets none of that state, so nothing needs undoing.
                    reset=_keep_connection_state,
                    server_settings={
                        "application_name": "phresh-reference",
                        "statement_timeout": "15000",
                        "lock_timeout": "5000",
                        "idle_in_transaction_session_timeout": "60000",
                    },
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _route(self, scope: Scope, receive: Receive) -> tuple[int, Any]:
        path: str = scope["path"]
        method: str = scope["method"]
        if not path.startswith(API + "/"):
            raise _not_found("not-found", "No such path.")
        parts = path[len(API) + 1 :].split("/")
        if parts == ["health", "live"]:
            return 200, {"status": "ok"}
        if parts[0] == "cleanings":
            if len(parts) == 1 and method == "GET":
                return 200, await self.list_cleanings(scope)
            if len(parts) == 1 and method == "POST":
                return 201, await self.create_cleaning(scope, await _read_body(receive))
            if len(parts) == 2 and method == "GET":
                return 200, await self.read_cleaning(scope, _cleaning_id(parts[1]))
            if len(parts) == 3 and parts[2] == "offers" and method == "POST":
                return 201, await self.make_offer(scope, _cleaning_id(parts[1]))
            if len(parts) == 5 and parts[2] == "offers" and method == "POST":
                if parts[3:] == ["mine", "cancel"]:
                    return 200, await self.cancel_my_offer(scope, _cleaning_id(parts[1]))
                if parts[4] == "accept":
                    return 200, await self.accept_offer(scope, _cleaning_id(parts[1]), parts[3])
        if parts == ["feed", "cleanings"] and method == "GET":
            return 200, await self.list_feed(scope)
        stats = len(parts) == 4 and parts[0] == "users" and parts[2:] == ["evaluations", "stats"]
        if stats and method == "GET":
            return 200, await self.evaluation_stats(scope, parts[1])
        raise _not_found("not-found", "No such path.")

    def _caller(self, scope: Scope) -> tuple[int, uuid.UUID]:
        """The token's subject, checked exactly as Phresh's TokenReader does."""
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, credentials = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and credentials:
                    token = credentials
                break
        if token is None:
            raise Problem(401, "unauthorized", "Not authenticated", "Authentication required.")
        try:
            return token_subject(token, self.jwt_secret, self.audience, self.issuer)
        except (jwt.PyJWTError, ValueError) as exc:
            raise _unauthorized("The access token is invalid or has expired.") from exc

    def _read(self, conn: Any) -> AbstractAsyncContextManager[Any]:
        """Reads: a transaction, or none, as Phresh does. Writes always take one."""
        if self.reads_in_transaction:
            transaction: AbstractAsyncContextManager[Any] = conn.transaction()
            return transaction
        return nullcontext()

    @staticmethod
    async def _current_user(conn: Any, caller: tuple[int, uuid.UUID]) -> Row:
        user_id, session_id = caller
        user: Row | None = await conn.fetchrow(sql.USER_OF_SESSION, session_id, user_id)
        if user is None or not user["is_active"]:
            raise _unauthorized("The account behind this token no longer exists or is disabled.")
        return user

    async def read_cleaning(self, scope: Scope, cleaning_id: int) -> dict[str, Any]:
        caller = self._caller(scope)
        async with self.pool.acquire() as conn, self._read(conn):
            await self._current_user(conn, caller)
            row = await conn.fetchrow(sql.CLEANING_READ, cleaning_id)
            if row is None:
                raise _not_found("cleaning-not-found", f"No cleaning with id {cleaning_id}.")
            return cleaning_json(row)

    async def list_cleanings(self, scope: Scope) -> dict[str, Any]:
        caller = self._caller(scope)
        query = _query(scope)
        unknown = query.keys() - {"limit", "q", "cursor"}
        if unknown:
            raise _invalid(f"unsupported parameters in the reference: {sorted(unknown)}")
        limit = _limit(query)
        q = query.get("q")
        cursor = query.get("cursor")
        if q is not None:
            if not 1 <= len(q) <= search.MAX_LENGTH:
                raise _invalid(f"q must be 1-{search.MAX_LENGTH} characters")
            try:
                search.check(q)
            except ValueError as exc:
                raise _invalid(f"q {exc}") from exc
        # Phresh's cursor scopes (CleaningListQuery.cursor_scope) for these two listings.
        scope_key = f"cleanings:relevance:{[('q', q)]}" if q else "cleanings:newest:[]"
        after = self.codec.decode_cursor(scope_key, cursor) if cursor is not None else None
        fetch = limit + 1
        async with self.pool.acquire() as conn, self._read(conn):
            await self._current_user(conn, caller)
            tsquery = await _tsquery(conn, q) if q else None
            if q and tsquery is None:
                rows = []  # nothing in q the index can look up: no statement, as in Phresh
            elif q and after is None:
                rows = await conn.fetch(sql.SEARCH, tsquery, fetch)
            elif q and after is not None:
                key_rank, key_id = float(after[0]), int(after[1])
                rows = await conn.fetch(sql.SEARCH_AFTER, tsquery, key_rank, key_id, fetch)
            elif after is None:
                rows = await conn.fetch(sql.LIST_NEWEST, fetch)
            else:
                key_at = datetime.fromisoformat(str(after[0]))
                rows = await conn.fetch(sql.LIST_NEWEST_AFTER, key_at, int(after[1]), fetch)
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            key = [last["rank"], last["id"]] if q else [last["created_at"].isoformat(), last["id"]]
            next_cursor = self.codec.encode_cursor(scope_key, key)
        return {
            "items": [cleaning_json(row) for row in rows[:limit]],
            "next_cursor": next_cursor,
            "total": None,
        }

    async def create_cleaning(self, scope: Scope, body: bytes) -> dict[str, Any]:
        caller = self._caller(scope)
        name, description, cleaning_type, price = _new_cleaning(body)
        # As Phresh since c1b44ca: BEGIN, the user read, the insert, COMMIT.
        async with self.pool.acquire() as conn, conn.transaction():
            user = await self._current_user(conn, caller)
            row = await conn.fetchrow(
                sql.INSERT_CLEANING, user["id"], name, description, cleaning_type, price
            )
        return cleaning_json(row)

    async def list_feed(self, scope: Scope) -> dict[str, Any]:
        caller = self._caller(scope)
        query = _query(scope)
        limit = _limit(query)
        cursor = query.get("cursor")
        if cursor is None:
            before = (datetime.now(UTC), MAX_ID)
        else:
            event_at, cleaning_id = self.codec.decode_cursor("feed", cursor)
            before = (datetime.fromisoformat(event_at), int(cleaning_id))
        async with self.pool.acquire() as conn, self._read(conn):
            await self._current_user(conn, caller)
            rows = await conn.fetch(sql.FEED, *before, limit + 1)
        items = [
            {"event": row["event"], "event_at": row["event_at"], "cleaning": cleaning_json(row)}
            for row in rows[:limit]
        ]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = self.codec.encode_cursor(
                "feed", [last["event_at"].isoformat(), last["id"]]
            )
        return {"items": items, "next_cursor": next_cursor, "total": None}

    async def evaluation_stats(self, scope: Scope, username: str) -> dict[str, Any]:
        caller = self._caller(scope)
        async with self.pool.acquire() as conn, self._read(conn):
            await self._current_user(conn, caller)
            cleaner_id = await _user_id_by_username(conn, username)
            row = await conn.fetchrow(sql.EVALUATION_STATS, cleaner_id)
        return {
            "username": username.lower(),
            "total": row["total"],
            "no_shows": row["no_shows"],
            "avg_professionalism": _average(row["avg_professionalism"]),
            "avg_completeness": _average(row["avg_completeness"]),
            "avg_efficiency": _average(row["avg_efficiency"]),
            "avg_overall_rating": _average(row["avg_overall_rating"]),
            "min_overall_rating": row["min_overall_rating"],
            "max_overall_rating": row["max_overall_rating"],
            "stars": {str(star): row[f"stars_{star}"] for star in range(6)},
        }

    # The offer transitions: one transaction holds everything, the caller's read included,
    # as in Phresh since c1b44ca (its plain-SQL user read begins the transaction).

    async def make_offer(self, scope: Scope, cleaning_id: int) -> dict[str, Any]:
        caller = self._caller(scope)
        async with self.pool.acquire() as conn, conn.transaction():
            user = await self._current_user(conn, caller)
            cleaning = await conn.fetchrow(sql.CLEANING_BY_ID_FOR_SHARE, cleaning_id)
            if cleaning is None:
                raise _not_found("cleaning-not-found", f"No cleaning with id {cleaning_id}.")
            if cleaning["owner_id"] == user["id"]:
                raise Problem(403, "own-cleaning", "Forbidden", "Not your own cleaning.")
            if cleaning["status"] != "open":
                raise _conflict("cleaning-not-open", f"The cleaning is {cleaning['status']}.")
            existing = await conn.fetchrow(sql.OFFER, cleaning_id, user["id"])
            if existing is not None and existing["status"] == "cancelled":
                raise _conflict("offer-final", "A cancelled offer is final.")
            if existing is not None:
                raise _conflict("already-offered", "You have already made an offer.")
            try:
                row = await conn.fetchrow(sql.INSERT_OFFER, cleaning_id, user["id"])
            except asyncpg.UniqueViolationError as exc:
                raise _conflict("already-offered", "You have already made an offer.") from exc
            await conn.execute(
                sql.RECORD_EVENTS,
                cleaning_id,
                event_data(cleaning, user["username"]),
                [cleaning["owner_id"]],
                ["offer_created"],
            )
        return offer_json(row)

    async def accept_offer(self, scope: Scope, cleaning_id: int, username: str) -> dict[str, Any]:
        caller = self._caller(scope)
        async with self.pool.acquire() as conn, conn.transaction():
            user = await self._current_user(conn, caller)
            cleaning = await conn.fetchrow(sql.CLEANING_BY_ID_FOR_UPDATE, cleaning_id)
            if cleaning is None:
                raise _not_found("cleaning-not-found", f"No cleaning with id {cleaning_id}.")
            if cleaning["owner_id"] != user["id"]:
                raise Problem(403, "not-cleaning-owner", "Forbidden", "Owner only.")
            if cleaning["status"] != "open":
                raise _conflict("cleaning-not-open", f"The cleaning is {cleaning['status']}.")
            cleaner_id = await _user_id_by_username(conn, username)
            offer = await conn.fetchrow(sql.OFFER, cleaning_id, cleaner_id)
            if offer is None:
                raise _not_found("offer-not-found", f"{username!r} has made no offer.")
            if offer["status"] != "pending":
                raise _conflict("offer-wrong-status", "Only a pending offer can be accepted.")
            try:
                accepted = await conn.fetchrow(
                    sql.SET_OFFER_STATUS, cleaning_id, cleaner_id, "accepted"
                )
            except asyncpg.UniqueViolationError as exc:
                raise _conflict("cleaning-not-open", "Another offer was accepted.") from exc
            await conn.execute(
                sql.RECORD_OFFER_DECISION,
                cleaning_id,
                event_data(cleaning, user["username"]),
                cleaner_id,
            )
            await conn.execute(
                sql.MOVE_OTHER_OFFERS, cleaning_id, cleaner_id, "pending", "rejected"
            )
            await conn.execute(sql.SET_CLEANING_STATUS, cleaning_id, "assigned")
        return offer_json(accepted)

    async def cancel_my_offer(self, scope: Scope, cleaning_id: int) -> dict[str, Any]:
        caller = self._caller(scope)
        async with self.pool.acquire() as conn, conn.transaction():
            user = await self._current_user(conn, caller)
            cleaning = await conn.fetchrow(sql.CLEANING_BY_ID_FOR_UPDATE, cleaning_id)
            if cleaning is None:
                raise _not_found("cleaning-not-found", f"No cleaning with id {cleaning_id}.")
            offer = await conn.fetchrow(sql.OFFER, cleaning_id, user["id"])
            if offer is None:
                raise _not_found("offer-not-found", "You have made no offer on this cleaning.")
            if offer["status"] != "accepted":
                raise _conflict("offer-wrong-status", "Only an accepted offer can be cancelled.")
            cancelled = await conn.fetchrow(
                sql.SET_OFFER_STATUS, cleaning_id, user["id"], "cancelled"
            )
            await conn.execute(
                sql.MOVE_OTHER_OFFERS, cleaning_id, user["id"], "rejected", "pending"
            )
            await conn.execute(sql.SET_CLEANING_STATUS, cleaning_id, "open")
            await conn.execute(
                sql.RECORD_EVENTS,
                cleaning_id,
                event_data(cleaning, user["username"]),
                [cleaning["owner_id"]],
                ["job_cancelled"],
            )
        return offer_json(cancelled)


async def _keep_connection_state(connection: Any) -> None:
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def create_app() -> ReferenceApp:
    return ReferenceApp(os.environ)

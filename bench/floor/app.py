"""The FastAPI floor: the smallest idiomatic FastAPI app doing Phresh's work on the hot paths.

What Phresh cannot avoid by being a FastAPI app, and nothing more: a ``Path(ge=1)`` path
parameter, one yield dependency handing out a pooled asyncpg connection (the pool opened in
the lifespan), ``OAuth2PasswordBearer`` and a current-user dependency doing the same JWT check
(PyJWT, HS256, the same claims) and the same user query, pydantic ``response_model``\\ s, and
exactly the reference's SQL (``bench/reference/sql.py``) in the same transactions. No ORM, no
service layers, no middleware; FastAPI's telemetry hooks off, as in Phresh. Phresh over this
is what its own design costs; this over the reference (``bench/reference/app.py``) is what
FastAPI costs.

Answers GET /api/v1/cleanings/{id}, GET /api/v1/cleanings?limit=N (the first page, newest
first) and POST /api/v1/cleanings, with the reference's JSON. Configured like the reference
(PHRESH_DATABASE_URL, PHRESH_JWT_SECRET, PHRESH_JWT_ISSUER, PHRESH_JWT_AUDIENCE,
PHRESH_CURSOR_SECRET, PHRESH_DB_POOL_SIZE, BENCH_REFERENCE_READ_TRANSACTION)::

    uvicorn bench.floor.app:create_app --factory --loop uvloop --http httptools
"""

import hashlib
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import asyncpg
import jwt
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request, status
from fastapi.security import OAuth2PasswordBearer
from fastapi.telemetry import TelemetryConfig
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from bench.reference import sql
from bench.reference.app import CursorCodec, token_subject

MAX_ID = 2**63 - 1
CENT = Decimal("0.01")
MAX_PRICE = Decimal("99999999.99")
# Phresh's cursor scope of the newest-first listing (CleaningListQuery.cursor_scope).
NEWEST_SCOPE = "cleanings:newest:[]"

CleaningType = Literal["dust_up", "spot_clean", "full_clean"]
PriceOut = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str)]


class CleaningRead(BaseModel):
    id: int
    owner: str
    name: str
    description: str
    cleaning_type: CleaningType
    price: PriceOut
    status: str
    created_at: datetime
    updated_at: datetime


class CleaningPage(BaseModel):
    items: list[CleaningRead]
    next_cursor: str | None
    total: int | None = None


class CleaningCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=5000)] = ""
    cleaning_type: CleaningType = "spot_clean"
    price: Annotated[Decimal, Field(ge=CENT, le=MAX_PRICE, max_digits=10, decimal_places=2)]


@dataclass(frozen=True)
class Settings:
    database_url: str
    jwt_secret: str
    issuer: str
    audience: str
    pool_size: int
    reads_in_transaction: bool
    codec: CursorCodec

    @classmethod
    def of(cls, environ: Mapping[str, str]) -> "Settings":
        jwt_secret = environ["PHRESH_JWT_SECRET"]
        cursor_secret = environ.get("PHRESH_CURSOR_SECRET") or jwt_secret
        return cls(
            database_url=environ["PHRESH_DATABASE_URL"].replace(
                "postgresql+asyncpg://", "postgresql://", 1
            ),
            jwt_secret=jwt_secret,
            issuer=environ.get("PHRESH_JWT_ISSUER", "phresh"),
            audience=environ.get("PHRESH_JWT_AUDIENCE", "phresh-api"),
            pool_size=int(environ.get("PHRESH_DB_POOL_SIZE", "10")),
            reads_in_transaction=environ.get("BENCH_REFERENCE_READ_TRANSACTION") == "1",
            codec=CursorCodec(hashlib.sha256(b"cursor:" + cursor_secret.encode()).digest()),
        )


async def _keep_connection_state(connection: Any) -> None:
    """No reset round trip on release, as in the reference (and Phresh's pool)."""


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection for the request; writes (and reads, when Phresh's are) in one
    transaction, committed before the response goes out."""
    settings = _settings(request)
    async with request.app.state.pool.acquire() as connection:
        if request.method == "GET" and not settings.reads_in_transaction:
            yield connection
        else:
            async with connection.transaction():
                yield connection


Connection = Annotated[asyncpg.Connection, Depends(get_connection, scope="function")]
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")


async def get_current_user(
    request: Request, token: Annotated[str, Depends(oauth2_scheme)], connection: Connection
) -> asyncpg.Record:
    settings = _settings(request)
    try:
        user_id, session_id = token_subject(
            token, settings.jwt_secret, settings.audience, settings.issuer
        )
    except (jwt.PyJWTError, ValueError) as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Invalid or expired token") from exc
    user: asyncpg.Record | None = await connection.fetchrow(
        sql.USER_OF_SESSION, session_id, user_id
    )
    if user is None or not user["is_active"]:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Unknown or disabled account")
    return user


CurrentUser = Annotated[asyncpg.Record, Depends(get_current_user)]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with asyncpg.create_pool(
        settings.database_url,
        min_size=settings.pool_size,
        max_size=settings.pool_size,
        reset=_keep_connection_state,
        server_settings={
            "application_name": "phresh-floor",
            "statement_timeout": "15000",
            "lock_timeout": "5000",
            "idle_in_transaction_session_timeout": "60000",
        },
    ) as pool:
        app.state.pool = pool
        yield


router = APIRouter(prefix="/api/v1")


@router.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/cleanings/{cleaning_id}", response_model=CleaningRead)
async def read_cleaning(
    cleaning_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: CurrentUser, connection: Connection
) -> Any:
    row = await connection.fetchrow(sql.CLEANING_READ, cleaning_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No cleaning with id {cleaning_id}.")
    return dict(row)


@router.get("/cleanings", response_model=CleaningPage)
async def list_cleanings(
    request: Request,
    user: CurrentUser,
    connection: Connection,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Any:
    rows = await connection.fetch(sql.LIST_NEWEST, limit + 1)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        key = [last["created_at"].isoformat(), last["id"]]
        next_cursor = _settings(request).codec.encode_cursor(NEWEST_SCOPE, key)
    return {"items": [dict(row) for row in rows[:limit]], "next_cursor": next_cursor}


@router.post("/cleanings", response_model=CleaningRead, status_code=status.HTTP_201_CREATED)
async def create_cleaning(body: CleaningCreate, user: CurrentUser, connection: Connection) -> Any:
    row = await connection.fetchrow(
        sql.INSERT_CLEANING,
        user["id"],
        body.name,
        body.description,
        body.cleaning_type,
        body.price.quantize(CENT),
    )
    assert row is not None  # INSERT ... RETURNING always answers its row
    return dict(row)


def create_app(environ: Mapping[str, str] | None = None, *, telemetry: bool = False) -> FastAPI:
    # FastAPI's built-in OpenTelemetry hooks cost time on every request even with no exporter;
    # Phresh turns them off, so the floor does too (``telemetry=True``: FastAPI's default).
    off: TelemetryConfig = {
        "tracing": False,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
    }
    app = FastAPI(lifespan=lifespan, telemetry=None if telemetry else off)
    app.state.settings = Settings.of(os.environ if environ is None else environ)
    app.include_router(router)
    return app

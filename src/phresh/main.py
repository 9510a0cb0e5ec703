"""The application factory. Nothing runs at import: the lifespan opens the database."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse

from phresh.auth.dependencies import MISSING_TOKEN, get_current_user
from phresh.auth.router import router as auth_router
from phresh.auth.service import TokenReader, utc_now
from phresh.cleanings.router import router as cleanings_router
from phresh.config import Settings, get_settings
from phresh.db import Database, get_connection
from phresh.errors import Unauthorized, install_error_handlers
from phresh.evaluations.router import router as evaluations_router
from phresh.events.listener import EventListener
from phresh.events.router import router as events_router
from phresh.feed.router import router as feed_router
from phresh.health.router import router as health_router
from phresh.kit.bodies import BodyGuard
from phresh.kit.deadline import RequestDeadline
from phresh.kit.docs import install_docs
from phresh.kit.headers import SecurityHeaders
from phresh.kit.openapi import build_openapi, operation_id, uses
from phresh.kit.pagination import CursorCodec
from phresh.kit.query import ParameterGuard
from phresh.logs import RequestLog
from phresh.mail.worker import start_worker
from phresh.metrics.asgi import install_metrics
from phresh.migrations import HEAD
from phresh.offers.router import my_offers_router
from phresh.offers.router import router as offers_router
from phresh.ratelimit import RateLimits
from phresh.replica import COMMIT_POSITION_HEADER, READ_AFTER_HEADER, CommitPositionHeader
from phresh.shutdown import Shutdown
from phresh.tracing import install_tracing
from phresh.users.passwords import configure as configure_passwords
from phresh.users.router import router as users_router
from phresh.web import install_web_app

API_PREFIX = "/api/v1"
# What a script of an allowed origin may send besides the simple headers.
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "X-Phresh-Client",
    "Last-Event-ID",
    READ_AFTER_HEADER,
]
OPENAPI_URL = f"{API_PREFIX}/openapi.json"

logger = logging.getLogger(__name__)

DESCRIPTION = """\
**Live events.** `GET /api/v1/events` is a `text/event-stream` of what happens to your
cleanings and offers (an offer made, withdrawn, accepted or rejected, a job cancelled, an
evaluation), authenticated with the bearer token; reconnect with `Last-Event-ID` to get what
you missed. It works across server processes: PostgreSQL's LISTEN/NOTIFY tells each process.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The process's password-hashing gate, with these settings' costs and bounds.
        configure_passwords(settings)
        database = await Database.open(settings)
        app.state.database = database
        app.state.rate_limits = RateLimits.from_settings(settings)
        # Its connection opens when the first event stream starts.
        app.state.event_listener = EventListener(settings)
        worker = await start_worker(settings, database) if settings.run_worker else None
        try:
            yield
        finally:
            if worker is not None:
                await worker.stop()
            await app.state.rate_limits.close()
            await app.state.event_listener.close()
            await database.close()
            if app.state.stop_tracing is not None:
                await app.state.stop_tracing()

    app = FastAPI(
        title="Phresh",
        version="0.1.0",
        summary="Post a home cleaning at your hourly rate; cleaners offer to take it.",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url=OPENAPI_URL,
        # Served by install_docs, from the installed wheel rather than a CDN.
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
        # Every endpoint: unknown query parameters and control characters are a 422.
        dependencies=[Depends(ParameterGuard())],
        # FastAPI's built-in OpenTelemetry hooks: off. They cost time on every request even
        # with no exporter, and their log records carry exception messages and stack traces,
        # which this service never logs.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.migration_head = HEAD
    # Set on SIGTERM in a served process (phresh.shutdown): readiness then answers 503.
    app.state.shutdown = Shutdown()
    app.state.token_reader = TokenReader(settings)
    # Every "now" of the account rules (sessions, links): tests replace it to move time.
    app.state.clock = utc_now
    app.state.cursor_codec = CursorCodec.from_secrets(
        [secret.get_secret_value() for secret in settings.cursor_secrets()]
    )
    # Inside the request-id middleware (added by install_error_handlers): refusals carry the id.
    app.add_middleware(
        BodyGuard,
        fastapi=app,
        max_bytes=settings.max_body_bytes,
        needs_token=lambda route: uses(route, get_current_user),
        missing_token=lambda: Unauthorized(MISSING_TOKEN),
    )
    # Inside the request-id middleware too: its 503 carries the id.
    app.add_middleware(RequestDeadline, seconds=settings.request_deadline_s)
    if settings.database_replica_url is not None:
        # A write's response says where its commit is in the WAL (phresh.replica).
        app.add_middleware(CommitPositionHeader)
    install_error_handlers(app)
    # Outside the request-id middleware: its own 500s carry these headers too.
    app.add_middleware(SecurityHeaders, https=settings.environment != "development")
    # Around everything but CORS: a request's span covers its whole handling.
    app.state.stop_tracing = install_tracing(app, settings)
    if origins := settings.cors_origin_list():
        # Outermost but for the request log and the metrics: a preflight is answered before
        # anything else looks at the request.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=["X-Request-ID", "Retry-After", "Location", COMMIT_POSITION_HEADER],
            max_age=600,
        )
    # Outside the request-id middleware and CORS: one line per request, with the status the
    # client got (the request-id middleware's 500s and CORS preflights included).
    app.add_middleware(RequestLog, enabled=settings.access_log)
    # Outside the rest: every request counted and timed whoever answers it; GET /metrics.
    install_metrics(app, settings)
    install_docs(app, title="Phresh API", openapi_url=OPENAPI_URL)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app, database=get_connection)
        return app.openapi_schema

    # FastAPI's documented way to extend the document: replace app.openapi.
    app.openapi = openapi  # type: ignore[method-assign]

    for router in (
        health_router,
        users_router,
        auth_router,
        cleanings_router,
        offers_router,
        my_offers_router,
        evaluations_router,
        feed_router,
        events_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    # The web app at / (and what the links of Phresh's mails open); without one, / leads to
    # the docs.
    if not install_web_app(app, settings.web_dir):
        app.add_api_route("/", redirect_to_docs, include_in_schema=False)
    app.add_api_route(API_PREFIX, redirect_to_docs, include_in_schema=False)
    return app


async def redirect_to_docs() -> RedirectResponse:
    """Someone who opens the server's address lands on the interactive API documentation."""
    return RedirectResponse("/docs", status_code=307)

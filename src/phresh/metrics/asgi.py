"""Every request counted and timed, and GET /metrics, in one pure ASGI middleware.

The route label is the template the router matched (``/api/v1/cleanings/{cleaning_id}``,
``phresh.kit.routes``), read once the request is answered. A request no route matched (an
unknown path, the web app's pages and files, a slash redirect) is counted under
``unmatched``: what clients send never becomes a label.

GET /metrics is answered here, before any route, to clients that may read it
(``MetricsAccess``); to anyone else it is passed on like any other request, and gets what
any unknown path gets (a 404 problem, or the web app's page): nothing tells that it exists.
"""

import asyncio
import hmac
import os
import time
from collections.abc import Callable
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address

from fastapi import FastAPI
from prometheus_client import REGISTRY, CollectorRegistry, make_asgi_app
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phresh import metrics
from phresh.config import Settings
from phresh.db import Database
from phresh.errors import DATABASE_FAILURES
from phresh.kit.routes import route_template
from phresh.mail import service as mail_service
from phresh.metrics.serving import MULTIPROCESS_DIR_VARIABLE

METRICS_PATH = "/metrics"
SCRAPE_METHODS = frozenset({"GET", "HEAD"})
UNMATCHED = "unmatched"
# Any other method (HTTP allows any token) is counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A scrape waits at most this for the outbox count; without an answer it leaves it out.
BACKLOG_TIMEOUT_S = 1.0
# Headers a proxy adds: a request that came through one is not let in for its address.
FORWARDED = frozenset({b"x-forwarded-for", b"forwarded", b"x-real-ip"})

Network = IPv4Network | IPv6Network


class MetricsAccess:
    """Who may read /metrics: a client at an address of ``networks`` that reached this
    server directly, or any client that sends ``Authorization: Bearer <token>``.

    The address is the ASGI scope's client, which uvicorn takes from X-Forwarded-For only
    when the peer is in PHRESH_FORWARDED_ALLOW_IPS. A proxy on this host that is not
    listed there makes every client look like 127.0.0.1: so a request carrying a proxy's
    header is never let in for its address, only for the token.
    """

    def __init__(self, networks: tuple[Network, ...], token: str | None) -> None:
        self.networks = networks
        self.token = token.encode() if token else None

    @classmethod
    def from_settings(cls, settings: Settings) -> "MetricsAccess":
        token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
        return cls(settings.metrics_networks(), token)

    def allows(self, scope: Scope) -> bool:
        authorization: bytes | None = None
        forwarded = False
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name in FORWARDED:
                forwarded = True
        if self.token is not None and authorization is not None:
            scheme, _, given = authorization.partition(b" ")
            # Constant time: how much of a guess was right takes no longer to refuse.
            if scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self.token):
                return True
        if forwarded or not self.networks:
            return False
        client = scope.get("client")
        if not client:
            return False
        try:
            address = ip_address(client[0])
        except ValueError:
            return False
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            # A dual-stack listener reports an IPv4 client as ::ffff:a.b.c.d.
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


class ScrapeTime:
    """What is read when /metrics is asked for rather than counted as it happens: the
    pool's open connections (the answering process's; the others' as of their last
    checkout) and the mail outbox, which is one for all processes and so is not summed."""

    def __init__(self) -> None:
        self.backlog: tuple[int, float] | None = None

    async def refresh(self, database: Database | None) -> None:
        self.backlog = None
        if database is None:
            return  # the app's lifespan has not opened it
        metrics.pool_sampled(database.pool)
        if database.replica is not None:
            metrics.pool_sampled(database.replica.pool, "replica")
            lag = database.replica.lag_ms()
            metrics.replica_lag(-1.0 if lag is None else lag / 1000)
        try:
            async with asyncio.timeout(BACKLOG_TIMEOUT_S), database.acquire() as connection:
                self.backlog = await mail_service.read_outbox_backlog(connection)
        except DATABASE_FAILURES:
            # The scrape still answers; readiness and the 503 counts say the database is down.
            pass

    def collect(self) -> list[Metric]:
        if self.backlog is None:
            return []
        pending, oldest = self.backlog
        return [
            GaugeMetricFamily(
                "phresh_mail_outbox_pending", "Mails waiting to be sent.", value=pending
            ),
            GaugeMetricFamily(
                "phresh_mail_outbox_oldest_pending_seconds",
                "How long the oldest mail waiting to be sent has waited (0: none waits).",
                value=oldest,
            ),
        ]


def scrape_registry(scrape_time: ScrapeTime) -> CollectorRegistry:
    """What /metrics shows: with PROMETHEUS_MULTIPROC_DIR, the sum of every process's files
    (prometheus_client chose the same way for its values, at its import); otherwise this
    process's default registry (with its process_* and python_* collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    source: Collector = REGISTRY
    if MULTIPROCESS_DIR_VARIABLE in os.environ:
        # Not registered anywhere itself (None); it has no annotations.
        source = MultiProcessCollector(None)  # type: ignore[no-untyped-call]
    registry.register(source)
    registry.register(scrape_time)
    return registry


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, fastapi: FastAPI, settings: Settings) -> None:
        self.app = app
        self.fastapi = fastapi
        self.access = MetricsAccess.from_settings(settings)
        self.scrape_time = ScrapeTime()
        # prometheus_client's own ASGI app: content negotiation (text or OpenMetrics), gzip.
        self.exposition = make_asgi_app(scrape_registry(self.scrape_time))
        # The label children of each (method, route, status): found once, not per request.
        self.series: dict[tuple[str, str, int], tuple[Callable[[], None], Callable[[float], None]]]
        self.series = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app fails before it starts its answer

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        if (
            scope["path"] == METRICS_PATH
            and scope["method"] in SCRAPE_METHODS
            and self.access.allows(scope)
        ):
            try:
                await self.scrape(scope, receive, send_with_status)
            finally:
                self.count(scope["method"], METRICS_PATH, status, started)
            return
        metrics.HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            metrics.HTTP_IN_FLIGHT.dec()
            self.count(scope["method"], route_template(scope) or UNMATCHED, status, started)

    def count(self, method: str, route: str, status: int, started: float) -> None:
        key = (method, route, status)
        series = self.series.get(key)
        if series is None:
            label = method if method in METHODS else "other"
            series = (
                metrics.HTTP_REQUESTS.labels(label, route, str(status)).inc,
                metrics.HTTP_DURATION.labels(label, route).observe,
            )
            # Keyed by the method as sent, which a client chooses: only known ones are kept.
            if method in METHODS:
                self.series[key] = series
        increment, observe = series
        increment()
        observe(time.perf_counter() - started)

    async def scrape(self, scope: Scope, receive: Receive, send: Send) -> None:
        database: Database | None = getattr(self.fastapi.state, "database", None)
        await self.scrape_time.refresh(database)
        await self.exposition(scope, receive, send)


def install_metrics(app: FastAPI, settings: Settings) -> None:
    """Count every request of ``app`` and serve GET /metrics. Added after the other
    middleware, it is outside them: it sees every answer (the CORS preflights, the 500s of
    the request-id middleware) and times it all."""
    app.add_middleware(MetricsMiddleware, fastapi=app, settings=settings)

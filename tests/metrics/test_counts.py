"""Each family of /metrics moves when what it counts happens: logins refused, attempts over
their limits, 503s by reason, the pool's checkouts, the mail outbox and its failures."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage

import httpx
import pytest
from fastapi import FastAPI

from phresh.config import Settings
from phresh.db import Connection, ConnectionDep, Pool
from phresh.mail.service import enqueue_mail
from phresh.mail.transport import DeliveryError
from phresh.mail.worker import deliver
from phresh.main import create_app
from phresh.models import MailKind, MailStatus
from tests.fixtures.client import app_on, client_of
from tests.fixtures.database import make_settings
from tests.fixtures.factories import DEFAULT_PASSWORD, create_user
from tests.mail.conftest import committed_mail
from tests.metrics.conftest import Samples, scrape

UNAVAILABLE = "phresh_http_unavailable_total"


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """``app`` as served: its lifespan, its own pool, a real transaction per request."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
            yield client


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


async def test_refused_logins_are_counted_by_reason(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    await create_user(connection, username="gone", is_active=False)
    before = await scrape(client)

    answers = [
        (await client.post("/auth/token", data=form)).status_code
        for form in (
            {"username": "nobody", "password": DEFAULT_PASSWORD},
            {"username": "ada", "password": "not the password"},
            {"username": "ada", "password": "nor this one"},
            {"username": "gone", "password": DEFAULT_PASSWORD},
            {"username": "ada", "password": DEFAULT_PASSWORD},
        )
    ]

    after = await scrape(client)
    assert answers == [401, 401, 401, 401, 200]
    failures = "phresh_login_failures_total"
    assert moved(before, after, failures, reason="unknown_account") == 1
    assert moved(before, after, failures, reason="wrong_password") == 2
    assert moved(before, after, failures, reason="inactive") == 1


async def test_refused_attempts_are_counted_by_action_and_scope(
    connection: Connection, settings: Settings
) -> None:
    await create_user(connection, username="ada", email="ada@example.com")
    tight = settings.model_copy(
        update={
            "rate_limit_login_per_account": "1/hour",
            "rate_limit_forgot_password_per_address": "1/hour",
        }
    )
    async with app_on(tight, connection) as app, client_of(app) as client:
        before = await scrape(client)
        logins = [
            (await client.post("/auth/token", data={"username": "ada", "password": "no"}))
            for _ in range(3)
        ]
        resets = [
            (await client.post("/auth/forgot-password", json={"email": email}))
            for email in ("ada@example.com", "bob@example.com")
        ]
        after = await scrape(client)

    assert [response.status_code for response in logins] == [401, 429, 429]
    assert [response.status_code for response in resets] == [202, 429]
    refusals = "phresh_rate_limit_refusals_total"
    assert moved(before, after, refusals, action="login", scope="account") == 2
    assert moved(before, after, refusals, action="login", scope="address") == 0
    assert moved(before, after, refusals, action="forgot_password", scope="address") == 1


async def run_sleep(connection: ConnectionDep) -> None:
    await connection.execute("SELECT pg_sleep(1)")


async def run_count(connection: ConnectionDep) -> None:
    await connection.execute("SELECT count(*) FROM cleaning")


async def test_database_failures_answered_503_are_counted_by_reason(
    database_url: str, live_pool: Pool
) -> None:
    # The lock wait ends by lock_timeout, well before statement_timeout could end it.
    settings = make_settings(database_url, db_statement_timeout_ms=300, db_lock_timeout_ms=50)
    app = create_app(settings)
    app.add_api_route("/api/v1/test/sleep", run_sleep)
    app.add_api_route("/api/v1/test/count", run_count)
    unreachable = create_app(make_settings("postgresql://phresh@127.0.0.1:1/phresh"))
    async with serving(app) as client, serving(unreachable) as down:
        before = await scrape(client)
        slept = await client.get("/test/sleep")
        async with live_pool.acquire() as holder, holder.transaction():
            await holder.execute("LOCK TABLE cleaning IN ACCESS EXCLUSIVE MODE")
            counted = await client.get("/test/count")
        refused = await down.get("/cleanings")
        after = await scrape(client)

    assert [slept.status_code, counted.status_code, refused.status_code] == [503, 503, 503]
    assert moved(before, after, UNAVAILABLE, reason="statement_timeout") == 1
    assert moved(before, after, UNAVAILABLE, reason="lock_timeout") == 1
    assert moved(before, after, UNAVAILABLE, reason="connection") == 1
    assert moved(before, after, UNAVAILABLE, reason="timeout") == 0


class Holding:
    """A route that keeps its pooled connection until released."""

    def __init__(self) -> None:
        self.held = 0
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def route(self, connection: ConnectionDep) -> None:
        await connection.execute("SELECT 1")
        self.held += 1
        self.holding.set()
        await self.release.wait()


async def test_the_pool_s_connections_in_use_and_waiting_are_gauged(database_url: str) -> None:
    settings = make_settings(database_url, db_pool_size=2, db_pool_timeout_s=10)
    holding = Holding()
    app = create_app(settings)
    app.add_api_route("/api/v1/test/hold", holding.route)
    async with serving(app) as client:
        idle = await scrape(client)
        held = [asyncio.create_task(client.get("/test/hold")) for _ in range(2)]
        async with asyncio.timeout(5):
            while holding.held < 2:
                await holding.holding.wait()
                holding.holding.clear()
        waiting = asyncio.create_task(client.get("/health/ready"))
        # This scrape's own wait for a connection (the outbox count) gives up after 1 s.
        full = await scrape(client)
        holding.release.set()
        answers = [(await task).status_code for task in (*held, waiting)]
        after = await scrape(client)

    assert answers == [200, 200, 200]
    assert moved(idle, full, "phresh_db_pool_checked_out", pool="primary") == 2
    assert moved(idle, full, "phresh_db_pool_waiting", pool="primary") == 1
    assert full.value("phresh_db_pool_connections", pool="primary") >= 2
    assert full.value("phresh_db_pool_max_connections", pool="primary") >= 2
    assert after.value("phresh_db_pool_checked_out", pool="primary") == idle.value(
        "phresh_db_pool_checked_out", pool="primary"
    )
    assert after.value("phresh_db_pool_waiting", pool="primary") == idle.value(
        "phresh_db_pool_waiting", pool="primary"
    )
    # The waiting request (and the scrape's try) waited a second or more for its connection.
    assert moved(
        idle, after, "phresh_db_pool_wait_seconds_bucket", le="0.5", pool="primary"
    ) < moved(idle, after, "phresh_db_pool_wait_seconds_count", pool="primary")


async def test_a_checkout_that_times_out_is_counted_and_answered_503(database_url: str) -> None:
    settings = make_settings(database_url, db_pool_size=1, db_pool_timeout_s=0.2)
    holding = Holding()
    app = create_app(settings)
    app.add_api_route("/api/v1/test/hold", holding.route)
    async with serving(app) as client:
        before = await scrape(client)
        held = asyncio.create_task(client.get("/test/hold"))
        async with asyncio.timeout(5):
            await holding.holding.wait()
        refused = await client.get("/health/ready")
        holding.release.set()
        await held
        after = await scrape(client)

    assert refused.status_code == 503
    assert moved(before, after, "phresh_db_pool_timeouts_total", pool="primary") == 1


async def test_the_mail_outbox_is_read_at_each_scrape(database_url: str, live_pool: Pool) -> None:
    async with serving(create_app(make_settings(database_url))) as client:
        before = await scrape(client)
        mail_id = await committed_mail(live_pool)
        await live_pool.execute(
            "UPDATE mail SET created_at = now() - interval '1 hour' WHERE id = $1", mail_id
        )
        after = await scrape(client)

    assert (
        after.value("phresh_mail_outbox_pending") == before.value("phresh_mail_outbox_pending") + 1
    )
    assert after.value("phresh_mail_outbox_oldest_pending_seconds") >= 3600


class Refusing:
    async def send(self, message: EmailMessage) -> None:
        raise DeliveryError("refused")


@pytest.mark.usefixtures("app")
async def test_failed_deliveries_are_counted_until_given_up(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    mail_id = await enqueue_mail(connection, MailKind.verify_email, user.email, user.id)
    twice = settings.model_copy(update={"mail_max_attempts": 2})
    before = await scrape(client)

    deliveries = [
        await deliver(connection, mail_id, settings=twice, transport=Refusing()) for _ in range(2)
    ]

    after = await scrape(client)
    assert [delivery.status for delivery in deliveries] == [MailStatus.pending, MailStatus.failed]
    failures = "phresh_mail_delivery_failures_total"
    assert moved(before, after, failures, outcome="retrying") == 1
    assert moved(before, after, failures, outcome="given_up") == 1

import asyncio
import logging

from phresh import migrations
from phresh.db import Database
from phresh.errors import ServiceUnavailable
from phresh.health import repository
from phresh.health.schemas import Readiness

logger = logging.getLogger(__name__)

# Well inside the 2 s a load balancer waits: a dead database is reported, never waited on.
READY_TIMEOUT_S = 1.5


class NotReady(ServiceUnavailable):
    slug = "not-ready"
    title = "Not ready"


async def check_ready(
    database: Database, head: str | None, *, shutting_down: bool = False
) -> Readiness:
    # A process shutting down still serves what reaches it (phresh.shutdown), but a load
    # balancer should send nothing more: no need to ask the database.
    if shutting_down:
        raise NotReady("shutting down: send new requests elsewhere")
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            current = await repository.read_schema_revision(database)
    except TimeoutError as exc:
        raise NotReady("database: no answer within 1.5 s") from exc
    except Exception as exc:
        logger.warning("readiness: database unreachable (%s)", type(exc).__name__)
        raise NotReady(f"database: unreachable ({type(exc).__name__})") from exc
    # A database a newer release has migrated further serves this code too: migrations are
    # expand/contract, so during a rolling deploy the old processes stay in.
    if head is None or not migrations.at_or_after(current, head):
        raise NotReady(f"migrations: database at {current or 'nothing'}, code expects {head}")
    readiness = Readiness(migrations="head" if current == head else "ahead")
    if (replica := database.replica) is not None:
        readiness.replica = replica.describe()
        lag = replica.lag_ms()
        readiness.replica_lag_ms = None if lag is None else round(lag, 1)
    return readiness

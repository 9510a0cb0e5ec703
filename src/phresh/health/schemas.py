from typing import Literal

from phresh.kit.schemas import Schema


class Liveness(Schema):
    status: Literal["ok"] = "ok"


class Readiness(Schema):
    status: Literal["ok"] = "ok"
    db: Literal["reachable"] = "reachable"
    # head: the code's newest migration; ahead: a later one, of a newer release (the database
    # is migrated before the new release rolls out; this code still runs on it).
    migrations: Literal["head", "ahead"] = "head"
    # The read replica (PHRESH_DATABASE_REPLICA_URL): none configured, in use, or skipped for
    # the reason given (reads then go to the primary; the process stays ready).
    replica: Literal["none", "in use", "lagging", "unreachable", "not a standby", "starting"] = (
        "none"
    )
    # At most this far behind the primary, when known.
    replica_lag_ms: float | None = None

from typing import Literal

from phresh.kit.schemas import Schema


class Liveness(Schema):
    status: Literal["ok"] = "ok"


class Readiness(Schema):
    status: Literal["ok"] = "ok"
    db: Literal["reachable"] = "reachable"
    migrations: Literal["head"] = "head"

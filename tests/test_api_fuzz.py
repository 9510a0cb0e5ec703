"""Schemathesis over the whole OpenAPI document, against the real app and the real database.

Every phase runs: examples, coverage (boundary values, missing and wrong parameters),
fuzzing (a few generated cases per operation) and stateful (sequences of calls linked by
the ids one response gives the next request). The seed is fixed, so a run is reproducible;
the example counts are small, so it stays within about a minute.

The app runs as served (``create_app`` with its own pool, a transaction per request);
Schemathesis drives it over ASGI in its own event loop. The rows it creates are committed
and truncated afterwards (``live_pool``). Requests carry a bearer token of a real user
who owns cleanings, has offered on another's and has been evaluated, so ids exist.
"""

from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import strategies as st
from schemathesis import Case

from phresh.config import Settings
from phresh.db import Pool
from phresh.main import create_app
from phresh.models import CleaningStatus, OfferStatus
from tests.fixtures.database import make_settings
from tests.fixtures.factories import (
    auth_headers,
    create_cleaning,
    create_evaluation,
    create_offer,
    create_user,
)

SEED = 20_261_122
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "ignored_auth",
    "use_after_free",
    # A method no route of the path serves: 405 with an Allow header.
    "unsupported_method",
)
# Path parameters naming seeded rows, set by ``fuzz_headers`` for the test that runs.
KNOWN: dict[str, list[Any]] = {}


@pytest.fixture
async def fuzz_headers(live_pool: Pool, settings: Settings) -> dict[str, str]:
    """The bearer token of a user with something of everything: committed rows."""
    async with live_pool.acquire() as connection, connection.transaction():
        caller = await create_user(connection, username="fuzz_caller")
        other = await create_user(connection, username="fuzz_other")
        for name in ("Kitchen deep clean", "Windows"):
            own = await create_cleaning(connection, owner=caller, name=name)
            await create_offer(connection, cleaning=own, cleaner=other)
        theirs = await create_cleaning(connection, owner=other, status=CleaningStatus.completed)
        offer = await create_offer(
            connection, cleaning=theirs, cleaner=caller, status=OfferStatus.completed
        )
        await create_evaluation(connection, offer=offer)
        open_theirs = await create_cleaning(connection, owner=other, name="Spring clean")
    KNOWN.clear()
    KNOWN["cleaning_id"] = [own.id, theirs.id, open_theirs.id]
    KNOWN["username"] = [caller.username, other.username]
    return auth_headers(settings, caller)


# Loaded once, from the document of an app that never touches a database; the cases run
# against a live app of each test's own (``api``).
schema = schemathesis.openapi.from_dict(
    create_app(make_settings("postgresql://phresh@127.0.0.1:1/none")).openapi(),
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": 6, "database": "none"},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": True},
            },
            # The event stream never ends by itself: each case reads it this long, then
            # checks what came (the opening retry, keepalives).
            "operations": [{"include-operation-id": "streamEvents", "request-timeout": 0.5}],
        }
    ),
)


@schema.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """Generated ids rarely exist: half the time, name seeded rows instead."""
    if not path_parameters:
        return st.just(path_parameters)
    known = st.fixed_dictionaries(
        {
            name: st.sampled_from(KNOWN[name]) if name in KNOWN else st.just(value)
            for name, value in path_parameters.items()
        }
    )
    return st.one_of(st.just(path_parameters), known)


@dataclass(frozen=True)
class Api:
    """How each case is sent: to this app, with this user's token."""

    app: FastAPI
    headers: dict[str, str]

    def call_kwargs(self) -> dict[str, Any]:
        return {"app": self.app, "headers": self.headers}


@pytest.fixture
def api(settings: Settings, fuzz_headers: dict[str, str]) -> Api:
    # A new app: Schemathesis runs its lifespan, hence its pool, in an event loop of its own,
    # and ends it when the test ends.
    return Api(create_app(settings), fuzz_headers)


@schema.parametrize()
# ``api`` is meant to serve every generated case: an app and a token, no per-case state.
@hypothesis.settings(suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
def test_every_operation_conforms_to_the_document(case: Case[Any], api: Api) -> None:
    case.call_and_validate(**api.call_kwargs())


def test_sequences_of_calls_conform_to_the_document(api: Api) -> None:
    class Sequences(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            return api.call_kwargs()

    Sequences.run(
        settings=hypothesis.settings(
            max_examples=10,
            stateful_step_count=8,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )

"""GET /events, served over TCP: what a stream delivers, from where, and when it ends."""

import asyncio
import uuid
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.types import Message

from phresh.auth.service import create_access_token
from phresh.config import Settings
from phresh.db import Connection, Pool, in_transaction
from phresh.events import repository as event_repository
from phresh.events.router import KEEPALIVE, EventStream
from phresh.events.service import BATCH_SIZE
from phresh.models import Cleaning, EventKind, User
from tests.events.conftest import (
    MESSAGE_TIMEOUT_S,
    Served,
    open_stream,
    serve,
    wait_until,
)
from tests.fixtures.factories import (
    auth_headers,
    create_cleaning,
    create_user,
    factory_session_id,
)
from tests.fixtures.problems import document as openapi_document


async def committed(pool: Pool, *names: str) -> list[User]:
    async with pool.acquire() as connection, in_transaction(connection):
        return [await create_user(connection, username=name) for name in names]


async def committed_cleaning(pool: Pool, owner: User, name: str) -> Cleaning:
    async with pool.acquire() as connection, in_transaction(connection):
        return await create_cleaning(connection, owner=owner, name=name)


async def offer(
    http: httpx.AsyncClient, served: Served, settings: Settings, cleaning: Cleaning, cleaner: User
) -> None:
    response = await http.post(
        f"{served.base_url}/cleanings/{cleaning.id}/offers", headers=auth_headers(settings, cleaner)
    )
    assert response.status_code == 201, response.text


async def test_an_offer_reaches_the_owners_open_stream(
    served: Served, http: httpx.AsyncClient, stream_settings: Settings, live_pool: Pool
) -> None:
    alice, bob = await committed(live_pool, "alice", "bob")
    kitchen = await committed_cleaning(live_pool, alice, "Kitchen deep clean")

    async with open_stream(http, served, auth_headers(stream_settings, alice)) as stream:
        headers = stream.response.headers
        await offer(http, served, stream_settings, kitchen, bob)
        message = await stream.event()

    assert headers["content-type"].startswith("text/event-stream")
    assert headers["cache-control"] == "no-cache"
    assert headers["x-accel-buffering"] == "no"
    assert message.fields["event"] == "offer_created"
    event = message.data
    assert message.fields["id"] == str(event["id"])
    assert event["kind"] == "offer_created"
    assert event["cleaning_id"] == kitchen.id
    assert event["data"] == {
        "cleaning_id": kitchen.id,
        "cleaning_name": "Kitchen deep clean",
        "by": "bob",
    }
    assert datetime.fromisoformat(event["created_at"]).tzinfo is not None


async def test_an_idle_stream_sends_keepalives_and_nothing_of_others(
    served: Served, http: httpx.AsyncClient, stream_settings: Settings, live_pool: Pool
) -> None:
    alice, bob, carol = await committed(live_pool, "alice", "bob", "carol")
    bobs = await committed_cleaning(live_pool, bob, "Bob's attic")

    async with open_stream(http, served, auth_headers(stream_settings, alice)) as stream:
        # An event of Bob's (Carol offers on his cleaning) is not Alice's.
        await offer(http, served, stream_settings, bobs, carol)
        first = await stream.message()
        second = await stream.message()

    assert first.comments == ["keepalive"]
    assert first.fields == {}
    assert second.comments == ["keepalive"]


async def test_last_event_id_replays_what_was_missed_and_nothing_before(
    served: Served, http: httpx.AsyncClient, stream_settings: Settings, live_pool: Pool
) -> None:
    alice, *cleaners = await committed(live_pool, "alice", "bob", "carol", "dave")
    kitchen = await committed_cleaning(live_pool, alice, "Kitchen")
    for cleaner in cleaners:
        await offer(http, served, stream_settings, kitchen, cleaner)
    ids = [
        row["id"]
        for row in await live_pool.fetch(
            "SELECT id FROM event WHERE user_id = $1 ORDER BY id", alice.id
        )
    ]
    headers = auth_headers(stream_settings, alice)

    async with open_stream(http, served, headers | {"Last-Event-ID": str(ids[0])}) as stream:
        replayed = [await stream.event(), await stream.event()]
    async with open_stream(http, served, headers) as stream:
        # Without Last-Event-ID, only what comes next.
        without = await stream.message()

    assert [int(message.fields["id"]) for message in replayed] == ids[1:]
    assert [message.data["data"]["by"] for message in replayed] == ["carol", "dave"]
    assert without.comments == ["keepalive"]


async def test_a_last_event_id_beyond_the_users_events_still_gets_the_next_ones(
    served: Served, http: httpx.AsyncClient, stream_settings: Settings, live_pool: Pool
) -> None:
    alice, bob = await committed(live_pool, "alice", "bob")
    kitchen = await committed_cleaning(live_pool, alice, "Kitchen")
    headers = auth_headers(stream_settings, alice) | {"Last-Event-ID": str(2**62)}

    async with open_stream(http, served, headers) as stream:
        await offer(http, served, stream_settings, kitchen, bob)
        message = await stream.event()

    assert message.fields["event"] == "offer_created"


async def test_two_servers_each_deliver_to_their_own_streams(
    stream_settings: Settings, http: httpx.AsyncClient, live_pool: Pool
) -> None:
    alice, bob = await committed(live_pool, "alice", "bob")
    kitchen = await committed_cleaning(live_pool, alice, "Kitchen")
    headers = auth_headers(stream_settings, alice)

    async with (
        serve(stream_settings) as first,
        serve(stream_settings) as second,
        open_stream(http, first, headers) as on_first,
        open_stream(http, second, headers) as on_second,
    ):
        # Made through the second server: the first hears of it through PostgreSQL only.
        await offer(http, second, stream_settings, kitchen, bob)
        got = await asyncio.gather(on_first.event(), on_second.event())

    assert [message.fields["event"] for message in got] == ["offer_created"] * 2
    assert got[0].fields["id"] == got[1].fields["id"]


async def test_a_disconnected_stream_leaves_no_subscriber_task_or_connection(
    served: Served, http: httpx.AsyncClient, stream_settings: Settings, live_pool: Pool
) -> None:
    (alice,) = await committed(live_pool, "alice")
    # The listener's task starts with the first stream: count tasks once it runs.
    async with open_stream(http, served, auth_headers(stream_settings, alice)) as stream:
        await stream.message()
    await wait_until(lambda: served.listener.subscriber_count() == 0)
    before = len(asyncio.all_tasks())

    async with open_stream(http, served, auth_headers(stream_settings, alice)) as stream:
        await wait_until(lambda: served.listener.subscriber_count() == 1)
        # An idle stream holds no pooled connection between its reads.
        assert (await stream.message()).comments == ["keepalive"]
        in_use_while_streaming = served.pool.get_size() - served.pool.get_idle_size()

    await wait_until(lambda: served.listener.subscriber_count() == 0)
    await wait_until(lambda: len(asyncio.all_tasks()) <= before)
    assert in_use_while_streaming == 0
    assert served.pool.get_size() == served.pool.get_idle_size()


async def test_the_stream_ends_when_its_access_token_expires(
    served: Served, http: httpx.AsyncClient, stream_settings: Settings, live_pool: Pool
) -> None:
    (alice,) = await committed(live_pool, "alice")
    # A token that lives one more second: its session would end then.
    now = datetime.now(UTC)
    token = create_access_token(
        stream_settings,
        alice.id,
        factory_session_id(alice.id),
        now=now,
        session_expires_at=now + timedelta(seconds=1.5),
    ).token

    async with open_stream(http, served, {"Authorization": f"Bearer {token}"}) as stream:
        rest = await stream.end(timeout_s=MESSAGE_TIMEOUT_S)

    assert all(message.comments == ["keepalive"] for message in rest)
    await wait_until(lambda: served.listener.subscriber_count() == 0)


async def test_the_stream_ends_when_its_session_is_logged_out(
    served: Served, http: httpx.AsyncClient, stream_settings: Settings, live_pool: Pool
) -> None:
    (alice,) = await committed(live_pool, "alice")
    headers = auth_headers(stream_settings, alice)

    async with open_stream(http, served, headers) as stream:
        await stream.message()
        logout = await http.post(f"{served.base_url}/auth/logout", headers=headers)
        assert logout.status_code == 204
        await stream.end(timeout_s=2)


async def test_events_committed_while_the_listener_is_down_arrive_once_it_is_back(
    served: Served, http: httpx.AsyncClient, stream_settings: Settings, live_pool: Pool
) -> None:
    alice, bob, carol = await committed(live_pool, "alice", "bob", "carol")
    kitchen = await committed_cleaning(live_pool, alice, "Kitchen")

    async with open_stream(http, served, auth_headers(stream_settings, alice)) as stream:
        await served.listener.listening.wait()
        await live_pool.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'phresh-events' AND datname = current_database()"
        )
        await wait_until(lambda: not served.listener.listening.is_set())
        # Nobody listens now: this notification is lost, the event is not.
        await offer(http, served, stream_settings, kitchen, bob)
        while_down = await stream.event()
        await served.listener.listening.wait()
        await offer(http, served, stream_settings, kitchen, carol)
        after = await stream.event()

    assert while_down.data["data"]["by"] == "bob"
    assert after.data["data"]["by"] == "carol"


async def test_a_stream_needs_a_valid_token(client: httpx.AsyncClient, settings: Settings) -> None:
    missing = await client.get("/events")
    forged = await client.get("/events", headers={"Authorization": "Bearer nope"})
    unknown_session = create_access_token(settings, 1, uuid.uuid4()).token
    ended = await client.get("/events", headers={"Authorization": f"Bearer {unknown_session}"})

    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert forged.status_code == 401
    assert forged.json()["type"] == "urn:phresh:problem:invalid-token"
    assert ended.status_code == 401


async def test_a_bad_last_event_id_is_a_422_naming_it(
    client: httpx.AsyncClient, settings: Settings, connection: Connection
) -> None:
    headers = auth_headers(settings, await create_user(connection))

    for bad in ["abc", "-1", "1.5", str(2**63)]:
        response = await client.get("/events", headers=headers | {"Last-Event-ID": bad})
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "Last-Event-ID"


async def test_an_unknown_query_parameter_is_a_422(
    client: httpx.AsyncClient, settings: Settings, connection: Connection
) -> None:
    headers = auth_headers(settings, await create_user(connection))

    response = await client.get("/events", params={"last_event_id": "3"}, headers=headers)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "last_event_id"


async def test_the_response_closes_its_messages_however_it_ends() -> None:
    """A client gone while a message is being sent: the generator (and the subscription it
    holds) is closed when the response ends, not whenever it is garbage collected."""
    closed = asyncio.Event()

    async def messages() -> AsyncGenerator[bytes]:
        try:
            yield b"retry: 3000\n\n"
            yield KEEPALIVE
        finally:
            closed.set()

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            raise OSError("the client is gone")

    async def receive() -> Message:
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    response = EventStream(messages())
    with pytest.raises(OSError, match="the client is gone"):
        await response({"type": "http", "asgi": {"spec_version": "2.3"}}, receive, send)

    assert closed.is_set()


async def test_a_replay_longer_than_one_read_comes_whole(
    served: Served, http: httpx.AsyncClient, stream_settings: Settings, live_pool: Pool
) -> None:
    (alice,) = await committed(live_pool, "alice")
    count = BATCH_SIZE * 2 + 5
    async with live_pool.acquire() as connection, in_transaction(connection):
        await event_repository.record(
            connection,
            [(alice.id, EventKind.offer_created)] * count,
            None,
            {"cleaning_id": 1, "cleaning_name": "Kitchen", "by": "bob"},
        )
    headers = auth_headers(stream_settings, alice) | {"Last-Event-ID": "0"}

    async with open_stream(http, served, headers) as stream:
        ids = [int((await stream.event()).fields["id"]) for _ in range(count)]

    assert len(set(ids)) == count
    assert ids == sorted(ids)


def test_the_document_describes_the_stream_and_each_message() -> None:
    document = openapi_document()
    operation = document["paths"]["/api/v1/events"]["get"]
    schemas = document["components"]["schemas"]

    assert operation["operationId"] == "streamEvents"
    assert operation["tags"] == ["events"]
    assert [parameter["name"] for parameter in operation["parameters"]] == ["Last-Event-ID"]
    stream = operation["responses"]["200"]["content"]
    assert list(stream) == ["text/event-stream"]
    assert stream["text/event-stream"]["schema"]["$ref"] == "#/components/schemas/StreamedEvent"
    data = schemas["StreamedEvent"]["properties"]["data"]
    assert data["contentMediaType"] == "application/json"
    assert data["contentSchema"] == {"$ref": "#/components/schemas/EventRead"}
    assert "Last-Event-ID" in operation["description"]
    assert "**Live events.**" in document["info"]["description"]

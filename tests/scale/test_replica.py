"""Read-your-writes across two served processes with a streaming replica, made visible: the
standby's replay is paused, so a read that follows a write finds the replica behind it."""

import asyncio
import time

import asyncpg
import httpx

from phresh import topology
from phresh.replica import COMMIT_POSITION_HEADER, READ_AFTER_HEADER
from tests.scale.flows import PASSWORD, word

# Replay takes milliseconds here; this only bounds the waits.
WAIT_S = 10.0


async def wait_for(standby: "asyncpg.Connection[asyncpg.Record]", query: str, *args: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not await standby.fetchval(query, *args):
        assert time.monotonic() < deadline, f"the standby never answered true to {query}"
        await asyncio.sleep(0.01)


async def test_a_read_sent_after_a_write_sees_it_while_the_standby_is_behind(
    scale_servers: list[topology.Served], scale_standby: topology.Postgres
) -> None:
    first, second = (f"{served.url}/api/v1" for served in scale_servers)
    username = f"r_{word()}"
    standby = await asyncpg.connect(scale_standby.url())
    try:
        async with httpx.AsyncClient(timeout=30.0) as client:
            registered = await client.post(
                f"{first}/users",
                json={
                    "username": username,
                    "email": f"{username}@example.com",
                    "password": PASSWORD,
                },
            )
            assert registered.status_code == 201
            headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
            # The account is on the standby: only the cleaning below will be missing there.
            await wait_for(
                standby,
                "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn",
                registered.headers[COMMIT_POSITION_HEADER],
            )
            await standby.execute("SELECT pg_wal_replay_pause()")
            await wait_for(standby, "SELECT pg_get_wal_replay_pause_state() = 'paused'")
            posted = await client.post(
                f"{second}/cleanings", headers=headers, json={"name": "Windows", "price": "30"}
            )
            assert posted.status_code == 201
            read = await client.get(
                f"{first}/cleanings/{posted.json()['id']}",
                headers=headers | {READ_AFTER_HEADER: posted.headers[COMMIT_POSITION_HEADER]},
            )
    finally:
        await standby.execute("SELECT pg_wal_replay_resume()")
        await standby.close()

    assert read.status_code == 200
    assert read.json()["name"] == "Windows"

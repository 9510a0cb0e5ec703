import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest

from phresh import embedded


def dead_pid() -> int:
    """The PID of a process that has exited and been reaped."""
    with subprocess.Popen([sys.executable, "-c", "pass"]) as process:
        process.wait()
    return process.pid


@pytest.fixture
def live_phresh_pid(tmp_path: Path) -> Iterator[int]:
    """A live process named as users run the CLI: ``phresh``, not ``python``."""
    script = tmp_path / "phresh"
    script.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    script.chmod(0o755)
    with subprocess.Popen([str(script)]) as process:  # noqa: S603 - our own script
        try:
            wait_until(lambda: psutil.Process(process.pid).name() == "phresh")
            yield process.pid
        finally:
            process.kill()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
async def fresh_name(server_url: str) -> AsyncIterator[str]:
    """A database name nobody uses yet, dropped after the test."""
    name = f"phresh_embedded_{secrets.token_hex(4)}"
    try:
        yield name
    finally:
        await embedded.drop_database(server_url, name)


def live(pid: int) -> tuple[int, str]:
    start = embedded.process_start(pid)
    assert start is not None
    return pid, start


def test_a_live_user_is_kept_whatever_its_process_is_named(live_phresh_pid: int) -> None:
    users = dict([live(live_phresh_pid)])

    dropped = embedded.prune_dead_users(users)

    assert dropped == []
    assert list(users) == [live_phresh_pid]


def test_a_user_that_has_exited_is_dropped(live_phresh_pid: int) -> None:
    gone = dead_pid()
    users = dict([live(live_phresh_pid), (gone, "12345")])

    dropped = embedded.prune_dead_users(users)

    assert dropped == [gone]
    assert list(users) == [live_phresh_pid]


def test_a_recycled_pid_is_not_a_user(live_phresh_pid: int) -> None:
    pid, start = live(live_phresh_pid)
    # The PID of a user that has exited, now given to another process (started later).
    users = {pid: str(int(start) - 1)}

    assert embedded.prune_dead_users(users) == [pid]
    assert users == {}


def test_a_zombie_is_not_a_user() -> None:
    with subprocess.Popen([sys.executable, "-c", "pass"]) as process:
        # Exited, not yet reaped: the PID still exists, the process does not run.
        wait_until(lambda: psutil.Process(process.pid).status() == psutil.STATUS_ZOMBIE)
        started = embedded.process_start(process.pid)
        process.wait()

    assert started is None


def test_process_start_is_stable_for_one_process_and_differs_between_two(
    live_phresh_pid: int,
) -> None:
    first = embedded.process_start(os.getpid())

    assert first is not None
    assert embedded.process_start(os.getpid()) == first
    assert embedded.process_start(live_phresh_pid) not in (None, first)


def test_the_server_stops_with_its_last_live_user(
    short_tmp_dir: Path, live_phresh_pid: int
) -> None:
    pgdata = short_tmp_dir / "pgdata"
    users_file = embedded.beside(pgdata, embedded.USERS_SUFFIX)
    server = embedded.start_server(pgdata)
    postmaster = server.get_pid()
    assert postmaster is not None
    pid, start = live(live_phresh_pid)
    users = json.loads(users_file.read_text())
    # Another command joins (its entry as start_server writes it), and one that was killed.
    users_file.write_text(json.dumps({**users, str(pid): start, str(dead_pid()): "1"}))

    still_using = embedded.stop_server(server)

    assert still_using == [pid]
    assert embedded.process_start(postmaster) is not None
    assert json.loads(users_file.read_text()) == {str(pid): start}

    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: embedded.process_start(pid) is None)
    stops: list[str] = []
    server = embedded.start_server(pgdata)
    assert embedded.stop_server(server, before_stop=lambda: stops.append("stop")) == []

    assert stops == ["stop"]
    assert embedded.process_start(postmaster) is None
    assert not (pgdata / "postmaster.pid").exists()
    assert json.loads(users_file.read_text()) == {}


def test_the_server_stops_even_if_announcing_it_fails(short_tmp_dir: Path) -> None:
    pgdata = short_tmp_dir / "pgdata"
    server = embedded.start_server(pgdata)
    postmaster = server.get_pid()
    assert postmaster is not None

    def announce() -> None:
        raise BrokenPipeError  # stderr gone, as when the terminal was closed

    with pytest.raises(BrokenPipeError):
        embedded.stop_server(server, before_stop=announce)

    assert embedded.process_start(postmaster) is None
    users_file = embedded.beside(pgdata, embedded.USERS_SUFFIX)
    assert json.loads(users_file.read_text()) == {}


def claim(pgdata: Path, port: int) -> None:
    with embedded.serving(pgdata, "127.0.0.1", port):
        pass


def test_serving_refuses_a_second_server_naming_the_first(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"

    with (
        embedded.serving(pgdata, "127.0.0.1", 8123),
        pytest.raises(embedded.AlreadyServedError) as refused,
    ):
        claim(pgdata, 8124)

    assert (refused.value.pid, refused.value.host, refused.value.port) == (
        os.getpid(),
        "127.0.0.1",
        8123,
    )


def test_a_server_killed_while_serving_blocks_nobody(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    holder = subprocess.Popen(  # noqa: S603 - our own interpreter and code
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from phresh import embedded\n"
            f"with embedded.serving(Path({str(pgdata)!r}), '127.0.0.1', 8123):\n"
            "    print('serving', flush=True)\n"
            "    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    with holder:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "serving\n"
        with pytest.raises(embedded.AlreadyServedError):
            claim(pgdata, 8124)
        holder.kill()
        holder.wait()

    with embedded.serving(pgdata, "127.0.0.1", 8124):
        record = json.loads(embedded.beside(pgdata, embedded.SERVE_SUFFIX).read_text())

    assert record == {"pid": os.getpid(), "host": "127.0.0.1", "port": 8124}


async def test_ensure_database_creates_once_then_finds_it(server_url: str, fresh_name: str) -> None:
    created = await embedded.ensure_database(server_url, fresh_name)
    created_again = await embedded.ensure_database(server_url, fresh_name)

    assert created is True
    assert created_again is False


@pytest.mark.parametrize("name", ['x"; DROP DATABASE postgres; --', "a b"])
async def test_ensure_database_refuses_an_unusual_name(server_url: str, name: str) -> None:
    with pytest.raises(ValueError, match="unusual database name"):
        await embedded.ensure_database(server_url, name)


def test_with_database_swaps_only_the_database() -> None:
    url = "postgresql://postgres:@/postgres?host=/tmp/ph-abc/pgdata"

    assert embedded.with_database(url, "phresh") == (
        "postgresql://postgres:@/phresh?host=/tmp/ph-abc/pgdata"
    )


async def test_the_server_keeps_statement_statistics_and_logs_slow_plans_without_values(
    short_tmp_dir: Path,
) -> None:
    pgdata = short_tmp_dir / "pgdata"
    secret = "param-" + secrets.token_hex(4)
    server = embedded.start_server(pgdata, explain_over_ms=1)
    try:
        url = await embedded.prepare_database(embedded.database_url(server, "postgres"), "phresh")
        conn = await asyncpg.connect(url)
        try:
            preloaded = await conn.fetchval("SHOW shared_preload_libraries")
            await conn.fetchval("SELECT pg_sleep(0.01)::text || $1::text", secret)
            recorded = await conn.fetchval(
                "SELECT calls FROM pg_stat_statements WHERE query LIKE 'SELECT pg_sleep%'"
            )
        finally:
            await conn.close()
    finally:
        embedded.stop_server(server)

    assert preloaded == "pg_stat_statements,auto_explain"
    assert recorded == 1
    log = (pgdata / "log").read_text()
    assert "plan:" in log
    assert "SELECT pg_sleep(0.01)::text || $1::text" in log
    assert secret not in log

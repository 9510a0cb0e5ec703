import json
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from phresh import embedded


def dead_pid() -> int:
    """The PID of a process that has exited and been reaped."""
    with subprocess.Popen([sys.executable, "-c", "pass"]) as process:
        process.wait()
    return process.pid


@pytest.fixture
def live_python_pid() -> Iterator[int]:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as process:
        try:
            yield process.pid
        finally:
            process.kill()


@pytest.fixture
async def fresh_name(server_url: str) -> AsyncIterator[str]:
    """A database name nobody uses yet, dropped after the test."""
    name = f"phresh_embedded_{secrets.token_hex(4)}"
    try:
        yield name
    finally:
        await embedded.drop_database(server_url, name)


def write_handles(pgdata: Path, pids: list[int]) -> Path:
    handles = pgdata / embedded.HANDLES_FILE
    handles.write_text(json.dumps(pids))
    return handles


def test_prune_removes_dead_pids_and_keeps_live_python_ones(
    tmp_path: Path, live_python_pid: int
) -> None:
    dead = dead_pid()
    handles = write_handles(tmp_path, [live_python_pid, dead])

    removed = embedded.prune_stale_handles(tmp_path)

    assert removed == [dead]
    assert json.loads(handles.read_text()) == [live_python_pid]


def test_prune_leaves_a_file_of_live_pids_untouched(tmp_path: Path, live_python_pid: int) -> None:
    handles = write_handles(tmp_path, [live_python_pid])
    before = handles.read_text()

    removed = embedded.prune_stale_handles(tmp_path)

    assert removed == []
    assert handles.read_text() == before


def test_prune_without_a_handles_file_does_nothing(tmp_path: Path) -> None:
    assert embedded.prune_stale_handles(tmp_path) == []
    assert not (tmp_path / embedded.HANDLES_FILE).exists()


def test_prune_discards_an_unreadable_handles_file(tmp_path: Path) -> None:
    handles = tmp_path / embedded.HANDLES_FILE
    handles.write_text("not json")

    removed = embedded.prune_stale_handles(tmp_path)

    assert removed == []
    assert not handles.exists()


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

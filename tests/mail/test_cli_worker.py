"""``phresh worker``, run as deployments run it: ``.venv/bin/phresh worker``."""

import asyncio
import hashlib
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from phresh.cli import app
from phresh.config import get_settings
from phresh.db import Pool
from tests.fixtures.smtp import SmtpServer
from tests.mail.conftest import committed_mail, statuses

PHRESH = Path(sys.executable).parent / "phresh"


def environment(database_url: str, **variables: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PHRESH_")}
    return env | {"PHRESH_DATABASE_URL": database_url, "PHRESH_LOG_LEVEL": "INFO", **variables}


def smtp_environment(database_url: str, server: SmtpServer) -> dict[str, str]:
    return environment(
        database_url,
        PHRESH_SMTP_HOST=server.host,
        PHRESH_SMTP_PORT=str(server.port),
        PHRESH_SMTP_SECURITY="none",
        PHRESH_SMTP_TIMEOUT_S="30",
        # A job whose worker stopped beating for 1 s is taken again.
        PHRESH_WORKER_HEARTBEAT_S="1",
    )


async def phresh(env: dict[str, str], cwd: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        PHRESH,
        *args,
        env=env,
        # Not the repository: no .env file of a developer's is read.
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def wait_for_status(pool: Pool, status: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while (await statuses(pool))[0][0] != status:
        assert time.monotonic() < deadline, f"the mail is {await statuses(pool)}, not {status}"
        await asyncio.sleep(0.05)


def test_worker_is_a_command() -> None:
    result = CliRunner().invoke(app, ["--help"], prog_name="phresh")

    assert result.exit_code == 0
    assert "worker" in result.output


@pytest.fixture
def fresh_settings_cache() -> Iterator[None]:
    """The CLI reads settings through a cached get_settings(): start and end uncached."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("fresh_settings_cache")
def test_a_worker_refuses_a_database_without_the_migrations(empty_database_url: str) -> None:
    # In this thread, the main one: the command sets a SIGTERM handler.
    result = CliRunner().invoke(
        app, ["worker"], env={"PHRESH_DATABASE_URL": empty_database_url}, prog_name="phresh"
    )

    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "phresh: migrations: database at nothing, code expects 0005_events; "
        "run `phresh db upgrade` (`phresh serve` migrates as it starts)"
    )


async def test_a_mail_whose_worker_was_killed_mid_delivery_is_delivered_after_restart(
    database_url: str, live_outbox: Pool, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    env = smtp_environment(database_url, smtp_server)
    await committed_mail(live_outbox)
    smtp_server.stalling.set()
    killed = await phresh(env, tmp_path, "worker")
    try:
        await smtp_server.wait_for_data(timeout_s=30)
    finally:
        killed.kill()
        await killed.communicate()

    assert await statuses(live_outbox) == [("pending", 0)]
    assert smtp_server.messages == []
    smtp_server.stalling.clear()

    restarted = await phresh(env, tmp_path, "worker")
    try:
        # pgqueuer would take the job again after 30 s by default: here after 1 s.
        await wait_for_status(live_outbox, "sent", timeout_s=15)
    finally:
        restarted.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(restarted.communicate(), 10)

    assert restarted.returncode == 0, output.decode()
    assert "phresh: stopping the mail worker" in output.decode()
    assert len(smtp_server.messages) == 1
    assert await statuses(live_outbox) == [("sent", 1)]


async def test_drain_without_smtp_writes_the_mail_as_a_file_and_shows_its_link(
    database_url: str, live_outbox: Pool, tmp_path: Path
) -> None:
    mail_dir = tmp_path / "mail"
    await committed_mail(live_outbox)

    process = await phresh(
        environment(database_url, PHRESH_MAIL_DIR=str(mail_dir)), tmp_path, "worker", "--drain"
    )
    output, _ = await asyncio.wait_for(process.communicate(), 30)

    text = output.decode()
    assert process.returncode == 0, text
    assert f"phresh: delivering mail as .eml files into {mail_dir}" in text
    [path] = mail_dir.glob("*.eml")
    assert f"written to {path}" in text
    [token] = re.findall(
        r"link in the mail to \S+: http://127\.0\.0\.1:8000/verify-email\?token=(\S+)", text
    )
    stored = await live_outbox.fetchval(
        "SELECT purpose FROM account_token WHERE token_hash = $1",
        hashlib.sha256(token.encode()).digest(),
    )
    assert stored == "verify_email"
    assert await statuses(live_outbox) == [("sent", 1)]

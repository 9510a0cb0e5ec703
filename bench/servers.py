"""The servers under test: Phresh (``phresh serve``), the reference app, the FastAPI floor
and hello, each a
process group of its own on a free 127.0.0.1 port, with its output in a log file."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

from phresh.topology import free_port

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
# The same flags Phresh's own `phresh serve` gives uvicorn.
UVICORN_FLAGS = ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]


def _pid_file(run_dir: Path) -> Path:
    return run_dir / "servers.json"


def _remember(run_dir: Path, pid: int, command: list[str], *, alive: bool) -> None:
    """Keep the ids of the servers a run starts, so a run that was killed outright (SIGKILL)
    leaves nothing the next run cannot find and stop."""
    path = _pid_file(run_dir)
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    if alive:
        known[str(pid)] = command
    else:
        known.pop(str(pid), None)
    path.write_text(json.dumps(known))


def stop_leftovers(run_dir: Path) -> list[int]:
    """Stop the servers an earlier, killed run left behind: only those this suite started
    (their ids were recorded) and only if the process there is still running that command."""
    path = _pid_file(run_dir)
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    stopped = []
    for pid_text, command in known.items():
        pid = int(pid_text)
        try:
            process = psutil.Process(pid)
            if process.cmdline()[-len(command) :] != command[-len(command) :]:
                continue
            os.killpg(pid, signal.SIGTERM)
            process.wait(timeout=20)
            stopped.append(pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.TimeoutExpired, OSError):
            continue
    path.unlink(missing_ok=True)
    return stopped


def server_env(database_url: str, jwt_secret: str, workers: int, pool_size: int) -> dict[str, str]:
    """Phresh in production mode; the reference reads the same variables. No PHRESH_* of the
    caller's environment leaks in, and the servers run outside the repo, so no .env either."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PHRESH_")}
    env.update(
        PHRESH_DATABASE_URL=database_url,
        PHRESH_ENVIRONMENT="production",
        PHRESH_JWT_SECRET=jwt_secret,
        PHRESH_ACCESS_LOG="false",
        PHRESH_LOG_LEVEL="WARNING",
        PHRESH_MIGRATE_ON_START="false",
        PHRESH_WORKERS=str(workers),
        # Per worker: with N workers, N x pool_size connections in all (32 = wrk's -c).
        PHRESH_DB_POOL_SIZE=str(pool_size),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    workers: int
    run_dir: Path
    command: list[str]

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def rss_mb(self) -> float:
        """Resident memory of the server: the process and every worker it started."""
        try:
            parent = psutil.Process(self.process.pid)
            processes = [parent, *parent.children(recursive=True)]
            total = 0
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
        except psutil.NoSuchProcess:
            return 0.0
        return round(total / 2**20, 1)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        _remember(self.run_dir, self.process.pid, self.command, alive=False)


def start(
    name: str,
    command: list[str],
    *,
    env: dict[str, str],
    ready_path: str,
    workers: int,
    run_dir: Path,
    port: int,
) -> Server:
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / f"{name}-{workers}w.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=run_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _remember(run_dir, process.pid, command, alive=True)
    server = Server(name, port, process, log_path, workers, run_dir, command)
    deadline = time.monotonic() + 60
    url = server.base_url + ready_path
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = f"{name} exited ({process.returncode}) while starting:\n{server.log_tail()}"
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    server.stop()
    msg = f"{name} was not ready on {url} within 60 s:\n{server.log_tail()}"
    raise RuntimeError(msg)


def start_phresh(env: dict[str, str], workers: int, run_dir: Path) -> Server:
    port = free_port()
    command = [str(BIN / "phresh"), "serve", "--host", HOST, "--port", str(port)]
    return start(
        "phresh",
        command,
        env=env,
        ready_path="/api/v1/health/ready",
        workers=workers,
        run_dir=run_dir,
        port=port,
    )


def _uvicorn(app: str, port: int, workers: int, factory: bool) -> list[str]:
    command = [str(BIN / "uvicorn"), app, "--app-dir", str(REPO), "--host", HOST]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    command += UVICORN_FLAGS
    return [*command, "--factory"] if factory else command


def _start_factory_app(name: str, env: dict[str, str], workers: int, run_dir: Path) -> Server:
    """One of the bench's own apps: ``bench.<name>.app:create_app`` under uvicorn."""
    port = free_port()
    return start(
        name,
        _uvicorn(f"bench.{name}.app:create_app", port, workers, factory=True),
        env=env,
        ready_path="/api/v1/health/live",
        workers=workers,
        run_dir=run_dir,
        port=port,
    )


def start_reference(env: dict[str, str], workers: int, run_dir: Path) -> Server:
    return _start_factory_app("reference", env, workers, run_dir)


def start_floor(env: dict[str, str], workers: int, run_dir: Path) -> Server:
    return _start_factory_app("floor", env, workers, run_dir)


def start_hello(workers: int, run_dir: Path) -> Server:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PHRESH_")}
    return start(
        "hello",
        _uvicorn("bench.hello.app:app", port, workers, factory=False),
        env=env,
        ready_path="/",
        workers=workers,
        run_dir=run_dir,
        port=port,
    )


def problems_in_log(server: Server) -> list[str]:
    """Lines of the server's log that speak of errors (5xx, tracebacks)."""
    try:
        text = server.log_path.read_text(errors="replace")
    except OSError:
        return []
    keys = ("Traceback", "ERROR", "Exception", "CRITICAL")
    return [line for line in text.splitlines() if any(key in line for key in keys)][:20]

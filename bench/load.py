"""wrk: find or install it, run it, and read its report."""

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

LUA_DIR = Path(__file__).parent / "lua"

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = r"([\d.]+)(us|ms|s|m|h)"


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian's package when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit(
            "bench: wrk is not installed. Install it first, e.g. `sudo apt-get install -y wrk` "
            "(Debian/Ubuntu), then run the benchmark again."
        )
    print("bench: wrk not found; installing Debian's package (apt-get install -y wrk)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "wrk"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=False)
        subprocess.run(install, env=env, check=True)
    found = shutil.which("wrk")
    if not found:
        sys.exit("bench: installing wrk failed; install it by hand and run again.")
    return found


def wrk_version(wrk: str) -> str:
    result = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    return (result.stdout or result.stderr).splitlines()[0].strip()


@dataclass
class RunResult:
    """One wrk run."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    socket_errors: int
    non2xx: int
    statuses: dict[str, int]
    samples: list[str] = field(default_factory=list)
    # Percent of one core during the run (bench/cpu.py), and cores busy just before it.
    cpu: dict[str, float] = field(default_factory=dict)
    background_cores: float = 0.0


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse_wrk(output: str) -> RunResult:
    def number(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output)
        if match is None:
            msg = f"wrk output without {pattern!r}:\n{output}"
            raise ValueError(msg)
        return match

    p50 = number(rf"^\s+50%\s+{_DURATION}\s*$".replace("^", "(?m)^", 1))
    p99 = number(rf"^\s+99%\s+{_DURATION}\s*$".replace("^", "(?m)^", 1))
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    statuses = {
        match.group(1): int(match.group(2))
        for match in re.finditer(r"(?m)^BENCH status (\d+) (\d+)$", output)
    }
    return RunResult(
        requests_per_s=float(number(r"Requests/sec:\s+([\d.]+)").group(1)),
        p50_ms=_ms(p50.group(1), p50.group(2)),
        p99_ms=_ms(p99.group(1), p99.group(2)),
        requests=int(number(r"(\d+) requests in").group(1)),
        socket_errors=sum(int(n) for n in socket.groups()) if socket else 0,
        non2xx=int(number(r"(?m)^BENCH non2xx (\d+)$").group(1)),
        statuses=statuses,
        samples=re.findall(r"(?m)^BENCH sample (.*)$", output),
    )


@dataclass
class Load:
    """How one endpoint is loaded: a Lua script, its arguments, and wrk's shape."""

    script: str
    args: list[str]
    threads: int
    connections: int


def run_wrk(
    wrk: str,
    base_url: str,
    load: Load,
    duration_s: float,
    env: Mapping[str, str] | None = None,
) -> tuple[RunResult, str]:
    """``env``: variables added to wrk's environment (its Lua scripts read them with os.getenv;
    bench/lua/spread.lua its servers' ports)."""
    command = [
        wrk,
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{duration_s:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA_DIR / load.script),
        base_url,
        "--",
        *load.args,
    ]
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        timeout=duration_s + 60,
        env={**os.environ, **env} if env else None,
    )
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        msg = f"wrk failed ({completed.returncode}):\n{output}"
        raise RuntimeError(msg)
    return parse_wrk(output), output


@dataclass
class Summary:
    """The median of several runs per figure; errors and non-2xx summed over all of them."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    non2xx: int
    statuses: dict[str, int]
    cpu: dict[str, float]
    runs: list[dict[str, Any]]

    @classmethod
    def of(cls, runs: list[RunResult]) -> "Summary":
        statuses: dict[str, int] = {}
        for run in runs:
            for status, count in run.statuses.items():
                statuses[status] = statuses.get(status, 0) + count
        return cls(
            requests_per_s=round(median(run.requests_per_s for run in runs), 1),
            p50_ms=round(median(run.p50_ms for run in runs), 2),
            p99_ms=round(median(run.p99_ms for run in runs), 2),
            socket_errors=sum(run.socket_errors for run in runs),
            non2xx=sum(run.non2xx for run in runs),
            statuses=statuses,
            cpu={
                **{
                    key: round(median(run.cpu.get(key, 0.0) for run in runs), 1)
                    for key in ("server", "postgres", "wrk", "other", "steal")
                },
                "other_max": max(run.cpu.get("other", 0.0) for run in runs),
            },
            runs=[asdict(run) for run in runs],
        )

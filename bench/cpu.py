"""Where the CPU went during a run: the server under test, PostgreSQL, wrk, and anything
else on the machine (another test suite, a build), which makes a run noisy.

Figures are percent of one core over the run's wall time (200 = both cores of a 2-core box).
"""

import resource
import time
from dataclasses import dataclass

import psutil


def tree_cpu_s(pid: int | None) -> float:
    """CPU seconds of a process and all its descendants (workers, PostgreSQL backends)."""
    if pid is None:
        return 0.0
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _system() -> tuple[float, float]:
    times = psutil.cpu_times()
    busy = times.user + times.nice + times.system
    busy += getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0)
    return busy, getattr(times, "steal", 0.0)


def _own() -> tuple[float, float]:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return children.ru_utime + children.ru_stime, own.ru_utime + own.ru_stime


@dataclass
class Snapshot:
    wall: float
    busy: float
    steal: float
    server: float
    postgres: float
    children: float
    own: float


def snapshot(server_pid: int | None, postgres_pid: int | None) -> Snapshot:
    busy, steal = _system()
    children, own = _own()
    return Snapshot(
        time.monotonic(),
        busy,
        steal,
        tree_cpu_s(server_pid),
        tree_cpu_s(postgres_pid),
        children,
        own,
    )


def usage(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """Percent of one core each: server, postgres, wrk (a finished child of this process),
    other (everything else the machine did) and steal (taken by the hypervisor)."""
    wall = max(after.wall - before.wall, 1e-6)

    def pct(seconds: float) -> float:
        return round(100 * seconds / wall, 1)

    server = after.server - before.server
    postgres = after.postgres - before.postgres
    wrk = after.children - before.children
    own = after.own - before.own
    other = (after.busy - before.busy) - server - postgres - wrk - own
    return {
        "server": pct(server),
        "postgres": pct(postgres),
        "wrk": pct(wrk),
        "other": pct(max(other, 0.0)),
        "steal": pct(after.steal - before.steal),
    }


def background_cores(interval_s: float = 0.5) -> float:
    """Cores busy right now; taken between runs, when nothing of ours is working."""
    percent = float(psutil.cpu_percent(interval=interval_s))
    return round(percent / 100 * (psutil.cpu_count() or 1), 2)

"""The metrics of ``phresh serve`` with several workers: one directory of value files.

prometheus_client's multiprocess mode: each worker writes its values to files in
PROMETHEUS_MULTIPROC_DIR, and the worker that answers GET /metrics adds up every file. The
variable must be set before a worker imports prometheus_client (it chooses where values live
at its import); uvicorn starts each worker as a new interpreter (multiprocessing's spawn),
which inherits the variable set here.

Each run gets a new, empty directory, removed when it stops: files of an earlier run would
be added to this one's. A worker that dies (killed, crashed) leaves its files; its counters
rightly stay in the sums, but its gauges of things under way (requests in flight,
connections) must not. So each process that writes there leaves a note of its own (its pid
and start time, ``announce_process``), and a thread of the supervising process calls
``mark_process_dead`` for each noted process that is gone, as prometheus_client documents
for gunicorn's ``child_exit`` hook (uvicorn has no such hook). The note, not a list of the
supervisor's children, so that a worker that lived less than one look is not missed.

Nothing here imports prometheus_client before the variable is set.
"""

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# How often the supervisor looks for workers that are gone.
REAP_INTERVAL_S = 1.0
# The note of a process writing values: its name holds the pid, its text the start time.
NOTE_PREFIX = "phresh-process-"


def announce_process() -> None:
    """Note this process in PROMETHEUS_MULTIPROC_DIR, if set, for ``WorkerReaper``."""
    directory = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    if directory:
        note = Path(directory) / f"{NOTE_PREFIX}{os.getpid()}"
        note.write_text(repr(psutil.Process().create_time()))


def is_running(pid: int, started: float) -> bool:
    """Whether the process ``pid`` that started at ``started`` still runs (not a process
    that took its pid since; not a zombie its parent has yet to collect)."""
    try:
        process = psutil.Process(pid)
        running: bool = (
            process.create_time() == started and process.status() != psutil.STATUS_ZOMBIE
        )
    except psutil.NoSuchProcess:
        return False
    return running


@contextmanager
def multiprocess_metrics(parent: Path | None, workers: int) -> Iterator[Path | None]:
    """For the block, with more than one worker: a new directory of value files (under
    ``parent``, or the system's temporary directory) named in PROMETHEUS_MULTIPROC_DIR, and
    a thread that marks the workers that are gone; the directory's path, or None."""
    if workers <= 1:
        # One process serves: its values are read from its memory.
        yield None
        return
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="phresh-metrics-", dir=parent))
    previous = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    os.environ[MULTIPROCESS_DIR_VARIABLE] = str(directory)
    reaper = WorkerReaper(directory)
    reaper.start()
    try:
        yield directory
    finally:
        reaper.stop()
        if previous is None:
            os.environ.pop(MULTIPROCESS_DIR_VARIABLE, None)
        else:
            os.environ[MULTIPROCESS_DIR_VARIABLE] = previous
        shutil.rmtree(directory, ignore_errors=True)


class WorkerReaper(threading.Thread):
    """Marks each process noted in ``directory`` that has ended as dead for
    prometheus_client."""

    def __init__(self, directory: Path, interval_s: float = REAP_INTERVAL_S) -> None:
        super().__init__(name="phresh-metrics-reaper", daemon=True)
        self.directory = directory
        self.interval_s = interval_s
        self.stopping = threading.Event()

    def run(self) -> None:
        # Imported here, after the variable is set (this process serves no metrics itself).
        from prometheus_client.multiprocess import mark_process_dead

        while not self.stopping.wait(self.interval_s):
            for note in self.directory.glob(f"{NOTE_PREFIX}*"):
                try:
                    pid = int(note.name.removeprefix(NOTE_PREFIX))
                    started = float(note.read_text())
                except ValueError:
                    continue  # being written: read at the next look
                if not is_running(pid, started):
                    mark_process_dead(pid, str(self.directory))  # type: ignore[no-untyped-call]
                    note.unlink()

    def stop(self) -> None:
        self.stopping.set()
        self.join()

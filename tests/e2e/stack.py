"""The whole product for the browser tests: ``python -m tests.e2e.stack`` from the repository.

As a newcomer's ``make run`` serves it (``phresh serve``, the embedded PostgreSQL, the built web
app, the mail worker), on a throwaway database, with a real SMTP server that writes each
message it receives to ``$E2E_DIR/mail/`` (default ``var/e2e``, wiped at start) as
``000001.eml``, ``000002.eml``, ...: sorting the names gives the arrival order, and a file
appears whole (written aside, then renamed). The server listens on 127.0.0.1:``$E2E_PORT``
(default 8765) and writes its output to ``$E2E_DIR/serve.log``. It serves a copy of web/dist
(or of ``$E2E_WEB_DIST``, another build) taken at start: a build made meanwhile (``make
web-build`` empties web/dist first) does not pull the files from under a running test.

One line on stdout when the server is ready. SIGTERM or SIGINT stops it all: ``phresh serve``
gets SIGTERM and is waited for (it stops the embedded PostgreSQL itself), then the SMTP server,
then the database's files are deleted. If ``phresh serve`` exits on its own, so does this, with
one line on stderr and a non-zero status.
"""

import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from phresh.topology import free_port, last_line

REPOSITORY = Path(__file__).resolve().parents[2]
PHRESH = Path(sys.executable).parent / "phresh"
HOST = "127.0.0.1"
READY_PATH = "/api/v1/health/ready"
READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0
# Far above what one run of the suite does; each limit is per address and per account.
GENEROUS_RATE = "10000/minute"
RATE_LIMITS = (
    "LOGIN",
    "REGISTER",
    "FORGOT_PASSWORD",
    "VERIFY_RESEND",
)


# The files index.html loads (Vite's content-hashed names).
ASSET_REFERENCE = re.compile(r'(?:src|href)="/(assets/[^"]+)"')
SNAPSHOT_ATTEMPTS = 20


class StackError(Exception):
    """Why the stack cannot run: printed as one line."""


class MailDirHandler:
    """aiosmtpd's handler: each message accepted is written whole to ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # aiosmtpd calls handle_DATA on its one event loop thread: one message at a time.
        self.numbers = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        name = f"{next(self.numbers):06d}.eml"
        partial = self.directory / f".{name}.partial"
        content: bytes = envelope.original_content or envelope.content
        partial.write_bytes(content)
        # A reader polling the directory sees no file, then the whole file.
        partial.replace(self.directory / name)
        return "250 Message accepted"


def prepare_directory(directory: Path) -> None:
    resolved = directory.resolve()
    if resolved == Path(resolved.anchor) or resolved in (Path.cwd(), *Path.cwd().parents):
        msg = f"E2E_DIR={directory} would wipe {resolved}: pick a directory of its own"
        raise StackError(msg)
    shutil.rmtree(resolved, ignore_errors=True)
    (resolved / "mail").mkdir(parents=True)


def is_whole_build(directory: Path) -> bool:
    index = directory / "index.html"
    if not index.is_file():
        return False
    referenced = ASSET_REFERENCE.findall(index.read_text(errors="replace"))
    return all((directory / name).is_file() for name in referenced)


def snapshot_web_app(source: Path, target: Path) -> None:
    """Copy the built web app; retried while a build is half written (index.html naming
    files that are not there yet, or gone)."""
    for _ in range(SNAPSHOT_ATTEMPTS):
        shutil.rmtree(target, ignore_errors=True)
        try:
            shutil.copytree(source, target)
        except (OSError, shutil.Error):
            pass
        else:
            if is_whole_build(target):
                return
        time.sleep(0.5)
    msg = f"{source} holds no whole build of the web app: run make web-build first"
    raise StackError(msg)


def server_environment(
    data_dir: Path, e2e_dir: Path, public_url: str, smtp_port: int, web_dir: Path
) -> dict[str, str]:
    # The caller's own PHRESH_* settings (a PHRESH_DATABASE_URL above all) stay out.
    env = {name: value for name, value in os.environ.items() if not name.startswith("PHRESH_")}
    env |= {
        "PHRESH_DATA_DIR": str(data_dir),
        "PHRESH_WEB_DIR": str(web_dir),
        "PHRESH_PUBLIC_URL": public_url,
        "PHRESH_SMTP_HOST": HOST,
        "PHRESH_SMTP_PORT": str(smtp_port),
        "PHRESH_SMTP_SECURITY": "none",
        "PHRESH_SMTP_TIMEOUT_S": "5",
        "PHRESH_MAIL_DIR": str(e2e_dir / "outbox"),
        "PHRESH_RUN_WORKER": "true",
        "PHRESH_MAIL_RETRY_BASE_S": "0.2",
        "PHRESH_MAIL_RETRY_MAX_S": "2",
    }
    for limit in RATE_LIMITS:
        env[f"PHRESH_RATE_LIMIT_{limit}_PER_ADDRESS"] = GENEROUS_RATE
        env[f"PHRESH_RATE_LIMIT_{limit}_PER_ACCOUNT"] = GENEROUS_RATE
    return env


def is_ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.TransportError:
        return False


class Stack:
    def __init__(self, e2e_dir: Path, port: int) -> None:
        self.e2e_dir = e2e_dir.resolve()
        self.port = port
        self.public_url = f"http://{HOST}:{port}"
        self.log_path = self.e2e_dir / "serve.log"
        self.stopping = threading.Event()
        self.controller: Controller | None = None
        self.server: subprocess.Popen[bytes] | None = None
        self.temporary: Path | None = None

    def start(self) -> None:
        prepare_directory(self.e2e_dir)
        # A short path: the embedded server's Unix socket lives in it.
        self.temporary = Path(tempfile.mkdtemp(prefix="phresh-e2e-"))
        web_dir = self.temporary / "web"
        built = Path(os.environ.get("E2E_WEB_DIST", REPOSITORY / "web" / "dist"))
        snapshot_web_app(built, web_dir)
        smtp_port = free_port()
        self.controller = Controller(
            MailDirHandler(self.e2e_dir / "mail"), hostname=HOST, port=smtp_port
        )
        self.controller.start()
        env = server_environment(
            self.temporary / "pgdata", self.e2e_dir, self.public_url, smtp_port, web_dir
        )
        with self.log_path.open("wb") as log:
            # Its own session: only this process signals it, once, whoever pressed Ctrl+C.
            # Its working directory is the throwaway one, so a .env of the caller is not read.
            self.server = subprocess.Popen(  # noqa: S603 - our own command
                [PHRESH, "serve", "--host", HOST, "--port", str(self.port)],
                env=env,
                cwd=self.temporary,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def exit_status(self) -> int | None:
        assert self.server is not None
        return self.server.poll()

    def died(self, status: int) -> StackError:
        detail = last_line(self.log_path)
        msg = f"phresh serve exited with status {status}" + (f": {detail}" if detail else "")
        return StackError(f"{msg} (whole output: {self.log_path})")

    def wait_until_ready(self) -> bool:
        """True once ready; False when asked to stop first."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        url = self.public_url + READY_PATH
        while not self.stopping.is_set():
            if (status := self.exit_status()) is not None:
                raise self.died(status)
            if is_ready(url):
                return True
            if time.monotonic() > deadline:
                msg = f"phresh serve was not ready within {READY_TIMEOUT_S:.0f} s ({self.log_path})"
                raise StackError(msg)
            self.stopping.wait(0.2)
        return False

    def run_until_stopped(self) -> None:
        while not self.stopping.wait(0.2):
            if (status := self.exit_status()) is not None:
                raise self.died(status)

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        if self.controller is not None:
            self.controller.stop()
        if self.temporary is not None:
            shutil.rmtree(self.temporary, ignore_errors=True)


def main() -> int:
    stack = Stack(
        Path(os.environ.get("E2E_DIR", "var/e2e")), int(os.environ.get("E2E_PORT", "8765"))
    )

    def request_stop(signum: int, frame: object) -> None:
        stack.stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        stack.start()
        if stack.wait_until_ready():
            mail = stack.e2e_dir / "mail"
            sys.stdout.write(f"e2e stack ready at {stack.public_url} (mail in {mail})\n")
            sys.stdout.flush()
            stack.run_until_stopped()
    except StackError as exc:
        sys.stderr.write(f"e2e stack: {exc}\n")
        return 1
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

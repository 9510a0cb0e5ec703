"""The heads of requests, as a served process reads them off its sockets: one too large is
refused before it is read whole, one too slow is answered 408 and its connection closed."""

import contextlib
import json
import select
import socket
import time
from collections.abc import Iterator

import psutil
import pytest

from tests.fixtures.serving import migrated_data_dir, served

HEAD_TIMEOUT_S = 1.0
MAX_HEADER_BYTES = 32 * 1024
SLOW_CLIENTS = 50
LIVE = b"GET /api/v1/health/live HTTP/1.1\r\nHost: phresh\r\n"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, int]]:
    """The pid and port of one ``phresh serve`` for the module (one process: workers=1)."""
    with (
        migrated_data_dir() as pgdata,
        served(
            pgdata,
            PHRESH_HEADER_TIMEOUT_S=str(HEAD_TIMEOUT_S),
            PHRESH_MAX_HEADER_BYTES=str(MAX_HEADER_BYTES),
            PHRESH_RATE_LIMIT_REGISTER_PER_ADDRESS="1000/hour",
        ) as (process, port),
    ):
        yield process.pid, port


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response with a Content-Length, and no more of what the connection holds."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(status_line.split()[1]), headers, body


def read_to_end(sock: socket.socket) -> bytes:
    """What arrives until the server closes the connection. A byte the client sent after the
    close makes the server's kernel answer with a reset, which may overtake the answer."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def rss_bytes(pid: int) -> int:
    rss: int = psutil.Process(pid).memory_info().rss
    return rss


def test_fifty_slow_heads_are_answered_408_and_closed_after_the_header_timeout(
    server: tuple[int, int],
) -> None:
    _, port = server
    # Half of them on a fresh connection, half on one that has served a request already.
    slow: list[socket.socket] = []
    head_started: dict[socket.socket, float] = {}
    for number in range(SLOW_CLIENTS):
        sock = connect(port)
        started = time.monotonic()
        if number % 2:
            sock.sendall(LIVE + b"\r\n")
            assert read_response(sock)[0] == 200
            started = time.monotonic()
        sock.sendall(LIVE + b"X-Slow: ")
        slow.append(sock)
        head_started[sock] = started
    answers: dict[socket.socket, tuple[bytes, float]] = {}
    deadline = time.monotonic() + HEAD_TIMEOUT_S + 5
    try:
        while len(answers) < len(slow) and time.monotonic() < deadline:
            waiting = [sock for sock in slow if sock not in answers]
            # A slowloris: one more header byte on each connection every 0.2 s.
            for sock in waiting:
                with contextlib.suppress(OSError):
                    sock.sendall(b"a")
            readable, _, _ = select.select(waiting, [], [], 0.2)
            for sock in readable:
                answers[sock] = (read_to_end(sock), time.monotonic())
    finally:
        for sock in slow:
            sock.close()

    assert len(answers) == SLOW_CLIENTS
    for sock, (answer, closed_at) in answers.items():
        assert answer == b"" or answer.startswith(b"HTTP/1.1 408 ")
        # Closed by the header clock: not before it ran out, and soon after.
        assert HEAD_TIMEOUT_S * 0.9 <= closed_at - head_started[sock] <= HEAD_TIMEOUT_S + 2


def test_a_head_that_stops_coming_is_a_408_problem(server: tuple[int, int]) -> None:
    _, port = server
    with connect(port) as sock:
        sock.sendall(LIVE + b"X-Half")
        answer = read_to_end(sock)

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"content-type: application/problem+json" in head.split(b"\r\n")
    assert json.loads(body) == {
        "type": "urn:phresh:problem:request-timeout",
        "title": "Request timeout",
        "status": 408,
        "detail": f"The request line and headers took over {HEAD_TIMEOUT_S:g} s.",
    }


def test_a_body_slower_than_the_header_timeout_is_still_read(server: tuple[int, int]) -> None:
    """The clock stops at the end of the headers: a slow upload is not a slow head."""
    _, port = server
    body = json.dumps(
        {"username": "slow_uploader", "email": "slow@example.com", "password": "x" * 20}
    ).encode()
    with connect(port) as sock:
        sock.sendall(
            b"POST /api/v1/users HTTP/1.1\r\nHost: phresh\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        for start in range(0, len(body), 10):
            sock.sendall(body[start : start + 10])
            time.sleep(HEAD_TIMEOUT_S / 4)
        status, _, _ = read_response(sock)
        # And the next request on the connection starts a clock of its own.
        sock.sendall(LIVE + b"\r\n")
        after, _, _ = read_response(sock)

    assert status == 201
    assert after == 200


@pytest.mark.parametrize(("size", "status"), [(16 * 1024, 200), (40 * 1024, 431)])
def test_headers_over_the_cap_are_a_431_problem(
    server: tuple[int, int], size: int, status: int
) -> None:
    _, port = server
    with connect(port) as sock:
        sock.sendall(LIVE + b"Cookie: c=" + b"a" * size + b"\r\n\r\n")
        answer, headers, body = read_response(sock)

    assert answer == status
    if status == 431:
        assert headers["content-type"] == "application/problem+json"
        assert headers["connection"] == "close"
        assert json.loads(body)["detail"] == (
            f"The request line and headers are over {MAX_HEADER_BYTES} bytes."
        )


def test_a_head_under_the_cap_whose_blank_line_straddles_two_reads_is_served(
    server: tuple[int, int],
) -> None:
    """The blank line that ends the head is looked for across reads: the second read here
    holds its last byte and a body that takes the read past the cap."""
    _, port = server
    sign_up = {"username": "straddler", "email": "straddler@example.com", "password": "x" * 20}
    body = json.dumps(sign_up).encode() + b" " * 4096
    head = (
        b"POST /api/v1/users HTTP/1.1\r\nHost: phresh\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nX-Pad: %s\r\n\r\n" % (len(body), b"p" * (MAX_HEADER_BYTES - 1024))
    )
    with connect(port) as sock:
        sock.sendall(head[:-1])
        time.sleep(0.2)
        sock.sendall(head[-1:] + body)
        status, _, _ = read_response(sock)

    assert len(head) < MAX_HEADER_BYTES < len(head) + len(body)
    assert status == 201


def test_a_16_mb_header_is_refused_before_it_is_read_whole(server: tuple[int, int]) -> None:
    pid, port = server
    with connect(port) as sock:
        sock.sendall(LIVE + b"\r\n")
        assert read_response(sock)[0] == 200
    before = rss_bytes(pid)
    total = 16 * 1024 * 1024
    sent = 0
    answer = b""
    with connect(port) as sock:
        try:
            sock.sendall(LIVE + b"X-Huge: ")
            while sent < total:
                sent += sock.send(b"a" * 65536)
            sock.sendall(b"\r\n\r\n")
            answer = read_to_end(sock)
        except ConnectionError:
            # Closed with bytes unread: the kernel resets the connection, and a reset may
            # overtake the 431 written before it.
            pass

    # The server closed the connection before the client had sent it all, and never held
    # what it read.
    assert sent < total
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 ")
    assert rss_bytes(pid) - before < 4 * 1024 * 1024

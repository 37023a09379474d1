"""The fault proxy itself: each mode does to a request what the fault tests rely on."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from tests.faults.proxy import FaultProxy, Mode

REQUEST = b"store this\n"
SILENCE_S = 1.0


class Upstream(socketserver.ThreadingTCPServer):
    """A line server standing in for the central server: records each line, answers ``stored``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.received: list[bytes] = []
        super().__init__(("127.0.0.1", 0), self.Handler)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            while line := self.rfile.readline():
                self.server.received.append(line)  # type: ignore[attr-defined]
                self.wfile.write(b"stored\n")


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def exchange(port: int) -> str:
    """Send one request; what came back: 'reply', 'reset', 'closed' or 'silence'."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.settimeout(SILENCE_S)
        sock.sendall(REQUEST)
        try:
            answer = sock.recv(100)
        except ConnectionResetError:
            return "reset"
        except TimeoutError:
            return "silence"
    return "reply" if answer == b"stored\n" else "closed"


CASES = [
    # mode, what the client sees, what the server received, the proxy's counter
    (Mode.PASS, "reply", [REQUEST], "requests_pass"),
    (Mode.DROP_REPLY, "reset", [REQUEST], "replies_dropped"),
    (Mode.RESET, "reset", [], "requests_reset"),
    (Mode.BLACK_HOLE, "silence", [], "requests_black_hole"),
]


@pytest.mark.parametrize(("mode", "client_sees", "server_received", "counter"), CASES)
def test_each_mode_does_what_it_says_to_one_request(upstream, mode, client_sees, server_received, counter):
    with FaultProxy(upstream_port=upstream.server_address[1]) as proxy:
        proxy.set_mode(mode)
        seen = exchange(proxy.port)
        time.sleep(0.1)  # a request that reached the upstream late would show
        assert (seen, upstream.received, proxy.counts[counter]) == (client_sees, server_received, 1)


def test_delay_holds_the_request_and_the_reply(upstream):
    with FaultProxy(upstream_port=upstream.server_address[1], delay_s=0.2) as proxy:
        proxy.set_mode(Mode.DELAY)
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            started = time.monotonic()
            sock.sendall(REQUEST)
            answer, waited = sock.recv(100), time.monotonic() - started
    assert (answer, upstream.received, waited >= 0.4) == (b"stored\n", [REQUEST], True)


def test_leaving_the_black_hole_resets_what_it_held(upstream):
    with FaultProxy(upstream_port=upstream.server_address[1]) as proxy:
        proxy.set_mode(Mode.BLACK_HOLE)
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            sock.sendall(REQUEST)
            time.sleep(0.1)
            proxy.set_mode(Mode.PASS)
            with pytest.raises(ConnectionResetError):
                sock.recv(100)
    assert (upstream.received, proxy.counts["black_hole_released"]) == ([], 1)

"""A loopback listener that records every connection (TCP) and datagram (UDP) on one port.

It answers TCP with a fixed HTTP reply, so HTTP plugins get an answer and SMTP/IRC-style
plugins get something they reject: what matters is only that a connection was recorded.
Threads, not the event loop, so it keeps listening while the code under test blocks.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

OK_REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"


def redirect_reply(location: str) -> bytes:
    return (
        f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    ).encode()


class Listener:
    def __init__(self, host: str = "127.0.0.1", reply: bytes = OK_REPLY) -> None:
        self.reply = reply
        self.seen: list[str] = []
        self._tcp = socket.create_server((host, 0))
        self.host, self.port = self._tcp.getsockname()[:2]
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind((host, self.port))
        self._stop = threading.Event()
        for sock in (self._tcp, self._udp):
            sock.settimeout(0.1)
        self._threads = [
            threading.Thread(target=self._accept, daemon=True),
            threading.Thread(target=self._receive, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._tcp.accept()
            except OSError:
                continue
            self.seen.append("tcp")
            with conn:
                conn.settimeout(0.5)
                try:
                    conn.recv(65536)
                    conn.sendall(self.reply)
                except OSError:
                    pass

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                self._udp.recvfrom(65536)
            except OSError:
                continue
            self.seen.append("udp")

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self._tcp.close()
        self._udp.close()


@contextmanager
def listening(host: str = "127.0.0.1", reply: bytes = OK_REPLY) -> Iterator[Listener]:
    listener = Listener(host, reply)
    try:
        yield listener
    finally:
        listener.close()

"""The socket guard: every connection Apprise makes for a user's channel is checked when it is made.

Why at the socket and not from the URL: Apprise ships some 260 schemes and each plugin decides
where it connects (the URL's host, a fixed provider API, a redirect, a second request). A list
of "host-addressed" schemes is always incomplete (ten schemes once reached the loopback through
one), and a check of the URL's name can be undone by DNS answering differently a moment later.
Python raises an audit event for every ``connect``/``sendto`` with the address actually used
(after DNS, after redirects), so the address checked is the address connected to, whatever the
scheme.

The hook is installed once per process and does nothing outside :func:`watching`, whose watch
travels in a context variable; Apprise copies the caller's context into its worker threads. A
plugin that connects from a thread of its own, or without Python sockets (desktop notifications,
the local syslog), escapes the hook: :data:`UNCHECKED_SCHEMES` names those, and the channel
code refuses them unless the administrator allows them by name.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from .destinations import check_addresses, literal_address
from .errors import DestinationRefused
from .settings import DestinationPolicy

# Apprise schemes whose delivery the hook cannot follow: no Python socket (D-Bus, GLib, macOS,
# Windows, USB, the C syslog), or connections from the plugin's own thread (MQTT, XMPP).
UNCHECKED_SCHEMES = frozenset(
    {
        "dbus",
        "kde",
        "qt",
        "glib",
        "gio",
        "gnome",
        "macosx",
        "windows",
        "syslog",
        "blink1",
        "mqtt",
        "mqtts",
        "xmpp",
        "xmpps",
    }
)
_CONNECTS = frozenset({"socket.connect", "socket.sendto", "socket.sendmsg"})
_LOOKUPS = frozenset({"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"})
_WATCHED = _CONNECTS | _LOOKUPS
_INTERNET = (socket.AF_INET, socket.AF_INET6)


class DestinationBlocked(PermissionError):
    """Raised inside the plugin's connect: an OSError, so it fails like an unreachable host."""


@dataclass
class Watch:
    """One delivery's watch: the policy, and what the hook saw.

    ``probe``: refuse every lookup and connection, only noting where the plugin wanted to go
    (``wanted``), so a channel can be judged before anything is sent.
    """

    policy: DestinationPolicy
    probe: bool = False
    wanted: list[tuple[str, int]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    noted: Callable[[], object] = lambda: None  # called (from the plugin's thread) after each note

    def refuse(self, reason: str) -> None:
        self.refused.append(reason)
        raise DestinationBlocked(reason)


_WATCH: ContextVar[Watch | None] = ContextVar("caudal_notify_watch", default=None)
_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Add the audit hook to this process (once; an audit hook cannot be removed)."""
    global _installed
    with _install_lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True


@contextmanager
def watching(
    policy: DestinationPolicy, *, probe: bool = False, noted: Callable[[], object] = lambda: None
) -> Iterator[Watch]:
    """Check (or, with ``probe``, refuse and note) every connection made inside, in this context."""
    install()
    watch = Watch(policy, probe, noted=noted)
    token = _WATCH.set(watch)
    try:
        yield watch
    finally:
        _WATCH.reset(token)


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event not in _WATCHED:  # every audit event of the process comes here: leave the others at once
        return
    watch = _WATCH.get()
    if watch is None:
        return
    if event in _LOOKUPS:
        if watch.probe:
            _note(watch, args[0], args[1] if len(args) > 1 else 0)
        return
    sock, address = args[0], args[1]
    if address is None:  # sendmsg on a connected socket: its connect was checked
        return
    if sock.family not in _INTERNET:
        watch.refuse(f"{address!r}: only network destinations are allowed, not local sockets")
    host, port = str(address[0]), int(address[1])
    if watch.probe:
        _note(watch, host, port)
    _check(watch, host, port)


def _note(watch: Watch, host: object, port: object) -> None:
    """Record where the plugin wanted to go (a service name such as ``"https"`` counts as port 0)."""
    name = host.decode() if isinstance(host, bytes) else str(host)
    watch.wanted.append((name, int(str(port)) if str(port).isdigit() else 0))
    watch.noted()
    raise DestinationBlocked(f"{name}: anotado, no contactado (se está revisando el canal)")


def _check(watch: Watch, host: str, port: int) -> None:
    """Refuse the connection unless every address of ``host`` is allowed.

    HTTP, SMTP and most clients resolve first and connect to an address, which is checked as is.
    A client that connects by name is resolved here, a moment before its socket resolves again.
    """
    if literal_address(host) is not None:
        addresses = [host]
    else:
        try:
            addresses = [str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)]
        except OSError:
            return  # the plugin's own connect fails the same way
    try:
        check_addresses(host, addresses, watch.policy)
    except DestinationRefused as exc:
        watch.refuse(exc.reason)

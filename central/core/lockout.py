"""How many password guesses a username, and a client address, get before they are locked.

Each login attempt is counted *before* its password is checked, in one statement that
cannot race (an upsert that refuses a locked row and returns the new count), so parallel
guesses cannot slip in between a check and its count: of 40 guesses sent at once, only
the first :data:`FREE_FAILURES` reach argon2. Attempts are counted per username (known or
not) and per client address (one address guessing many usernames); a correct password
takes its attempt back (:func:`forgive`).

After ``free`` counted attempts the key is locked for :data:`FIRST_LOCK`, and each further
attempt admitted once a lock expires doubles it, up to :data:`LONGEST_LOCK`. Counts older
than :data:`FORGOTTEN_AFTER` start over.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, NamedTuple

from central.core.problems import TooManyAttempts
from central.db import Connection

FREE_FAILURES = 5  # per username
FREE_FAILURES_PER_ADDRESS = 20  # per client address, across usernames
FIRST_LOCK = timedelta(seconds=30)
LONGEST_LOCK = timedelta(minutes=15)
FORGOTTEN_AFTER = timedelta(hours=1)

Scope = Literal["user", "address"]
_REFUSED = {"user": "demasiados ingresos fallidos con este usuario",
            "address": "demasiados ingresos fallidos desde esta dirección"}


class Key(NamedTuple):
    """What attempts are counted against: a username or a client address."""

    scope: Scope
    subject: str
    free: int


def keys_for(username: str, address: str) -> list[Key]:
    """The address first, then the username: every login locks its rows in this order, so
    two logins never wait on each other in a cycle (PostgreSQL)."""
    return [Key("address", address, FREE_FAILURES_PER_ADDRESS), Key("user", username, FREE_FAILURES)]


def lock_for(attempts: int, free: int = FREE_FAILURES) -> timedelta:
    """How long a key stays locked once ``attempts`` attempts in a row are counted against it."""
    if attempts < free:
        return timedelta(0)
    return min(FIRST_LOCK * 2 ** (attempts - free), LONGEST_LOCK)


_COUNT = (
    "INSERT INTO login_attempts (scope, subject, attempts, last_attempt_at) VALUES (:scope, :subject, 1, :now)"
    " ON CONFLICT (scope, subject) DO UPDATE SET last_attempt_at = :now, attempts = CASE"
    " WHEN login_attempts.last_attempt_at < :forgotten THEN 1 ELSE login_attempts.attempts + 1 END"
    " WHERE login_attempts.locked_until IS NULL OR login_attempts.locked_until <= :now"
    " RETURNING attempts"
)


def count_attempt(conn: Connection, key: Key, now: datetime) -> None:
    """Count one attempt against ``key``, or raise :class:`TooManyAttempts` while it is locked.

    The count and the lock it earns are written in the caller's transaction; the upsert
    holds the row until it commits, so concurrent attempts on one key are counted one after
    the other (PostgreSQL's row lock; SQLite's write lock)."""
    params = {"scope": key.scope, "subject": key.subject, "now": now, "forgotten": now - FORGOTTEN_AFTER}
    attempts = conn.fetchval(_COUNT, params)
    if attempts is None:
        _refuse(conn, key, now)
    lock = lock_for(attempts, key.free)
    if lock:
        conn.execute("UPDATE login_attempts SET locked_until = :until WHERE scope = :scope AND subject = :subject",
                     {**params, "until": now + lock})


def _refuse(conn: Connection, key: Key, now: datetime) -> None:
    locked_until = conn.fetchval("SELECT locked_until FROM login_attempts WHERE scope = :scope AND subject = :subject",
                                 {"scope": key.scope, "subject": key.subject})
    wait = int((locked_until - now).total_seconds()) + 1
    raise TooManyAttempts(f"{_REFUSED[key.scope]}; intente de nuevo en {wait} s", wait)


def forgive(conn: Connection, username: str, address: str) -> None:
    """A correct password: the username starts over, and the address gets its attempt back
    (and any lock that attempt set), so people logging in from one office are not locked
    out by their own successes while a guesser's failures still count."""
    conn.execute("UPDATE login_attempts SET attempts = attempts - 1, locked_until = NULL"
                 " WHERE scope = 'address' AND subject = :a", {"a": address})
    conn.execute("DELETE FROM login_attempts WHERE scope = 'user' AND subject = :u", {"u": username})


def forget_old(conn: Connection, now: datetime) -> None:
    """Delete counts nobody added to for :data:`FORGOTTEN_AFTER` (a guesser trying random
    usernames leaves one row per name). On PostgreSQL rows that a login holds are skipped,
    never waited for, so this cannot deadlock with the logins counting."""
    skip_locked = " FOR UPDATE SKIP LOCKED" if conn.dialect == "postgresql" else ""
    conn.execute(
        "DELETE FROM login_attempts WHERE (scope, subject) IN (SELECT scope, subject FROM login_attempts"
        f" WHERE last_attempt_at < :cutoff{skip_locked})", {"cutoff": now - FORGOTTEN_AFTER})

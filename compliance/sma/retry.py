"""When to try an unanswered SMA call again (pure).

The SMA's manual sets no resend rule, and the DGA's "the following day" would leave a
5-minute cadence's readings a day late for nothing. A call that got no answer (a timeout, a
5xx) is tried again within the day with a doubling wait: 1, 2, 4 ... minutes, at most an
hour between attempts, until it is accepted (docs/sma.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed call (1 for the first)."""
    if attempts < 1:
        raise ValueError(f"attempts counts the failed calls, from 1; got {attempts}")
    doublings = min(attempts - 1, 16)  # 2**16 minutes is far past the longest wait
    return min(LONGEST_WAIT, FIRST_WAIT * 2**doublings)


def retry_at(failed_at: datetime, attempts: int) -> datetime:
    """When the call that failed at ``failed_at`` (its ``attempts``-th try) goes again."""
    return failed_at + backoff(attempts)

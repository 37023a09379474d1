"""How long to leave alone what failed ``n`` times in a row: tenacity's capped exponential wait.

The agent schedules its own retries (a device's next poll, a bus's next open) on its clock,
so it takes tenacity's wait strategy only, not its retry loop. That strategy holds at the
cap however long the failures last, where the power written out overflows a float after
about a thousand of them (ten days of a silent meter at a 15-minute cap).
"""

from __future__ import annotations

from tenacity import RetryCallState, Retrying, wait_exponential

_NO_LOOP = Retrying()  # what a RetryCallState belongs to; the wait reads only the attempt number


def backoff_s(failures: int, initial_s: float, max_s: float, factor: float = 2.0) -> float:
    """``initial_s`` after the first failure, ``factor`` times longer after each further one,
    never more than ``max_s``; 0 for none."""
    if failures <= 0:
        return 0.0
    after = RetryCallState(retry_object=_NO_LOOP, fn=None, args=(), kwargs={})
    after.attempt_number = failures
    return float(wait_exponential(multiplier=initial_s, max=max_s, exp_base=factor)(after))

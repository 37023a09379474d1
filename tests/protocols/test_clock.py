import asyncio
from datetime import UTC, datetime

from protocols.clock import ManualClock, sleep_until


async def test_sleepers_wake_in_deadline_order_as_time_advances():
    clock = ManualClock("2026-11-28T13:00:00+00:00")
    woke: list[tuple[str, datetime]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now()))

    tasks = [asyncio.create_task(sleeper("b", 20)), asyncio.create_task(sleeper("a", 10))]
    await asyncio.sleep(0)
    assert clock.sleepers == 2
    await clock.run_for(15)
    assert woke == [("a", datetime(2026, 11, 28, 13, 0, 10, tzinfo=UTC))]
    await clock.run_for(10)
    await asyncio.gather(*tasks)
    assert [name for name, _ in woke] == ["a", "b"]
    assert clock.now() == datetime(2026, 11, 28, 13, 0, 25, tzinfo=UTC)


async def test_sleep_until_a_past_time_returns_at_once():
    clock = ManualClock("2026-11-28T13:00:00+00:00")
    await sleep_until(clock, datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    assert clock.sleepers == 0

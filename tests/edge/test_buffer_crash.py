"""Kill the writer at random instants: nothing committed is lost, nothing acknowledged comes back.

The writer (this file run as a script) appends poll cycles and acknowledges the oldest readings
in a loop, printing a line after each call returns. The test SIGKILLs it at a random moment,
reopens the buffer and checks it against what the writer had reported:

* every reading of a reported append is present, unless it was (possibly) being acknowledged;
* nothing reported as acknowledged is present;
* no reading appears twice, seqs increase in append order, and a seq never names another reading.
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge.buffer import Buffer, PolledReading
from protocols.uplink import Quality, Reading

T0 = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
VARIABLES = 20
ROUNDS = 8


def crash_cycle(round_no: int, number: int) -> list[PolledReading]:
    return [
        PolledReading(
            f"round-{round_no}", "OB-1", f"v{index}", T0 + timedelta(seconds=number), float(number), "L/s", Quality.GOOD
        )
        for index in range(VARIABLES)
    ]


def identity(reading: Reading) -> tuple[int, int, int]:
    """(round, cycle number, variable index): the order readings were appended in."""
    return (
        int(reading.device.removeprefix("round-")),
        int((reading.ts - T0).total_seconds()),
        int(reading.variable.removeprefix("v")),
    )


def write_until_killed(path: str, round_no: int) -> None:
    buffer = Buffer.open(path, max_mb=64)
    print("ready", flush=True)
    for number in itertools.count():
        buffer.append(crash_cycle(round_no, number))
        print(f"appended {number}", flush=True)
        if number % 3 == 2:
            oldest = buffer.pending(limit=VARIABLES)
            print("acking " + json.dumps([[reading.seq, identity(reading)] for reading in oldest]), flush=True)
            buffer.acknowledge(reading.seq for reading in oldest)
            print("acked", flush=True)


@dataclass
class Ledger:
    """What the writers reported, across rounds."""

    appended: set[tuple[int, int, int]] = field(default_factory=set)
    acked: set[tuple[int, int, int]] = field(default_factory=set)
    maybe_acked: set[tuple[int, int, int]] = field(default_factory=set)
    seq_of: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    last_number: dict[int, int] = field(default_factory=dict)

    def read(self, round_no: int, output: bytes) -> None:
        complete = output.decode().split("\n")[:-1]  # a line cut by the kill is not a report
        in_flight: set[tuple[int, int, int]] = set()
        for line in complete:
            verb, _, rest = line.partition(" ")
            if verb == "appended":
                number = int(rest)
                self.last_number[round_no] = number
                self.appended.update((round_no, number, index) for index in range(VARIABLES))
            elif verb == "acking":
                pairs = [(seq, tuple(key)) for seq, key in json.loads(rest)]
                self.seq_of.update(pairs)
                in_flight = {key for _, key in pairs}
                self.maybe_acked |= in_flight
            elif verb == "acked":
                self.acked |= in_flight


def run_round(path: Path, round_no: int, rng: random.Random) -> bytes:
    writer = subprocess.Popen([sys.executable, __file__, str(path), str(round_no)], stdout=subprocess.PIPE)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.2))
        writer.kill()
        output = writer.stdout.read()
    finally:
        writer.kill()
        writer.wait()
    return output


def check(path: Path, ledger: Ledger) -> None:
    with Buffer.open(path, max_mb=64) as buffer:
        present = buffer.pending(limit=1_000_000)
    keys = [identity(reading) for reading in present]
    assert keys == sorted(set(keys)), "a reading appears twice or seqs do not follow append order"
    assert not ledger.acked & set(keys), "an acknowledged reading came back"
    assert ledger.appended - ledger.maybe_acked <= set(keys), "a committed reading was lost"
    for reading, key in zip(present, keys, strict=True):
        assert ledger.seq_of.get(reading.seq, key) == key, f"seq {reading.seq} was reused"
        round_no, number, _ = key
        assert number <= ledger.last_number.get(round_no, -1) + 1, f"{key} was never appended"


def test_sigkill_at_random_instants_loses_nothing_and_acknowledges_nothing_twice(tmp_path: Path):
    path = tmp_path / "buffer.db"
    rng = random.Random(20261128)
    ledger = Ledger()
    for round_no in range(ROUNDS):
        ledger.read(round_no, run_round(path, round_no, rng))
        check(path, ledger)
    assert ledger.acked and ledger.appended - ledger.maybe_acked, "the writers did too little to prove anything"


if __name__ == "__main__":
    write_until_killed(sys.argv[1], int(sys.argv[2]))

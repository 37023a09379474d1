"""``make soak``: the fault scenarios of tests/faults at soak sizes, with the figures printed.

    python -m tests.faults.soak                       # 200 agent kills, 10 min of proxy chaos, ...
    python -m tests.faults.soak --kills 20 --chaos-s 60 --backlog 100000   # a shorter run

Each scenario gets a fresh agent and buffer on one shared server, meter and proxy, counts
its run exactly (:mod:`tests.faults.ledger`) and prints one line of figures. The exit status
is 1 when any run lost, doubled or invented a reading. Needs the PostgreSQL the tests use
(``CAUDAL_TEST_POSTGRES_URL``, default the machine's on 127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.faults.ledger import Tally
from tests.faults.rig import Rig, rig
from tests.faults.scenarios import (
    SEED,
    Outcome,
    agent_kills,
    backlog_kills,
    central_restarts,
    connection_kills,
    proxy_chaos,
)
from tests.pg import ADMIN_URL

Scenario = Callable[[Rig, random.Random], Outcome]


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make soak", description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200, help="kill -9 of the polling agent")
    parser.add_argument("--restarts", type=int, default=30, help="kill -9 and restart of the central server")
    parser.add_argument(
        "--connection-rounds", type=int, default=100, help="rounds of pg_terminate_backend on the server's connections"
    )
    parser.add_argument("--chaos-s", type=float, default=600, help="seconds of random proxy faults (and agent kills)")
    parser.add_argument(
        "--chaos-window-s",
        type=float,
        default=40,
        help="longest fault window (past 30 s a black hole meets the agent's HTTP timeout)",
    )
    parser.add_argument("--backlog", type=int, default=1_000_000, help="readings waiting in the buffer at start")
    parser.add_argument(
        "--backlog-kills", type=int, default=20, help="kill -9 of the agent while it drains the backlog"
    )
    parser.add_argument("--seed", type=int, default=SEED, help="seed of every random fault instant")
    return parser.parse_args(argv)


def scenarios(args: argparse.Namespace) -> list[tuple[str, Scenario]]:
    return [
        ("agent-kills", lambda r, rng: agent_kills(r, rng, args.kills)),
        ("central-restarts", lambda r, rng: central_restarts(r, rng, args.restarts)),
        ("connection-kills", lambda r, rng: connection_kills(r, rng, args.connection_rounds)),
        ("proxy-chaos", lambda r, rng: proxy_chaos(r, rng, args.chaos_s, (0.5, args.chaos_window_s), 0.2)),
        ("backlog", lambda r, rng: backlog_kills(r, rng, args.backlog, args.backlog_kills)),
    ]


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="caudal-soak-") as folder, rig(ADMIN_URL, Path(folder)) as shared:
        for name, run in scenarios(args):
            running = shared.with_new_agent(Path(folder) / name)
            outcome = run(running, random.Random(f"{args.seed}:{name}"))
            clean = outcome.tally == Tally.clean(outcome.tally.produced)
            print(("ok   " if clean else "FAIL ") + outcome.figures(), flush=True)
            if not clean:
                failures += 1
                print(f"     {outcome.tally}\n{running.logs()}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Many gateways' small batches stored in one transaction (group commit), each answered alone.

A fleet's gateways send a 30-reading batch a minute each. Stored one per transaction, each
batch paid BEGIN, the INSERT, the latest readings, the rollup marks and COMMIT, each a
statement the driver prepares, sends and reads back (``benchmarks/bench_fleet.py``): most of
a batch's cost was those statements, not its readings. :func:`ingest_group` looks up the
tokens of a whole group and their gateways' states in one query
(:func:`~central.telemetry.ingest_state.states_by_token`), checks each batch as
:func:`~central.telemetry.ingest.ingest` does, then writes the admitted ones' rows, latest
readings and marks as one statement each and commits once: two round trips for the group,
whatever its size, a group of one included (``tests/central/test_ingest_group_db.py`` counts
them), where a batch stored alone pays three. Under a fleet's load that is half the CPU per
batch (``benchmarks/RESULTS.md``, "Figures cited by the code").

Each upload keeps its own outcome. One that is refused (bad token, malformed batch, a point
not its gateway's) is that upload's answer and writes nothing; the others are stored. Only
PostgreSQL's small new batches ride a group (what :func:`~central.telemetry.ingest.rides_pipeline`
accepts); any other upload is stored alone, by :func:`~central.telemetry.ingest.ingest_parsed`,
after the group. If the group's transaction fails on its data (a reading already stored:
a resend; a value the column refuses), nothing of it is stored and every upload is stored
alone, as if no group had formed: a resend then counts its duplicates as always. Any other
database error is every upload's answer. An outcome exists only once the transaction has
committed, so a gateway is acknowledged for what is stored and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple

from central.core.auth.models import Gateway
from central.core.auth.service import gateway_for_token
from central.crypto import token_hash
from central.db import Connection, Database, DataError, IntegrityError
from central.telemetry.ingest import (
    Admitted,
    IngestResult,
    admitted,
    checked,
    ingest_parsed,
    insert_pipelined,
    measured_count,
    nothing_stored,
    parse_or_rejection,
    point_ids_of,
    record_config_report,
    record_contact,
    record_effects,
    rides_pipeline,
)
from central.telemetry.ingest_state import GatewayState, states_by_token
from central.telemetry.parse import BatchRejected, ParsedBatch
from central.telemetry.processing import Processed


class Upload(NamedTuple):
    """One request's batch: its token, the request's verdict on it, its body and arrival.

    ``verdict`` gets the gateway the token was found to be (None: unknown or revoked) and
    returns it or raises (a 401, or the request's own checks): looked up alone or with a
    group's tokens, a token gets the same answer."""

    token: str
    verdict: Callable[[Gateway | None], Gateway]
    body: bytes
    now: datetime

    def authenticate(self, conn: Connection) -> Gateway:
        """The token looked up alone, on the upload's own transaction."""
        return self.verdict(gateway_for_token(conn, self.token))


Outcome = IngestResult | Exception  # the upload's result, or what its request raises
_Member = tuple[int, Upload, ParsedBatch]  # an upload that rides the group, by its index
_Passed = tuple[int, Upload, Gateway, ParsedBatch]  # an upload whose token and batch passed


def ingest_group(
    db: Database, uploads: Sequence[Upload], tolerance_s: float, *, mark_alerts: bool = False
) -> list[Outcome]:
    """Store ``uploads``, the small new ones in one transaction; each one's outcome, in order.
    A token's second upload is stored alone, after the group (see :func:`_members`)."""
    parsed = [parse_or_rejection(upload.body) for upload in uploads]
    outcomes: list[Outcome | None] = [None] * len(uploads)
    members = _members(db, uploads, parsed)
    if members:
        try:
            _store_together(db, members, tolerance_s, mark_alerts, outcomes)
        except (IntegrityError, DataError):
            for index, _, _ in members:  # nothing of the group is stored: each is stored alone below
                outcomes[index] = None
    return [
        _alone(db, upload, parsed[index], tolerance_s, mark_alerts) if outcome is None else outcome
        for index, (upload, outcome) in enumerate(zip(uploads, outcomes, strict=True))
    ]


def _members(db: Database, uploads: Sequence[Upload], parsed: list[ParsedBatch | BatchRejected]) -> list[_Member]:
    """The uploads that ride the group: small new batches, one per token (a second one would
    read its gateway's state without the first's rows)."""
    tokens: set[str] = set()
    members = []
    for index, (upload, batch) in enumerate(zip(uploads, parsed, strict=True)):
        if isinstance(batch, ParsedBatch) and rides_pipeline(db, batch) and upload.token not in tokens:
            tokens.add(upload.token)
            members.append((index, upload, batch))
    return members


def _alone(
    db: Database, upload: Upload, parsed: ParsedBatch | BatchRejected, tolerance_s: float, mark_alerts: bool
) -> Outcome:
    try:
        return ingest_parsed(db, upload.authenticate, parsed, upload.now, tolerance_s, mark_alerts=mark_alerts)
    except Exception as raised:  # the upload's own answer (its request raises it)
        return raised


def _store_together(
    db: Database,
    members: list[_Member],
    tolerance_s: float,
    mark_alerts: bool,
    outcomes: list[Outcome | None],
) -> None:
    """One pipelined transaction: the members' tokens and their gateways' states in one query,
    then one INSERT of all the admitted rows, the latest readings and marks of all of them,
    each gateway's contact and COMMIT."""
    with db.transaction(pipelined=True) as conn:
        found = _found(conn, members)
        known = {token: gateway for token, (gateway, _) in found.items()}
        passed = _passed(members, known, tolerance_s, outcomes)
        entries = _admitted(passed, {gateway.id: state for gateway, state in found.values()}, outcomes)
        rows = [row for *_, own in entries for row in own]
        stored = insert_pipelined(conn, rows) if rows else nothing_stored()
        with conn.pipeline():
            record_effects(conn, stored, mark_alerts=mark_alerts)
            for _, upload, entry, _ in entries:
                record_contact(conn, entry.gateway.id, entry.batch, upload.now)
        for _, upload, entry, _ in entries:
            record_config_report(conn, entry, upload.now)
    for index, _, entry, own in entries:  # every row was new: the INSERT fails on any known one
        outcomes[index] = entry.answer(measured_count(own), point_ids_of(own), own)


def _found(conn: Connection, members: list[_Member]) -> dict[str, tuple[Gateway, GatewayState]]:
    """The gateway of each member's token (unrevoked) and its state, by token."""
    tokens: dict[str, str] = {}
    batches: dict[str, ParsedBatch] = {}
    for _, upload, batch in members:
        digest = token_hash(upload.token)
        tokens[digest], batches[digest] = upload.token, batch
    return {tokens[digest]: found for digest, found in states_by_token(conn, batches).items()}


def _passed(
    members: list[_Member],
    known: dict[str, Gateway],
    tolerance_s: float,
    outcomes: list[Outcome | None],
) -> list[_Passed]:
    """The members whose token and batch pass; each other one's refusal is its outcome."""
    passed = []
    for index, upload, parsed in members:
        try:
            gateway = upload.verdict(known.get(upload.token))
            passed.append((index, upload, gateway, checked(parsed, gateway, upload.now, tolerance_s)))
        except Exception as refused:  # its answer (no statement ran: the transaction goes on)
            outcomes[index] = refused
    return passed


def _admitted(
    passed: list[_Passed], states: dict[int, GatewayState], outcomes: list[Outcome | None]
) -> list[tuple[int, Upload, Admitted, list[Processed]]]:
    """The passed members whose points are their gateway's, with their rows; the others refused (403)."""
    entries = []
    for index, upload, gateway, batch in passed:
        try:
            entry = admitted(gateway, batch, states[gateway.id], upload.now)
        except BatchRejected as refused:
            outcomes[index] = refused
            continue
        entries.append((index, upload, entry, list(entry.rows)))
    return entries

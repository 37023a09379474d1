"""Send the buffer to the central server, oldest first, deleting only what a 2xx reply covered.

The uploader never owns the buffer (the agent does) and never re-stamps a reading: a resend
carries the original ``ts`` and the server's ingest is idempotent on (point, variable, ts), so
"stored, but the reply was lost" just becomes duplicates on the next attempt (field note 10).

Failure policy, one place to read it:

* transport error, timeout, 5xx, 4xx other than the ones below: exponential backoff with full
  jitter (1 s .. 5 min), nothing deleted; the server's message is logged.
* 429/503: wait what ``Retry-After`` says (seconds or an HTTP date, at most an hour).
* 413: halve the batch size (for good: the server's limit does not change under us) and retry
  at once; a single reading refused as too large backs off like any 4xx.
* a 2xx whose readings the buffer cannot delete (the disk is full even after its reserve):
  backoff like a failure; the resend is stored once by the server.
* 403 naming points not assigned to this gateway: hold those points' readings back in the
  buffer (:mod:`edge.held`), log one ERROR at once and send the others now.
* 422 naming readings (dated before 2000 or a day ahead of the server): move them to the
  buffer's ``.setaside`` file (:mod:`edge.setaside`), log one ERROR and send the others now.
* 401/403: the token or the point assignment is wrong; retrying soon will not help. Log one
  ERROR, record ``stopped_reason``, re-check every 10 minutes; never exit, never hot-loop.

What each reply means is decided by :mod:`edge.uplinkreply` (pure); this module acts on it.
All waiting goes through the :class:`~protocols.clock.Clock`; only the per-request timeout is
real time (it bounds real I/O).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type
from tenacity.wait import wait_random_exponential

from edge.batchbody import BatchBody
from edge.buffer import Buffer, is_full
from edge.bufferrows import from_us
from edge.held import HeldPoints, refused_points
from edge.http import HttpReply, HttpTransport, Transport, UplinkError
from edge.inflight import Flight, ReadBatch, drop
from edge.setaside import SetAside, refused_readings, setaside_path
from edge.uplinkreply import REFUSED_RECHECK_S, UploadFailed, UploadRefused, classify, server_message
from edge.waiting import wait_first
from protocols.clock import Clock
from protocols.uplink import INGEST_PATH, MAX_BATCH_READINGS, AgentStatus, ConfigReport, IngestReply

log = logging.getLogger("caudal.edge.uploader")

BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 300.0
UNEXPECTED_ERROR_WAIT_S = 60.0


@dataclass
class UploaderState:
    """What ``caudal edge status`` shows about the uplink."""

    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    uploaded_total: int = 0
    stopped_reason: str | None = None  # set on 401/403 until a later upload is accepted
    held: str | None = None  # points whose readings are held back (see edge.held), until accepted


class Uploader:
    """Drains the buffer to ``{central_url}/api/v1/ingest``; see the module docstring for the policy."""

    url: str  # set by retarget()
    heartbeat_s: float

    def __init__(
        self,
        *,
        gateway: str,
        central_url: str,
        token: str,
        buffer: Buffer,
        clock: Clock,
        version: str,
        ca_bundle: Path | None = None,
        batch_size: int = MAX_BATCH_READINGS,
        heartbeat_s: float = 60,
        clock_synced: Callable[[], bool] = lambda: True,
        transport: Transport | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_READINGS:
            raise ValueError(
                f"batch_size de la subida debe estar entre 1 y {MAX_BATCH_READINGS}, se recibió {batch_size}"
            )
        self.gateway, self.version, self.buffer, self.clock = gateway, version, buffer, clock
        self.retarget(central_url, heartbeat_s)
        self.batch_size = batch_size
        self.state = UploaderState()
        self._clock_synced = clock_synced
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "User-Agent": f"caudal-edge/{version}",
        }
        self._owns_transport = transport is None
        self._transport = transport if transport is not None else HttpTransport(ca_bundle=ca_bundle)
        self._wake = asyncio.Event()
        self._next: ReadBatch | None = None  # read while the previous batch was in flight
        self._flight: Flight | None = None  # sent ahead by the last accepted batch (see _send_ahead)
        self.held = HeldPoints()
        self.set_aside = SetAside(setaside_path(buffer.path))
        # told the configuration version each accepted reply names (edge.managed fetches a new one)
        self.on_config_version: Callable[[int | None], None] = lambda version: None
        self.config_status: Callable[[], ConfigReport | None] = lambda: None  # what every upload reports
        self._backoff = wait_random_exponential(multiplier=BACKOFF_MIN_S, min=BACKOFF_MIN_S, max=BACKOFF_MAX_S)

    def retarget(self, central_url: str, heartbeat_s: float) -> None:
        """Point the uploads at ``central_url`` and heartbeat every ``heartbeat_s`` from the next
        attempt on (a reload); the session and its headers stay as they are."""
        if heartbeat_s <= 0:
            raise ValueError(f"heartbeat_s de la subida debe ser positivo, se recibió {heartbeat_s}")
        self.url = central_url.rstrip("/") + INGEST_PATH
        self.heartbeat_s = heartbeat_s

    def wake(self) -> None:
        """New readings are in the buffer: upload now instead of at the next heartbeat."""
        self._wake.set()

    def has_sendable(self) -> bool:
        """Readings wait in the buffer that the next upload would send (held ones do not count)."""
        return bool(self.buffer.pending_rows(1, skip_points=self.held.points))

    async def upload_once(self) -> int:
        """Send one batch (a heartbeat when the buffer is empty); returns how many were acknowledged.

        While the batch is in flight the next one is read and compressed (:class:`BatchBody`); once
        this one is accepted that one is sent at once, before this one is deleted (:meth:`_send_ahead`).
        Raises :class:`UploadFailed` (or :class:`UploadRefused`) when the server did not accept it.
        """
        self._wake.clear()
        flight = self._take_flight(self.held.current(self.clock.now()))
        try:
            await flight.on_its_way()
            following = self._prepare_following(flight.skipped, flight.body)
            reply = await flight.reply
            self._check(reply, flight.body)
            await self._send_ahead(flight.body, following)
            return self._acknowledge(flight.body, reply)
        finally:
            flight.reply.cancel()  # a no-op once answered; a stop or a failed read must not leave it running

    def _take_flight(self, skipped: frozenset[str]) -> Flight:
        """The batch sent ahead by the last accepted one (:meth:`_send_ahead`), else one sent now."""
        flight, self._flight = self._flight, None
        if flight is not None and flight.skipped == skipped:
            return flight
        drop(flight)
        batch, self._next = self._next, None
        if batch is None or batch[0] != skipped:
            batch = (
                skipped,
                BatchBody(self.buffer.pending_rows(self.batch_size, skip_points=skipped), whole=not skipped),
            )
        return self._send(*batch, self._agent_status())

    def _send(self, skipped: frozenset[str], body: BatchBody, status: AgentStatus) -> Flight:
        self.state.last_attempt = sent_at = self.clock.now()
        sent = asyncio.Event()
        reply = asyncio.ensure_future(self._post(body.gzip(self.gateway, sent_at, status), len(body.rows), sent.set))
        return Flight(skipped, body, reply, sent)

    async def _send_ahead(self, accepted: BatchBody, following: ReadBatch | None) -> None:
        """Send a whole ``following`` before deleting ``accepted``: the server stores it while the buffer
        deletes and syncs. Its status is known then: ``accepted`` gone, its own first reading the oldest."""
        if following is None or not (accepted.whole and following[1].whole and following[1].rows):
            self._next = following
            return
        self._flight = flight = self._send(*following, self._agent_status(len(accepted.rows), following[1].rows[0][4]))
        await flight.on_its_way()

    def _prepare_following(self, skipped: frozenset[str], body: BatchBody) -> ReadBatch | None:
        """The batch after ``body`` (None after a partial one: nothing more was waiting)."""
        if len(body.rows) < self.batch_size:
            return None
        return skipped, BatchBody(
            self.buffer.pending_rows(self.batch_size, skip_points=skipped, after_seq=body.last_seq), whole=not skipped
        )

    def _check(self, reply: HttpReply, body: BatchBody) -> None:
        """A reply to ``body`` that is not a 2xx: hold refused points, set aside readings, or raise."""
        self._hold_refused_points(reply)
        self._set_aside_refused_readings(reply, body)
        failure = classify(reply, self.clock.now(), len(body.rows))
        if failure is not None:
            self._note_failure(failure, reply.status, len(body.rows))
            raise failure

    def _acknowledge(self, body: BatchBody, reply: HttpReply) -> int:
        try:
            acknowledged = self._accept(body, reply)
        except BaseException:
            drop(self._flight)  # the resend starts from the readings the buffer still holds
            self._flight = None
            raise
        if not self.held.points:
            self.state.held = None
        return acknowledged

    def _hold_refused_points(self, reply: HttpReply) -> None:
        """A 403 naming points not held yet: hold their readings back (:mod:`edge.held`), say so
        loudly at once, and raise :class:`UploadFailed` asking to retry the other points' readings now."""
        new = self.held.hold(refused_points(reply), self.clock.now())
        if not new:
            return
        held = ", ".join(sorted(self.held.points))
        self.state.held = f"lecturas retenidas de los puntos {held}: el servidor central las rechaza para este gateway"
        log.error(
            "el servidor central rechaza los puntos %s del gateway %s (%s); sus lecturas quedan en el buffer y se"
            " ofrecen de nuevo cada %g s, las de los demás puntos siguen subiendo. Corrija point: en site.yaml"
            " (caudal edge check --online) o los puntos del gateway en el servidor",
            ", ".join(sorted(new)),
            self.gateway,
            server_message(reply.body),
            self.held.recheck.total_seconds(),
        )
        raise UploadFailed(f"HTTP 403: lecturas de los puntos {held} retenidas", retry_after=0.0)

    def _set_aside_refused_readings(self, reply: HttpReply, body: BatchBody) -> None:
        """A 422 naming readings of ``body``: keep them in the ``.setaside`` file, delete them from the
        buffer, say so once, and raise :class:`UploadFailed` asking to send the others now."""
        reasons = refused_readings(reply)
        rows = [row for row in body.rows if row[0] in reasons]
        if not rows:
            return
        try:
            self.set_aside.keep(rows, reasons, self.clock.now())
        except OSError as exc:
            raise UploadFailed(
                f"HTTP 422: no se pueden apartar {len(rows)} lecturas rechazadas en"
                f" {self.set_aside.path}: {exc.strerror or exc}"
            ) from exc
        self._delete([row[0] for row in rows], reply.status)
        first = rows[0]
        log.error(
            "el servidor central rechaza para siempre %d lecturas del gateway %s (primera: seq %d, %s/%s: %s);"
            " apartadas en %s (%d en total, informadas con las perdidas), las demás lecturas siguen",
            len(rows),
            self.gateway,
            first[0],
            first[1],
            first[3],
            reasons[first[0]],
            self.set_aside.path,
            self.set_aside.total,
        )
        raise UploadFailed(f"HTTP 422: {len(rows)} lecturas apartadas", retry_after=0.0)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set: drain the backlog, then wait for :meth:`wake` or the heartbeat.

        ``stop`` interrupts a backoff or a request in flight at once: that is safe, because
        nothing is deleted before a 2xx and the deletion itself has no await inside it.
        """
        try:
            while not stop.is_set():
                try:
                    await wait_first(self._upload_with_retries(), stop.wait())
                except Exception:  # a broken buffer or a bug must not end the uplink for good
                    log.exception("subida: error inesperado; se reintenta en %g s", UNEXPECTED_ERROR_WAIT_S)
                    await wait_first(self.clock.sleep(UNEXPECTED_ERROR_WAIT_S), stop.wait())
                    continue
                if not stop.is_set() and not self.has_sendable():
                    await wait_first(self._wake.wait(), stop.wait(), self.clock.sleep(self.heartbeat_s))
        finally:
            await self.close()

    async def close(self) -> None:
        """Cancel a batch sent ahead, close the HTTP session if this uploader created it."""
        drop(self._flight)
        self._flight = None
        if self._owns_transport:
            await self._transport.close()

    def _agent_status(self, deleting: int = 0, oldest_us: int | None = None) -> AgentStatus:
        """The buffer's figures; ``deleting`` readings about to leave it, ``oldest_us`` then its oldest."""
        stats = self.buffer.stats()
        oldest_ts = stats.oldest_ts if oldest_us is None else from_us(oldest_us)
        oldest = None if oldest_ts is None else max(0.0, (self.clock.now() - oldest_ts).total_seconds())
        return AgentStatus(
            version=self.version,
            buffer_depth=stats.depth - deleting,
            oldest_unsent_s=oldest,
            dropped_total=stats.dropped_total + self.set_aside.total,
            clock_synced=self._clock_synced(),
            config=self.config_status(),
        )

    async def _post(self, body: bytes, batch_len: int, sent: Callable[[], object]) -> HttpReply:
        try:
            return await self._transport.post(self.url, body, self._headers, sent)
        except UplinkError as exc:
            failure = UploadFailed(str(exc))
            self._note_failure(failure, None, batch_len)
            raise failure from exc

    def _note_failure(self, failure: UploadFailed, status: int | None, batch_len: int) -> None:
        """One log line per failed attempt; a refusal is logged as ERROR once, then quietly re-checked."""
        self.state.last_error = str(failure)
        if isinstance(failure, UploadRefused):
            if self.state.stopped_reason is None:
                log.error(
                    "subidas detenidas: el servidor rechazó al gateway %s (%s); revise su token y sus puntos;"
                    " se vuelve a probar cada %g s",
                    self.gateway,
                    failure,
                    REFUSED_RECHECK_S,
                )
            self.state.stopped_reason = str(failure)
            return
        if status == 413 and batch_len > 1:
            self.batch_size = max(1, batch_len // 2)
            log.warning(
                "subida de %d lecturas demasiado grande (%s); lotes ahora de %d", batch_len, failure, self.batch_size
            )
            return
        log.warning("falló la subida de %d lecturas: %s", batch_len, failure)

    def _accept(self, body: BatchBody, reply: HttpReply) -> int:
        """A 2xx covers the whole batch: delete exactly its seqs, then record the success."""
        readings = body.rows
        acknowledged = self._delete(body.seqs, reply.status, whole=body.whole)
        try:
            ingest = IngestReply.model_validate_json(reply.body)
            log.debug(
                "subidas %d lecturas (guardadas %d, duplicadas %d)", len(readings), ingest.stored, ingest.duplicates
            )
            self.on_config_version(ingest.config_version)
        except ValidationError:
            log.warning(
                "subida de %d lecturas aceptada (HTTP %d) con una respuesta inesperada: %s",
                len(readings),
                reply.status,
                server_message(reply.body),
            )
        if self.state.stopped_reason is not None or self.state.last_error is not None:
            log.info("subidas reanudadas tras: %s", self.state.stopped_reason or self.state.last_error)
        self.state.last_success = self.clock.now()
        self.state.uploaded_total += acknowledged
        self.state.last_error = self.state.stopped_reason = None
        return acknowledged

    def _delete(self, seqs: list[int], status: int, *, whole: bool = False) -> int:
        """Delete the batch's seqs (their range when they are ``whole``, see :class:`BatchBody`); a
        disk too full even for that fails the upload (sent again later)."""
        try:
            if whole and seqs:
                return self.buffer.acknowledge_range(seqs[0], seqs[-1])
            return self.buffer.acknowledge(seqs)
        except sqlite3.OperationalError as exc:
            if not is_full(exc):
                raise
            failure = UploadFailed(
                f"el servidor tiene las {len(seqs)} lecturas, pero el disco lleno no deja borrarlas"
                " del buffer; se envían de nuevo más tarde (el servidor las guarda una sola vez)"
            )
            self._note_failure(failure, status, len(seqs))
            raise failure from exc

    async def _upload_with_retries(self) -> int:
        """``upload_once`` until accepted, waiting between attempts on the clock (see :meth:`_wait`)."""
        retrying = AsyncRetrying(sleep=self.clock.sleep, wait=self._wait, retry=retry_if_exception_type(UploadFailed))
        return await retrying(self.upload_once)

    def _wait(self, retry_state: RetryCallState) -> float:
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(failure, UploadFailed) and failure.retry_after is not None:
            return failure.retry_after
        return self._backoff(retry_state)

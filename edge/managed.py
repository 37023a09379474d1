"""The gateway's configuration from the central server (issue 18), applied without SSH.

With ``gateway.config_source: central`` the agent asks the server for the configuration
published for it, with its own token, at start and whenever an upload reply names another
version (no new port: the uploads' host and proxies). It validates the document with the
same code as ``caudal edge check``; an invalid one is refused and the agent keeps what it
runs. A valid one replaces the buses and devices through the reload path (:mod:`edge.reload`:
the buffer is never touched) while the gateway section (token file, TLS, buffer) stays the
local one. If after applying it no device answers for ``gateway.rollback_cycles`` poll cycles
(3 unless set), the configuration that ran before is restored and that version is not tried
again. Every outcome travels to the server in the agent status of the next batch or heartbeat
(:class:`protocols.uplink.ConfigReport`) and is shown by ``caudal edge status``. With
``config_source: local`` (the default) the agent only reports that it runs its local
``site.yaml``.

The last applied document is kept beside the buffer (``<buffer>.central.json``) so that a
restart without network runs it rather than the local file's buses and devices.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from edge.http import HttpTransport, Transport, UplinkError
from edge.poller import Poller
from edge.reload import Reloader
from edge.uplinkreply import server_message
from protocols.siteconfig import ConfigError, SiteConfig, parse_managed_config
from protocols.uplink import CONFIG_PATH, ConfigReport, PublishedConfig

log = logging.getLogger("caudal.edge.managed")


def central_store_path(buffer_path: Path) -> Path:
    return buffer_path.with_name(buffer_path.name + ".central.json")


def document_name(version: int) -> Path:
    """How a received document is named in errors: like a file, as ``caudal edge check`` names it."""
    return Path(f"central-v{version}.yaml")


def stored_central(site: SiteConfig) -> tuple[int, str, SiteConfig] | None:
    """The last central version applied on this gateway (its number, document, and ``site`` with it);
    None if none, or if it cannot be read."""
    try:
        kept = json.loads(central_store_path(Path(site.gateway.buffer_path)).read_text(encoding="utf-8"))
        version, document = int(kept["version"]), str(kept["document"])
        return version, document, site.managed(parse_managed_config(document, document_name(version)))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, ConfigError) as exc:
        log.warning("se ignora la configuración central guardada: %s", exc)
        return None


@dataclass
class Trial:
    """A version just applied: rolled back to ``previous`` if no device answers for a while."""

    version: int
    previous: SiteConfig
    previous_version: int | None
    previous_document: str | None
    boundary: datetime | None  # the latest tick started under the previous configuration
    first_tick: datetime | None = None  # the first tick started under this one
    cycles: int = 0


class ConfigSync:
    """Fetches, validates, applies, watches and reports the gateway's central configuration."""

    def __init__(
        self,
        *,
        site: SiteConfig,
        token: str,
        reloader: Reloader,
        poller: Poller,
        running: tuple[int, str] | None = None,
        transport: Transport | None = None,
    ) -> None:
        gateway = site.gateway
        self.central = gateway.config_source == "central"
        self.rollback_cycles = gateway.rollback_cycles
        self.reloader, self.poller = reloader, poller
        self.base = gateway.central_url.rstrip("/")
        self.store = central_store_path(Path(gateway.buffer_path))
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._transport = transport if transport is not None else HttpTransport(ca_bundle=gateway.ca_bundle)
        self.running_version, self.running_document = running if running is not None else (None, None)
        self.result = (
            f"running stored central version {self.running_version}"
            if running is not None
            else "running the local site.yaml"
        )
        self.refused: set[int] = set()
        self.published_version: int | None = None  # as the last upload reply named it
        self.trial: Trial | None = None
        self._rolling_back: asyncio.Task[None] | None = None  # referenced, so it is not collected mid-way
        self.wanted = asyncio.Event()
        self._report = self._outcome()

    def status(self) -> ConfigReport:
        """What the agent runs, for the agent status of the next batch or heartbeat: the version
        and result of the last outcome, so a version being applied is not reported as running
        before the reload has finished."""
        return self._report

    def offer(self, version: int | None) -> None:
        """An upload reply named ``version`` as published: fetch it if it is new to this gateway."""
        self.published_version = version
        if self.central and version is not None and version != self.running_version and version not in self.refused:
            self.wanted.set()

    async def run(self) -> None:
        """Sync at start, then each time :meth:`offer` asks (never with ``config_source: local``);
        runs until cancelled, as every helper task of the agent does."""
        if self.central:
            self.wanted.set()
        try:
            while True:
                await self.wanted.wait()
                self.wanted.clear()
                try:
                    await self.sync_once()
                except Exception:  # a bug here must not stop polling and uploading
                    log.exception(
                        "falló la sincronización de la configuración; se reintenta con la próxima"
                        " respuesta a una subida"
                    )
        finally:
            await self._transport.close()

    async def sync_once(self) -> None:
        published = await self._fetch()
        if published is None or published.version is None or published.document is None:
            return
        version = published.version
        if version == self.running_version or version in self.refused:
            return
        try:
            document = parse_managed_config(published.document, document_name(version))
        except ConfigError as exc:
            self._refuse(version, exc)
            return
        await self._apply(version, self.reloader.config.managed(document), published.document)

    def cycle_done(self) -> None:
        """After each poll cycle: a trial passes once a device answers; fails after ``rollback_cycles``."""
        trial, started = self.trial, self.poller.last_tick
        if trial is None or started is None or (trial.boundary is not None and started <= trial.boundary):
            return  # a tick that began before the swap says nothing about this configuration
        trial.first_tick = trial.first_tick or started
        if any(d.counters.last_ok is not None and d.counters.last_ok >= trial.first_tick for d in self.poller.devices):
            self.trial = None
            return
        trial.cycles += 1
        if trial.cycles >= self.rollback_cycles:
            self.trial = None
            self._rolling_back = asyncio.get_running_loop().create_task(self._roll_back(trial), name="config-rollback")

    async def _fetch(self) -> PublishedConfig | None:
        try:
            reply = await self._transport.get(self.base + CONFIG_PATH, self._headers)
        except UplinkError as exc:
            log.warning("no se puede obtener la configuración del servidor central: %s", exc)
            return None
        if reply.status != 200:
            log.warning("al obtener la configuración: HTTP %d: %s", reply.status, server_message(reply.body))
            return None
        try:
            return PublishedConfig.model_validate_json(reply.body)
        except ValidationError:
            log.warning("al obtener la configuración: respuesta inesperada %s", server_message(reply.body))
            return None

    def _refuse(self, version: int, error: ConfigError) -> None:
        self.refused.add(version)
        for problem in error.problems:
            log.error("configuración central rechazada: %s", problem)
        problems = "; ".join(str(problem) for problem in error.problems)
        self._set_result(f"refused version {version}, still running {self._running_name()}: {problems}")

    async def _apply(self, version: int, config: SiteConfig, document: str) -> None:
        # the trial starts with the swap, not after the retired buses have closed (that may take seconds)
        self.trial = Trial(
            version, self.reloader.config, self.running_version, self.running_document, self.poller.last_tick
        )
        self.running_version, self.running_document = version, document
        await self.reloader.apply(config, f"la versión central {version}")
        self._keep(version, document)
        self._set_result(f"applied version {version}")

    async def _roll_back(self, trial: Trial) -> None:
        log.error(
            "versión %d de la configuración central: ningún equipo respondió en %d ciclos de lectura tras"
            " aplicarla; se vuelve a la anterior",
            trial.version,
            trial.cycles,
        )
        self.refused.add(trial.version)
        self.running_version, self.running_document = trial.previous_version, trial.previous_document
        if trial.previous_version is None or trial.previous_document is None:
            self.store.unlink(missing_ok=True)
        else:
            self._keep(trial.previous_version, trial.previous_document)
        self._set_result(
            f"rolled back from version {trial.version} (no device answered in {trial.cycles} poll"
            f" cycles), running {self._running_name()}"
        )
        await self.reloader.apply(trial.previous, "la configuración anterior a la vuelta atrás")

    def _running_name(self) -> str:
        return f"version {self.running_version}" if self.running_version else "the local site.yaml"

    def _keep(self, version: int, document: str) -> None:
        temporary = self.store.with_name(self.store.name + ".tmp")
        try:
            temporary.write_text(json.dumps({"version": version, "document": document}), encoding="utf-8")
            os.replace(temporary, self.store)
        except OSError as exc:
            log.warning(
                "no se puede guardar la versión %d de la configuración central en %s (%s): tras un reinicio"
                " corre el archivo local hasta que el servidor responda",
                version,
                self.store,
                exc.strerror or exc,
            )

    def _outcome(self) -> ConfigReport:
        return ConfigReport(
            source="central" if self.central else "local",
            running_version=self.running_version,
            result=self.result[:2000],
        )

    def _set_result(self, result: str) -> None:
        self.result = result
        self._report = self._outcome()
        log.info("configuración: %s", result)

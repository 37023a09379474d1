"""Applying a re-read ``site.yaml`` to the running agent (``systemctl reload caudal-edge``: SIGHUP).

A reload changes what changed and nothing else. An invalid file changes nothing: every
problem is logged (file:line:field) and the agent keeps polling with the configuration it
has. A valid one is applied in one step: buses with an identical definition keep their open
port (:mod:`edge.links`), the poller's schedule is rebuilt (:meth:`Poller.reconfigure`), and
the uploader picks up a new central URL or heartbeat.

The buffer is never closed or reopened by a reload (docs/meters.md §5: its life is the
process's, independent of reloads and reconnects). So what names the buffer or the process
(``gateway.id``, ``buffer_path``, ``buffer_max_mb``) and what the uploader built its HTTP
session and headers from (``token_file``, ``ca_bundle``) is not applied live: the reload
says a restart is needed for it and applies the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.config import ConfigError, GatewayConfig, SiteConfig, load_site_config
from edge.links import SHUTDOWN_WAIT_S, BusChanges, BusLinks
from edge.poller import Poller
from edge.systemd import Notifier, watchdog_warning
from edge.uploader import Uploader

log = logging.getLogger(__name__)

RESTART_ONLY = ("id", "buffer_path", "buffer_max_mb", "token_file", "ca_bundle")


@dataclass(frozen=True)
class DeviceChanges:
    """What a reload does to the devices, by name."""

    added: list[str]
    changed: list[str]
    removed: list[str]


def device_changes(running: SiteConfig, wanted: SiteConfig) -> DeviceChanges:
    before = {device.name: device for device in running.devices}
    after = {device.name for device in wanted.devices}
    return DeviceChanges(
        added=[device.name for device in wanted.devices if device.name not in before],
        changed=[device.name for device in wanted.devices if device.name in before and before[device.name] != device],
        removed=[device.name for device in running.devices if device.name not in after],
    )


def live_gateway(running: GatewayConfig, wanted: GatewayConfig) -> tuple[GatewayConfig, list[str]]:
    """The gateway section to run with after a reload, and the changed fields that need a restart
    (those keep their running value)."""
    refused = [name for name in RESTART_ONLY if getattr(running, name) != getattr(wanted, name)]
    return wanted.model_copy(update={name: getattr(running, name) for name in refused}), refused


def log_config_warnings(config: SiteConfig, notifier: Notifier) -> None:
    """What works but deserves a look (plain http, an unplugged adapter, a watchdog shorter than
    a cycle), logged at start and at each reload alike."""
    for warning in config.warnings():
        log.warning("configuración: %s", warning)
    shortest = min(device.interval_s for device in config.devices)
    if (warning := watchdog_warning(shortest, notifier.watchdog_s())) is not None:
        log.warning("%s", warning)


def summary(changes: BusChanges, devices: DeviceChanges) -> str:
    """One log line saying what a reload did: empty groups are left out."""
    groups = [
        ("buses sin cambios", changes.kept),
        ("reabiertos", changes.reopened),
        ("cerrados", changes.closed),
        ("abiertos", changes.opened),
        ("equipos agregados", devices.added),
        ("cambiados", devices.changed),
        ("quitados", devices.removed),
    ]
    return "; ".join(f"{label} {', '.join(names)}" for label, names in groups if names) or "sin cambios"


class Reloader:
    """Re-reads ``path`` and applies it to the running parts, one reload at a time."""

    def __init__(
        self,
        config: SiteConfig,
        path: Path | None,
        *,
        links: BusLinks,
        poller: Poller,
        uploader: Uploader,
        notifier: Notifier,
    ) -> None:
        self.config = config  # what the agent runs now
        self.path = path
        # what a re-read file becomes before it is applied (edge.managed keeps the central buses and devices)
        self.overlay: Callable[[SiteConfig], SiteConfig] = lambda config: config
        self.links, self.poller, self.uploader, self.notifier = links, poller, uploader, notifier
        self._lock = asyncio.Lock()

    async def serve(self, requests: asyncio.Event) -> None:
        """Reload every time ``requests`` is set (the SIGHUP handler sets it); runs until cancelled."""
        while True:
            await requests.wait()
            requests.clear()
            await self.reload()

    async def reload(self) -> bool:
        """Re-read the file and apply it; False, with nothing changed, when it is invalid."""
        async with self._lock:
            self.notifier.reloading()
            try:
                return await self._reload()
            finally:
                self.notifier.ready()

    async def apply(self, wanted: SiteConfig, origin: str) -> None:
        """Apply a configuration that did not come from the file (the central server's), like a reload."""
        async with self._lock:
            self.notifier.reloading()
            try:
                self._apply(self._runnable(wanted), origin)
                await self.links.settle(SHUTDOWN_WAIT_S)
            finally:
                self.notifier.ready()

    async def _reload(self) -> bool:
        if self.path is None:
            raise ValueError("este agente no tiene un archivo de configuración que recargar")
        log.info("recargando la configuración desde %s", self.path)
        try:
            wanted = self.overlay(load_site_config(self.path, check_devices=False))
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("recarga rechazada: %s", problem)
            log.error(
                "recarga rechazada: %d problemas en %s; sigue corriendo la configuración anterior",
                len(exc.problems),
                self.path,
            )
            return False
        self._apply(self._runnable(wanted), str(self.path))
        await self.links.settle(SHUTDOWN_WAIT_S)
        return True

    def _runnable(self, wanted: SiteConfig) -> SiteConfig:
        """``wanted`` minus the gateway changes that need a restart (each logged)."""
        gateway, refused = live_gateway(self.config.gateway, wanted.gateway)
        for name in refused:
            log.error(
                "recarga: gateway.%s cambió (%s -> %s), pero el agente en marcha no puede aplicarlo; "
                "reinicie el servicio para usarlo (systemctl restart caudal-edge); sigue usando %s",
                name,
                getattr(self.config.gateway, name),
                getattr(wanted.gateway, name),
                getattr(self.config.gateway, name),
            )
        log_config_warnings(wanted, self.notifier)
        return wanted.model_copy(update={"gateway": gateway})

    def _apply(self, config: SiteConfig, origin: str) -> None:
        """Swap buses, schedule and uploader settings without awaiting, so no poll sees half a change."""
        devices = device_changes(self.config, config)
        buses = self.links.apply(config.buses)
        self.poller.reconfigure(config, self.links.actors)
        self.uploader.retarget(config.gateway.central_url, config.gateway.heartbeat_s)
        self.config = config
        log.info("configuración recargada desde %s: %s", origin, summary(buses, devices))

"""Gateway configurations managed from the central server (issue 18).

Each gateway's buses and devices are stored as numbered versions (who, when, why), validated
with the same code as ``caudal edge check`` (:func:`protocols.siteconfig.parse_managed_config`)
before they are stored, so an invalid one never reaches a gateway and each error names line
and field. One version is published; an agent with ``config_source: central`` fetches it with
its token, applies it and reports back (:class:`protocols.uplink.ConfigReport`). A document
never carries the ``gateway:`` section: the token file and TLS material stay on the gateway.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from central.core import audit
from central.core.auth import Gateway
from central.core.gateways import gateway_by_name
from central.core.problems import NotFound
from central.db import Connection
from central.errors import ApiError
from central.pagination import Page, PageQuery, fetch_page
from protocols.siteconfig import ConfigError, parse_managed_config
from protocols.uplink import ConfigReport, PublishedConfig

MAX_DOCUMENT_CHARS = 200_000


class ConfigVersionCreate(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{
        "document": "buses:\n  - {name: plc, type: tcp, host: 192.168.1.20}\ndevices:\n"
                    "  - {name: pozo-1, bus: plc, unit_id: 1, point: OB-0101-12, profile: siemens-mag6000}\n",
        "reason": "caudalímetro nuevo en el pozo 1",
    }]}}

    document: str = Field(min_length=1, max_length=MAX_DOCUMENT_CHARS,
                          description="The gateway's buses and devices, as in site.yaml (no gateway: section)")
    reason: str = Field(min_length=1, max_length=500, description="Why: shown in the version history")


class ConfigVersion(BaseModel):
    version: int
    reason: str
    created_by: str
    created_at: datetime
    published: bool = Field(description="The version the gateway is asked to run")


class ConfigVersionDetail(ConfigVersion):
    document: str
    diff: str = Field(description="Unified diff from the previous version (empty for the first)")


class ConfigDiff(BaseModel):
    gateway: str
    base: int
    version: int
    diff: str = Field(description="Unified diff from version base to version (empty when they are equal)")


class ConfigStatus(BaseModel):
    """A gateway's configuration as its agent last reported it, with the health figures next to it."""

    name: str
    config_source: str | None = Field(description="local: the gateway ignores the server's configuration;"
                                      " central: it runs the published one; None: not reported yet")
    running_version: int | None = Field(description="The configuration version the agent runs")
    published_version: int | None = Field(description="The version published for the gateway")
    pending_version: int | None = Field(description="The published version while the agent runs another one")
    last_result: str | None = Field(description="The agent's last apply result: applied, refused (its errors),"
                                    " rolled back")
    reported_at: datetime | None
    agent_version: str | None
    clock_offset_s: float | None = Field(description="Gateway clock minus server clock at its last batch, s")
    buffer_depth: int | None = Field(description="Readings waiting on the gateway to be sent")
    dropped_total: int | None = Field(description="Readings dropped or set aside on the gateway since install")


_STATUS = ("SELECT name, config_source, config_running AS running_version, config_published AS published_version,"
           " config_result AS last_result, config_reported_at AS reported_at, agent_version, clock_offset_s,"
           " buffer_depth, dropped_total FROM gateways")


def _status(row: dict[str, Any]) -> ConfigStatus:
    pending = row["published_version"] if row["published_version"] != row["running_version"] else None
    if row["config_source"] == "local":
        pending = None  # a gateway on local configuration never takes the published one
    return ConfigStatus(**row, pending_version=pending)


def config_status(conn: Connection, name: str) -> ConfigStatus:
    row = conn.fetchone(f"{_STATUS} WHERE name = :name", {"name": name})
    if row is None:
        raise NotFound(f"no hay un gateway llamado {name!r}")
    return _status(row)


def config_statuses(conn: Connection, paging: PageQuery) -> Page[ConfigStatus]:
    """Every gateway's configuration mode and state, by name."""
    return fetch_page(conn, f"{_STATUS} ORDER BY name", None, paging, _status)


def document_name(gateway: str, version: int) -> Path:
    """How errors name a document: like a file, so they read as ``caudal edge check``'s do."""
    return Path(f"{gateway}/v{version}.yaml")


def validate_document(gateway: str, version: int, document: str) -> None:
    """422 listing every problem (file:line:field) if the gateway could not run ``document``."""
    try:
        parse_managed_config(document, document_name(gateway, version))
    except ConfigError as exc:
        details = [{"file": p.file, "line": p.line, "field": p.field, "message": p.message} for p in exc.problems]
        raise ApiError(422, f"la configuración no es válida: {exc.problems[0]}", details=details) from None


def create_version(conn: Connection, name: str, body: ConfigVersionCreate, actor: str, now: datetime
                   ) -> ConfigVersionDetail:
    """Store the next version after validating it; nothing is stored when it is invalid."""
    gateway = gateway_by_name(conn, name)
    version = (conn.fetchval("SELECT MAX(version) FROM gateway_configs WHERE gateway_id = :g",
                             {"g": gateway.id}) or 0) + 1
    validate_document(name, version, body.document)
    conn.execute("INSERT INTO gateway_configs (gateway_id, version, document, reason, created_by, created_at)"
                 " VALUES (:g, :v, :d, :r, :by, :now)",
                 {"g": gateway.id, "v": version, "d": body.document, "r": body.reason, "by": actor, "now": now})
    audit.record(conn, actor, "gateway.config_created", f"gateway:{name}", now, version=version, reason=body.reason)
    return version_detail(conn, name, version)


def publish_version(conn: Connection, name: str, version: int, actor: str, now: datetime) -> ConfigVersion:
    """Ask the gateway to run ``version`` (it fetches it at its next upload)."""
    gateway = gateway_by_name(conn, name)
    _row(conn, gateway, version)
    conn.execute("UPDATE gateways SET config_published = :v, config_published_at = :now WHERE id = :g",
                 {"v": version, "now": now, "g": gateway.id})
    audit.record(conn, actor, "gateway.config_published", f"gateway:{name}", now, version=version)
    return _summary(_row(conn, gateway, version), version)


def list_versions(conn: Connection, name: str, paging: PageQuery) -> Page[ConfigVersion]:
    """The gateway's versions, newest first."""
    gateway = gateway_by_name(conn, name)
    published = _published(conn, gateway.id)
    return fetch_page(conn, "SELECT version, reason, created_by, created_at FROM gateway_configs"
                      " WHERE gateway_id = :g ORDER BY version DESC", {"g": gateway.id}, paging,
                      lambda row: _summary(row, published))


def _unified_diff(name: str, base: int, base_document: str, version: int, document: str) -> str:
    return "".join(difflib.unified_diff(
        base_document.splitlines(keepends=True), document.splitlines(keepends=True),
        fromfile=str(document_name(name, base)), tofile=str(document_name(name, version))))


def version_detail(conn: Connection, name: str, version: int) -> ConfigVersionDetail:
    """One version with its document and the diff from the version before it."""
    gateway = gateway_by_name(conn, name)
    row = _row(conn, gateway, version)
    before = conn.fetchval("SELECT document FROM gateway_configs WHERE gateway_id = :g AND version = :v",
                           {"g": gateway.id, "v": version - 1})
    diff = "" if before is None else _unified_diff(name, version - 1, before, version, row["document"])
    summary = _summary(row, _published(conn, gateway.id))
    return ConfigVersionDetail(**summary.model_dump(), document=row["document"], diff=diff)


def versions_diff(conn: Connection, name: str, base: int, version: int) -> ConfigDiff:
    """The unified diff from version ``base`` to ``version`` of the gateway (any two, either order)."""
    gateway = gateway_by_name(conn, name)
    before, after = _row(conn, gateway, base)["document"], _row(conn, gateway, version)["document"]
    return ConfigDiff(gateway=name, base=base, version=version,
                      diff=_unified_diff(name, base, before, version, after))


def published_config(conn: Connection, gateway: Gateway) -> PublishedConfig:
    """What the gateway whose token called is asked to run (its own versions only)."""
    row = conn.fetchone("SELECT c.version, c.document FROM gateways g JOIN gateway_configs c"
                        " ON c.gateway_id = g.id AND c.version = g.config_published WHERE g.id = :g",
                        {"g": gateway.id})
    if row is None:
        return PublishedConfig(gateway=gateway.name)
    return PublishedConfig(gateway=gateway.name, version=row["version"], document=row["document"])


def record_report(conn: Connection, gateway: Gateway, report: ConfigReport, now: datetime) -> None:
    """What the agent says it runs, carried by every batch and heartbeat: written (with the time
    it was first reported) only when it changed, and a rollback or a refusal also to the audit
    trail, once."""
    changed = conn.execute(
        "UPDATE gateways SET config_source = :s, config_running = :v, config_result = :r, config_reported_at = :now"
        " WHERE id = :g AND (config_source IS NULL OR config_source <> :s OR config_result IS NULL"
        " OR config_result <> :r OR COALESCE(config_running, 0) <> COALESCE(:v, 0))",
        {"s": report.source, "v": report.running_version, "r": report.result, "now": now, "g": gateway.id})
    if changed and report.result.startswith(("refused", "rolled back")):
        audit.record(conn, f"gateway:{gateway.name}", "gateway.config_not_applied", f"gateway:{gateway.name}", now,
                     running=report.running_version, result=report.result)


def _published(conn: Connection, gateway_id: int) -> int | None:
    return conn.fetchval("SELECT config_published FROM gateways WHERE id = :g", {"g": gateway_id})


def _row(conn: Connection, gateway: Gateway, version: int) -> dict[str, Any]:
    row = conn.fetchone("SELECT version, reason, created_by, created_at, document FROM gateway_configs"
                        " WHERE gateway_id = :g AND version = :v", {"g": gateway.id, "v": version})
    if row is None:
        raise NotFound(f"el gateway {gateway.name!r} no tiene la versión {version} de configuración")
    return row


def _summary(row: dict[str, Any], published: int | None) -> ConfigVersion:
    return ConfigVersion(version=row["version"], reason=row["reason"], created_by=row["created_by"],
                         created_at=row["created_at"], published=row["version"] == published)

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

from central.core.audit import store as audit
from central.core.auth.models import Gateway
from central.core.gateway_configs import store
from central.core.gateway_configs.models import (
    ConfigDiff,
    ConfigStatus,
    ConfigVersion,
    ConfigVersionCreate,
    ConfigVersionDetail,
)
from central.core.gateways.service import gateway_by_name
from central.db import Connection
from central.pagination import Page, PageQuery
from central.problems import Invalid, NotFound
from protocols.siteconfig import ConfigError, parse_managed_config
from protocols.uplink import ConfigReport, PublishedConfig


def _status(row: dict[str, Any]) -> ConfigStatus:
    pending = row["published_version"] if row["published_version"] != row["running_version"] else None
    if row["config_source"] == "local":
        pending = None  # a gateway on local configuration never takes the published one
    return ConfigStatus(**row, pending_version=pending)


def config_status(conn: Connection, name: str) -> ConfigStatus:
    row = store.status_row(conn, name)
    if row is None:
        raise NotFound(f"no hay un gateway llamado {name!r}")
    return _status(row)


def config_statuses(conn: Connection, paging: PageQuery) -> Page[ConfigStatus]:
    """Every gateway's configuration mode and state, by name."""
    return store.status_page(conn, paging, _status)


def document_name(gateway: str, version: int) -> Path:
    """How errors name a document: like a file, so they read as ``caudal edge check``'s do."""
    return Path(f"{gateway}/v{version}.yaml")


def validate_document(gateway: str, version: int, document: str) -> None:
    """422 listing every problem (file:line:field) if the gateway could not run ``document``."""
    try:
        parse_managed_config(document, document_name(gateway, version))
    except ConfigError as exc:
        details = [{"file": p.file, "line": p.line, "field": p.field, "message": p.message} for p in exc.problems]
        raise Invalid(f"la configuración no es válida: {exc.problems[0]}", details=details) from None


def create_version(
    conn: Connection, name: str, body: ConfigVersionCreate, actor: str, now: datetime
) -> ConfigVersionDetail:
    """Store the next version after validating it; nothing is stored when it is invalid."""
    gateway = gateway_by_name(conn, name)
    version = store.last_version(conn, gateway.id) + 1
    validate_document(name, version, body.document)
    store.insert_version(conn, gateway.id, version, body.document, body.reason, actor, now)
    audit.record(conn, actor, "gateway.config_created", f"gateway:{name}", now, version=version, reason=body.reason)
    return version_detail(conn, name, version)


def publish_version(conn: Connection, name: str, version: int, actor: str, now: datetime) -> ConfigVersion:
    """Ask the gateway to run ``version`` (it fetches it at its next upload)."""
    gateway = gateway_by_name(conn, name)
    _row(conn, gateway, version)
    store.publish(conn, gateway.id, version, now)
    audit.record(conn, actor, "gateway.config_published", f"gateway:{name}", now, version=version)
    return _summary(_row(conn, gateway, version), version)


def list_versions(conn: Connection, name: str, paging: PageQuery) -> Page[ConfigVersion]:
    """The gateway's versions, newest first."""
    gateway = gateway_by_name(conn, name)
    published = store.published_version(conn, gateway.id)
    return store.versions_page(conn, gateway.id, paging, lambda row: _summary(row, published))


def _unified_diff(name: str, base: int, base_document: str, version: int, document: str) -> str:
    return "".join(
        difflib.unified_diff(
            base_document.splitlines(keepends=True),
            document.splitlines(keepends=True),
            fromfile=str(document_name(name, base)),
            tofile=str(document_name(name, version)),
        )
    )


def version_detail(conn: Connection, name: str, version: int) -> ConfigVersionDetail:
    """One version with its document and the diff from the version before it."""
    gateway = gateway_by_name(conn, name)
    row = _row(conn, gateway, version)
    before = store.document(conn, gateway.id, version - 1)
    diff = "" if before is None else _unified_diff(name, version - 1, before, version, row["document"])
    summary = _summary(row, store.published_version(conn, gateway.id))
    return ConfigVersionDetail(**summary.model_dump(), document=row["document"], diff=diff)


def versions_diff(conn: Connection, name: str, base: int, version: int) -> ConfigDiff:
    """The unified diff from version ``base`` to ``version`` of the gateway (any two, either order)."""
    gateway = gateway_by_name(conn, name)
    before, after = _row(conn, gateway, base)["document"], _row(conn, gateway, version)["document"]
    return ConfigDiff(gateway=name, base=base, version=version, diff=_unified_diff(name, base, before, version, after))


def published_config(conn: Connection, gateway: Gateway) -> PublishedConfig:
    """What the gateway whose token called is asked to run (its own versions only)."""
    row = store.published_document(conn, gateway.id)
    if row is None:
        return PublishedConfig(gateway=gateway.name)
    return PublishedConfig(gateway=gateway.name, version=row["version"], document=row["document"])


def record_report(conn: Connection, gateway: Gateway, report: ConfigReport, now: datetime) -> None:
    """What the agent says it runs, carried by every batch and heartbeat: written (with the time
    it was first reported) only when it changed, and a rollback or a refusal also to the audit
    trail, once."""
    changed = store.record_report(conn, gateway.id, report, now)
    if changed and report.result.startswith(("refused", "rolled back")):
        audit.record(
            conn,
            f"gateway:{gateway.name}",
            "gateway.config_not_applied",
            f"gateway:{gateway.name}",
            now,
            running=report.running_version,
            result=report.result,
        )


def _row(conn: Connection, gateway: Gateway, version: int) -> dict[str, Any]:
    row = store.version_row(conn, gateway.id, version)
    if row is None:
        raise NotFound(f"el gateway {gateway.name!r} no tiene la versión {version} de configuración")
    return row


def _summary(row: dict[str, Any], published: int | None) -> ConfigVersion:
    return ConfigVersion(
        version=row["version"],
        reason=row["reason"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        published=row["version"] == published,
    )

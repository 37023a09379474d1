"""Configuration versions (``gateway_configs``) and each gateway's configuration columns (``gateways``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from central.db import Connection
from central.pagination import Page, PageQuery, fetch_page
from protocols.uplink import ConfigReport

T = TypeVar("T")

_STATUS = (
    "SELECT name, config_source, config_running AS running_version, config_published AS published_version,"
    " config_result AS last_result, config_reported_at AS reported_at, agent_version, clock_offset_s,"
    " buffer_depth, dropped_total FROM gateways"
)


def status_row(conn: Connection, name: str) -> dict[str, Any] | None:
    """The gateway's configuration mode, versions, last result and health figures."""
    return conn.fetchone(f"{_STATUS} WHERE name = :name", {"name": name})


def status_page(conn: Connection, paging: PageQuery, item: Callable[[dict[str, Any]], T]) -> Page[T]:
    """A page of :func:`status_row` rows, by gateway name."""
    return fetch_page(conn, f"{_STATUS} ORDER BY name", None, paging, item)


def last_version(conn: Connection, gateway_id: int) -> int:
    """The gateway's highest version number (0 before the first)."""
    return conn.fetchval("SELECT MAX(version) FROM gateway_configs WHERE gateway_id = :g", {"g": gateway_id}) or 0


def insert_version(
    conn: Connection, gateway_id: int, version: int, document: str, reason: str, actor: str, now: datetime
) -> None:
    conn.execute(
        "INSERT INTO gateway_configs (gateway_id, version, document, reason, created_by, created_at)"
        " VALUES (:g, :v, :d, :r, :by, :now)",
        {"g": gateway_id, "v": version, "d": document, "r": reason, "by": actor, "now": now},
    )


def publish(conn: Connection, gateway_id: int, version: int, now: datetime) -> None:
    conn.execute(
        "UPDATE gateways SET config_published = :v, config_published_at = :now WHERE id = :g",
        {"v": version, "now": now, "g": gateway_id},
    )


def published_version(conn: Connection, gateway_id: int) -> int | None:
    return conn.fetchval("SELECT config_published FROM gateways WHERE id = :g", {"g": gateway_id})


def versions_page(conn: Connection, gateway_id: int, paging: PageQuery, item: Callable[[dict[str, Any]], T]) -> Page[T]:
    """The gateway's versions without their documents, newest first."""
    return fetch_page(
        conn,
        "SELECT version, reason, created_by, created_at FROM gateway_configs"
        " WHERE gateway_id = :g ORDER BY version DESC",
        {"g": gateway_id},
        paging,
        item,
    )


def version_row(conn: Connection, gateway_id: int, version: int) -> dict[str, Any] | None:
    """One version with its document."""
    return conn.fetchone(
        "SELECT version, reason, created_by, created_at, document FROM gateway_configs"
        " WHERE gateway_id = :g AND version = :v",
        {"g": gateway_id, "v": version},
    )


def document(conn: Connection, gateway_id: int, version: int) -> str | None:
    return conn.fetchval(
        "SELECT document FROM gateway_configs WHERE gateway_id = :g AND version = :v", {"g": gateway_id, "v": version}
    )


def published_document(conn: Connection, gateway_id: int) -> dict[str, Any] | None:
    """The published version's number and document."""
    return conn.fetchone(
        "SELECT c.version, c.document FROM gateways g JOIN gateway_configs c"
        " ON c.gateway_id = g.id AND c.version = g.config_published WHERE g.id = :g",
        {"g": gateway_id},
    )


def record_report(conn: Connection, gateway_id: int, report: ConfigReport, now: datetime) -> bool:
    """Write what the agent says it runs, only when it differs from what is stored; whether it did."""
    return bool(
        conn.execute(
            "UPDATE gateways SET config_source = :s, config_running = :v, config_result = :r, config_reported_at = :now"
            " WHERE id = :g AND (config_source IS NULL OR config_source <> :s OR config_result IS NULL"
            " OR config_result <> :r OR COALESCE(config_running, 0) <> COALESCE(:v, 0))",
            {"s": report.source, "v": report.running_version, "r": report.result, "now": now, "g": gateway_id},
        )
    )

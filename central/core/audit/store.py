"""The audit trail in the database: who changed which configuration, when.

:func:`record` takes the caller's connection, so the audit row commits or rolls back
together with the change it describes. The compliance log reuses this table.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from central.core.audit.models import AuditEntry
from central.db import Connection
from central.pagination import Page, PageQuery, fetch_page


def record(conn: Connection, actor: str, action: str, subject: str, now: datetime, **detail: Any) -> None:
    """Write one audit row in the caller's transaction. Never pass secrets in ``detail``."""
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (:at, :actor, :action, :subject, :detail)",
        {
            "at": now,
            "actor": actor,
            "action": action,
            "subject": subject,
            "detail": json.dumps(detail, sort_keys=True, default=str),
        },
    )


def _entry(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(**{**row, "detail": json.loads(row["detail"])})


def list_audit(
    conn: Connection, paging: PageQuery, *, subject: str | None = None, action: str | None = None
) -> Page[AuditEntry]:
    """Newest first, optionally only one subject (``point:OB-0101-12``) and/or one action."""
    clauses, params = [], {}
    if subject is not None:
        clauses.append("subject = :subject")
        params["subject"] = subject
    if action is not None:
        clauses.append("action = :action")
        params["action"] = action
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"SELECT id, at, actor, action, subject, detail FROM audit_log{where} ORDER BY id DESC"
    return fetch_page(conn, sql, params, paging, _entry)

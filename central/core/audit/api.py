"""``/api/v1/audit`` (administrators): who changed what, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from central.core.audit.models import AuditEntry
from central.core.audit.store import list_audit
from central.core.routes import read
from central.deps import AdminUser, Ctx
from central.errors import error_responses
from central.pagination import Page, Paging

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=error_responses(401, 403))


@router.get("", summary="Who changed what, newest first")
def get_audit(
    admin: AdminUser,
    ctx: Ctx,
    paging: Paging,
    subject: Annotated[str | None, Query(description="Only this subject, e.g. point:OB-0101-12")] = None,
    action: Annotated[str | None, Query(description="Only this action, e.g. gateway.token_rotated")] = None,
) -> Page[AuditEntry]:
    return read(ctx, list_audit, paging, subject=subject, action=action)

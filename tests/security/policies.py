"""Who may call each route: the declared access policy of every (method, path) the app serves.

The authorisation tests walk the app's own route table and look each route up here, so a
new route without a policy fails them (OWASP API1 object-level and API5 function-level
authorisation). Keys are the paths as FastAPI declares them.
"""

from __future__ import annotations

from enum import StrEnum


class Access(StrEnum):
    PUBLIC = "public"  # no token needed (health, docs, the login itself)
    USER = "user"  # any signed-in person; answers only about their own data or what they see
    POINT = "point"  # a person who sees the point (or the point of the alert/submission) in the path; else 404
    OWN = "own"  # the person's own object in the path (channel, token); anyone else gets 404
    ADMIN = "admin"  # administrators only; other people get 403
    GATEWAY = "gateway"  # a gateway's token only; person tokens get 401
    CONSOLE_PUBLIC = "console-public"  # the operator console's login page and static files
    CONSOLE = "console"  # the operator console: its session cookie (and CSRF token), any signed-in person
    CONSOLE_POINT = "console-point"  # a console page or form about a point (or its alert): who sees it; else 404
    CONSOLE_ADMIN = "console-admin"  # a console page or form for administrators; others get 403


A = Access
POLICIES: dict[tuple[str, str], Access] = {
    ("GET", "/openapi.json"): A.PUBLIC, ("GET", "/docs"): A.PUBLIC, ("GET", "/docs/oauth2-redirect"): A.PUBLIC,
    ("GET", "/healthz"): A.PUBLIC, ("GET", "/readyz"): A.PUBLIC,
    ("GET", "/metrics"): A.PUBLIC, ("POST", "/api/v1/auth/login"): A.PUBLIC,
    ("POST", "/api/v1/auth/logout"): A.USER,
    ("GET", "/api/v1/users/me"): A.USER, ("PATCH", "/api/v1/users/me"): A.USER,
    ("GET", "/api/v1/users/me/tokens"): A.USER, ("POST", "/api/v1/users/me/tokens"): A.USER,
    ("DELETE", "/api/v1/users/me/tokens/{token_id}"): A.OWN,
    ("GET", "/api/v1/users"): A.ADMIN, ("POST", "/api/v1/users"): A.ADMIN,
    ("GET", "/api/v1/users/{username}"): A.ADMIN, ("PATCH", "/api/v1/users/{username}"): A.ADMIN,
    ("POST", "/api/v1/users/{username}/deactivate"): A.ADMIN,
    ("GET", "/api/v1/points"): A.USER, ("POST", "/api/v1/points"): A.ADMIN,
    ("GET", "/api/v1/points/{code}"): A.POINT, ("PATCH", "/api/v1/points/{code}"): A.ADMIN,
    ("DELETE", "/api/v1/points/{code}"): A.ADMIN, ("GET", "/api/v1/points/{code}/users"): A.ADMIN,
    ("PUT", "/api/v1/points/{code}/users/{username}"): A.ADMIN,
    ("DELETE", "/api/v1/points/{code}/users/{username}"): A.ADMIN,
    ("GET", "/api/v1/gateways"): A.ADMIN, ("POST", "/api/v1/gateways"): A.ADMIN,
    ("GET", "/api/v1/gateways/{name}"): A.ADMIN, ("PATCH", "/api/v1/gateways/{name}"): A.ADMIN,
    ("POST", "/api/v1/gateways/{name}/rotate-token"): A.ADMIN, ("POST", "/api/v1/gateways/{name}/revoke"): A.ADMIN,
    ("GET", "/api/v1/gateways/{name}/config"): A.ADMIN, ("GET", "/api/v1/gateway-configs"): A.ADMIN,
    ("GET", "/api/v1/gateways/{name}/config/versions"): A.ADMIN,
    ("POST", "/api/v1/gateways/{name}/config/versions"): A.ADMIN,
    ("GET", "/api/v1/gateways/{name}/config/versions/{version}"): A.ADMIN,
    ("POST", "/api/v1/gateways/{name}/config/versions/{version}/publish"): A.ADMIN,
    ("GET", "/api/v1/gateways/{name}/config/versions/{version}/diff/{base}"): A.ADMIN,
    ("GET", "/api/v1/users/{username}/points"): A.ADMIN, ("PUT", "/api/v1/users/{username}/points"): A.ADMIN,
    ("GET", "/redoc"): A.PUBLIC,
    ("GET", "/api/v1/audit"): A.ADMIN,
    ("GET", "/api/v1/users/me/channels"): A.USER, ("POST", "/api/v1/users/me/channels"): A.USER,
    ("GET", "/api/v1/users/me/channels/{channel_id}"): A.OWN,
    ("PATCH", "/api/v1/users/me/channels/{channel_id}"): A.OWN,
    ("DELETE", "/api/v1/users/me/channels/{channel_id}"): A.OWN,
    ("POST", "/api/v1/users/me/channels/{channel_id}/test"): A.OWN,
    ("GET", "/api/v1/users/me/notifications"): A.USER,
    ("POST", "/api/v1/ingest"): A.GATEWAY, ("GET", "/api/v1/ingest/points"): A.GATEWAY,
    ("GET", "/api/v1/ingest/config"): A.GATEWAY,
    ("GET", "/api/v1/points/{code}/readings"): A.POINT, ("GET", "/api/v1/points/{code}/aggregates"): A.POINT,
    ("GET", "/api/v1/latest"): A.USER,
    ("POST", "/api/v1/points/{code}/meter-changes"): A.POINT, ("GET", "/api/v1/points/{code}/meter-changes"): A.POINT,
    ("GET", "/api/v1/alerts"): A.USER, ("GET", "/api/v1/alerts/{alert_id}"): A.POINT,
    ("POST", "/api/v1/alerts/{alert_id}/ack"): A.POINT,
    ("GET", "/api/v1/points/{code}/alert-rules"): A.POINT, ("PUT", "/api/v1/points/{code}/alert-rules"): A.ADMIN,
    ("PATCH", "/api/v1/points/{code}/alert-rules/{rule_id}"): A.ADMIN,
    ("GET", "/api/v1/gateways/{name}/alert-rules"): A.ADMIN, ("PUT", "/api/v1/gateways/{name}/alert-rules"): A.ADMIN,
    ("PUT", "/api/v1/points/{code}/compliance/dga"): A.ADMIN, ("GET", "/api/v1/points/{code}/compliance/dga"): A.POINT,
    ("DELETE", "/api/v1/points/{code}/compliance/dga"): A.ADMIN,
    ("PUT", "/api/v1/points/{code}/compliance/sma"): A.ADMIN, ("GET", "/api/v1/points/{code}/compliance/sma"): A.POINT,
    ("DELETE", "/api/v1/points/{code}/compliance/sma"): A.ADMIN,
    ("GET", "/api/v1/compliance/review"): A.USER,
    ("POST", "/api/v1/compliance/review/{submission_id}/approve"): A.ADMIN,
    ("POST", "/api/v1/compliance/submissions/{submission_id}/discard"): A.ADMIN,
    ("POST", "/api/v1/compliance/submissions/{submission_id}/correct"): A.ADMIN,
    ("POST", "/api/v1/compliance/submissions/{submission_id}/confirm"): A.ADMIN,
    ("POST", "/api/v1/compliance/submissions/{submission_id}/requeue"): A.ADMIN,
    ("POST", "/api/v1/compliance/submissions/{submission_id}/recheck"): A.ADMIN,
    ("GET", "/api/v1/compliance/submissions"): A.USER,
    ("GET", "/api/v1/compliance/submissions/{submission_id}"): A.POINT,
    ("GET", "/api/v1/compliance/log"): A.USER,
    ("GET", "/api/v1/compliance/reports/{code}/{month}"): A.POINT,
    ("GET", "/api/v1/compliance/reports/{code}/{month}/informe-de-fallas"): A.POINT,
    ("*", "/ui/static"): A.CONSOLE_PUBLIC, ("GET", "/"): A.CONSOLE_PUBLIC, ("GET", "/ui/login"): A.CONSOLE_PUBLIC,
    ("POST", "/ui/login"): A.CONSOLE_PUBLIC, ("POST", "/ui/logout"): A.CONSOLE,
    ("GET", "/ui/"): A.CONSOLE, ("GET", "/ui/alertas"): A.CONSOLE, ("GET", "/ui/cumplimiento"): A.CONSOLE,
    ("GET", "/ui/gateways"): A.CONSOLE_ADMIN, ("GET", "/ui/admin"): A.CONSOLE_ADMIN,
    ("GET", "/ui/puntos/{code}"): A.CONSOLE_POINT, ("GET", "/ui/puntos/{code}/lecturas"): A.CONSOLE_POINT,
    ("GET", "/ui/informes/{code}/{month}"): A.CONSOLE_POINT,
    ("GET", "/ui/informes/{code}/{month}/informe-de-fallas"): A.CONSOLE_POINT,
    ("POST", "/ui/admin/puntos/{code}/reguladores/{name}"): A.CONSOLE_ADMIN,
    ("POST", "/ui/admin/puntos"): A.CONSOLE_ADMIN, ("POST", "/ui/admin/usuarios"): A.CONSOLE_ADMIN,
    ("GET", "/ui/admin/usuarios/{username}"): A.CONSOLE_ADMIN,
    ("POST", "/ui/admin/usuarios/{username}"): A.CONSOLE_ADMIN,
    ("POST", "/ui/admin/usuarios/{username}/clave"): A.CONSOLE_ADMIN,
    ("POST", "/ui/admin/usuarios/{username}/puntos"): A.CONSOLE_ADMIN,
    ("GET", "/ui/admin/puntos/{code}"): A.CONSOLE_ADMIN, ("POST", "/ui/admin/puntos/{code}"): A.CONSOLE_ADMIN,
    ("POST", "/ui/admin/puntos/{code}/dga"): A.CONSOLE_ADMIN, ("POST", "/ui/admin/puntos/{code}/sma"): A.CONSOLE_ADMIN,
    ("POST", "/ui/gateways"): A.CONSOLE_ADMIN, ("GET", "/ui/gateways/{name}"): A.CONSOLE_ADMIN,
    ("POST", "/ui/gateways/{name}/token"): A.CONSOLE_ADMIN, ("POST", "/ui/gateways/{name}/revocar"): A.CONSOLE_ADMIN,
    ("POST", "/ui/gateways/{name}/puntos"): A.CONSOLE_ADMIN, ("POST", "/ui/gateways/{name}/versiones"): A.CONSOLE_ADMIN,
    ("POST", "/ui/gateways/{name}/versiones/{version}/publicar"): A.CONSOLE_ADMIN,
    ("GET", "/ui/gateways/{name}/versiones/{version}"): A.CONSOLE_ADMIN,
    ("GET", "/ui/gateways/{name}/diferencias"): A.CONSOLE_ADMIN,
    ("POST", "/ui/alertas/{alert_id}/reconocer"): A.CONSOLE_POINT,
    # Administrators only (the API's review route); the console looks the submission up first, so
    # someone who does not see its point gets 404, as for a missing one.
    ("POST", "/ui/cumplimiento/revision/{submission_id}/{decision}"): A.CONSOLE_POINT,
}
CONSOLE = frozenset({Access.CONSOLE_PUBLIC, Access.CONSOLE, Access.CONSOLE_POINT, Access.CONSOLE_ADMIN})

# Query parameters a route requires, so a refusal is the authorisation's and not the validator's.
VALID_QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/ui/puntos/{code}/lecturas"): {"desde": "2026-11-27", "hasta": "2026-11-28"},
    ("GET", "/ui/informes/{code}/{month}"): {"format": "csv"},
    ("GET", "/ui/informes/{code}/{month}/informe-de-fallas"): {"format": "csv"},
    ("GET", "/ui/gateways/{name}/diferencias"): {"desde": "1", "hasta": "2"},
}

# Bodies that pass validation, so a refusal is the authorisation's and not the validator's.
VALID_BODIES: dict[tuple[str, str], dict[str, object]] = {
    ("POST", "/api/v1/points/{code}/meter-changes"): {"ts": "2026-11-28T12:00:00Z", "new_base_m3": 0},
    ("POST", "/api/v1/alerts/{alert_id}/ack"): {"comment": "en camino"},
}

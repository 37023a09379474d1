"""Who may call each route: the declared access policy of every (method, path) the app serves.

The authorisation tests walk the app's own route table and look each route up here, so a
new route without a policy fails them (OWASP API1 object-level and API5 function-level
authorisation). Keys are the paths as FastAPI declares them.
"""

from __future__ import annotations

from enum import StrEnum

from tests.tables import rows


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


# One row a route: method, path, access. The console's review route is console-point although only
# administrators decide (the API's review route): the console looks the submission up first, so
# someone who does not see its point gets 404, as for a missing one.
_TABLE = """
GET    /openapi.json                                                  public
GET    /docs                                                          public
GET    /docs/oauth2-redirect                                          public
GET    /healthz                                                       public
GET    /readyz                                                        public
GET    /metrics                                                       public
POST   /api/v1/auth/login                                             public
POST   /api/v1/auth/logout                                            user
GET    /api/v1/users/me                                               user
PATCH  /api/v1/users/me                                               user
GET    /api/v1/users/me/tokens                                        user
POST   /api/v1/users/me/tokens                                        user
DELETE /api/v1/users/me/tokens/{token_id}                             own
GET    /api/v1/users                                                  admin
POST   /api/v1/users                                                  admin
GET    /api/v1/users/{username}                                       admin
PATCH  /api/v1/users/{username}                                       admin
POST   /api/v1/users/{username}/deactivate                            admin
GET    /api/v1/points                                                 user
POST   /api/v1/points                                                 admin
GET    /api/v1/points/{code}                                          point
PATCH  /api/v1/points/{code}                                          admin
DELETE /api/v1/points/{code}                                          admin
GET    /api/v1/points/{code}/users                                    admin
PUT    /api/v1/points/{code}/users/{username}                         admin
DELETE /api/v1/points/{code}/users/{username}                         admin
GET    /api/v1/gateways                                               admin
POST   /api/v1/gateways                                               admin
GET    /api/v1/gateways/{name}                                        admin
PATCH  /api/v1/gateways/{name}                                        admin
POST   /api/v1/gateways/{name}/rotate-token                           admin
POST   /api/v1/gateways/{name}/revoke                                 admin
GET    /api/v1/gateways/{name}/config                                 admin
GET    /api/v1/gateway-configs                                        admin
GET    /api/v1/gateways/{name}/config/versions                        admin
POST   /api/v1/gateways/{name}/config/versions                        admin
GET    /api/v1/gateways/{name}/config/versions/{version}              admin
POST   /api/v1/gateways/{name}/config/versions/{version}/publish      admin
GET    /api/v1/gateways/{name}/config/versions/{version}/diff/{base}  admin
GET    /api/v1/users/{username}/points                                admin
PUT    /api/v1/users/{username}/points                                admin
GET    /redoc                                                         public
GET    /api/v1/audit                                                  admin
GET    /api/v1/users/me/channels                                      user
POST   /api/v1/users/me/channels                                      user
GET    /api/v1/users/me/channels/{channel_id}                         own
PATCH  /api/v1/users/me/channels/{channel_id}                         own
DELETE /api/v1/users/me/channels/{channel_id}                         own
POST   /api/v1/users/me/channels/{channel_id}/test                    own
GET    /api/v1/users/me/notifications                                 user
POST   /api/v1/ingest                                                 gateway
GET    /api/v1/ingest/points                                          gateway
GET    /api/v1/ingest/config                                          gateway
GET    /api/v1/points/{code}/readings                                 point
GET    /api/v1/points/{code}/aggregates                               point
GET    /api/v1/latest                                                 user
POST   /api/v1/points/{code}/meter-changes                            point
GET    /api/v1/points/{code}/meter-changes                            point
GET    /api/v1/alerts                                                 user
GET    /api/v1/alerts/{alert_id}                                      point
POST   /api/v1/alerts/{alert_id}/ack                                  point
GET    /api/v1/points/{code}/alert-rules                              point
PUT    /api/v1/points/{code}/alert-rules                              admin
PATCH  /api/v1/points/{code}/alert-rules/{rule_id}                    admin
GET    /api/v1/gateways/{name}/alert-rules                            admin
PUT    /api/v1/gateways/{name}/alert-rules                            admin
PUT    /api/v1/points/{code}/compliance/dga                           admin
GET    /api/v1/points/{code}/compliance/dga                           point
DELETE /api/v1/points/{code}/compliance/dga                           admin
PUT    /api/v1/points/{code}/compliance/sma                           admin
GET    /api/v1/points/{code}/compliance/sma                           point
DELETE /api/v1/points/{code}/compliance/sma                           admin
GET    /api/v1/compliance/review                                      user
POST   /api/v1/compliance/review/{submission_id}/approve              admin
POST   /api/v1/compliance/submissions/{submission_id}/discard         admin
POST   /api/v1/compliance/submissions/{submission_id}/correct         admin
POST   /api/v1/compliance/submissions/{submission_id}/confirm         admin
POST   /api/v1/compliance/submissions/{submission_id}/requeue         admin
POST   /api/v1/compliance/submissions/{submission_id}/recheck         admin
GET    /api/v1/compliance/submissions                                 user
GET    /api/v1/compliance/submissions/{submission_id}                 point
GET    /api/v1/compliance/log                                         user
GET    /api/v1/compliance/reports/{code}/{month}                      point
GET    /api/v1/compliance/reports/{code}/{month}/informe-de-fallas    point
*      /ui/static                                                     console-public
GET    /                                                              console-public
GET    /ui/login                                                      console-public
POST   /ui/login                                                      console-public
POST   /ui/logout                                                     console
GET    /ui/                                                           console
GET    /ui/alertas                                                    console
GET    /ui/cumplimiento                                               console
GET    /ui/gateways                                                   console-admin
GET    /ui/admin                                                      console-admin
GET    /ui/puntos/{code}                                              console-point
GET    /ui/puntos/{code}/lecturas                                     console-point
GET    /ui/informes/{code}/{month}                                    console-point
GET    /ui/informes/{code}/{month}/informe-de-fallas                  console-point
POST   /ui/admin/puntos/{code}/reguladores/{name}                     console-admin
POST   /ui/admin/puntos                                               console-admin
POST   /ui/admin/usuarios                                             console-admin
GET    /ui/admin/usuarios/{username}                                  console-admin
POST   /ui/admin/usuarios/{username}                                  console-admin
POST   /ui/admin/usuarios/{username}/clave                            console-admin
POST   /ui/admin/usuarios/{username}/puntos                           console-admin
GET    /ui/admin/puntos/{code}                                        console-admin
POST   /ui/admin/puntos/{code}                                        console-admin
POST   /ui/admin/puntos/{code}/dga                                    console-admin
POST   /ui/admin/puntos/{code}/sma                                    console-admin
POST   /ui/gateways                                                   console-admin
GET    /ui/gateways/{name}                                            console-admin
POST   /ui/gateways/{name}/token                                      console-admin
POST   /ui/gateways/{name}/revocar                                    console-admin
POST   /ui/gateways/{name}/puntos                                     console-admin
POST   /ui/gateways/{name}/versiones                                  console-admin
POST   /ui/gateways/{name}/versiones/{version}/publicar               console-admin
GET    /ui/gateways/{name}/versiones/{version}                        console-admin
GET    /ui/gateways/{name}/diferencias                                console-admin
POST   /ui/alertas/{alert_id}/reconocer                               console-point
POST   /ui/cumplimiento/revision/{submission_id}/{decision}           console-point
"""
POLICIES: dict[tuple[str, str], Access] = {
    (method, path): access for method, path, access in rows(_TABLE, str, str, Access)
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

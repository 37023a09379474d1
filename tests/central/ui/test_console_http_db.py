"""The console over HTTP (no browser): sessions, cookie flags, CSRF, who sees what, static
files with their licences, and /docs without any outside address. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.central.ui import site
from tests.central.ui.console import Console, logged_in, login_csrf, page_csrf


def _alerts(console: Console, point: str) -> list[tuple[str, str, str | None]]:
    items = console.client.get("/api/v1/alerts", params={"point": point}, headers=console.seeded.admin).json()
    return sorted((a["kind"], a["status"], a["ack_comment"]) for a in items["items"])


def test_a_page_without_a_session_sends_to_the_login_form(console: Console) -> None:
    answer = TestClient(console.client.app).get("/ui/", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/ui/login")


def test_the_session_cookie_is_httponly_samesite_strict_and_not_secure_over_http(console: Console) -> None:
    client = TestClient(console.client.app)
    answer = client.post(
        "/ui/login",
        data={"username": "ana", "password": site.PASSWORD, "csrf": login_csrf(client)},
        follow_redirects=False,
    )
    session = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("caudal_session="))
    flags = sorted(part.strip().lower() for part in session.split(";")[1:])
    assert flags == ["httponly", "max-age=43200", "path=/", "samesite=strict"]


def test_the_session_cookie_is_secure_over_https(console: Console) -> None:
    client = TestClient(console.client.app, base_url="https://caudal.example")
    answer = client.post(
        "/ui/login",
        data={"username": "ana", "password": site.PASSWORD, "csrf": login_csrf(client)},
        follow_redirects=False,
    )
    session = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("caudal_session="))
    assert "secure" in [part.strip().lower() for part in session.split(";")]


def test_the_session_is_the_apis_own_token(console: Console) -> None:
    client = logged_in(console, "ana")
    token = client.cookies["caudal_session"]
    me = console.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert (me.status_code, me.json()["username"]) == (200, "ana")


def test_a_wrong_password_shows_the_form_again_with_a_401(console: Console) -> None:
    client = TestClient(console.client.app)
    answer = client.post("/ui/login", data={"username": "ana", "password": "wrong", "csrf": login_csrf(client)})
    assert (answer.status_code, "Usuario o contraseña incorrectos." in answer.text) == (401, True)
    assert "caudal_session" not in client.cookies


@pytest.mark.parametrize("csrf", [None, "", "0" * 64])
def test_a_login_without_the_forms_csrf_token_is_refused(console: Console, csrf: str | None) -> None:
    client = TestClient(console.client.app)
    login_csrf(client)
    data = {"username": "ana", "password": site.PASSWORD} | ({} if csrf is None else {"csrf": csrf})
    answer = client.post("/ui/login", data=data, follow_redirects=False)
    assert (answer.status_code, "caudal_session" in client.cookies) == (403, False)


@pytest.mark.parametrize("csrf", [None, "", "0" * 64])
def test_an_acknowledgement_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
    console: Console, csrf: str | None
) -> None:
    client = logged_in(console, "jefa")
    before = _alerts(console, site.SUR)
    alert_id = re.search(r'action="/ui/alertas/([0-9a-f-]+)/reconocer"', client.get("/ui/alertas").text).group(1)
    data = {"comentario": "voy en camino"} | ({} if csrf is None else {"csrf": csrf})
    answer = client.post(f"/ui/alertas/{alert_id}/reconocer", data=data, follow_redirects=False)
    assert answer.status_code == 403
    assert _alerts(console, site.SUR) == before


def test_another_sessions_csrf_token_is_refused(console: Console) -> None:
    mine, theirs = logged_in(console, "jefa"), logged_in(console, "jefa")
    queue = console.client.get("/api/v1/compliance/review", headers=console.seeded.admin).json()["items"]
    answer = mine.post(
        f"/ui/cumplimiento/revision/{queue[0]['id']}/aprobar",
        data={"csrf": page_csrf(theirs.get("/ui/").text)},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert (
        console.client.get(f"/api/v1/compliance/submissions/{queue[0]['id']}", headers=console.seeded.admin).json()[
            "state"
        ]
        == "review"
    )


def test_logout_without_csrf_is_refused_and_the_session_stays(console: Console) -> None:
    client = logged_in(console, "ana")
    assert client.post("/ui/logout", data={}, follow_redirects=False).status_code == 403
    assert client.get("/ui/", follow_redirects=False).status_code == 200


def test_logout_revokes_the_token(console: Console) -> None:
    client = logged_in(console, "ana")
    token = client.cookies["caudal_session"]
    answer = client.post("/ui/logout", data={"csrf": page_csrf(client.get("/ui/").text)}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/ui/login")
    me = console.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/ui/puntos/{site.SUR}", 404),  # another operator's point: as if it did not exist
        ("/ui/puntos/OB-0000-000", 404),
        (f"/ui/puntos/{site.SUR}/lecturas?desde=2026-11-28&hasta=2026-11-28", 404),
        (f"/ui/informes/{site.SUR}/2026-11?format=csv", 404),
        (f"/ui/informes/{site.SUR}/2026-11/informe-de-fallas?format=xlsx", 404),
        ("/ui/admin", 403),
        ("/ui/admin/usuarios/jefa", 403),
        (f"/ui/admin/puntos/{site.NORTE}", 403),
        ("/ui/gateways", 403),
        (f"/ui/gateways/{site.GATEWAY}", 403),
        (f"/ui/gateways/{site.GATEWAY}/versiones/1", 403),
        (f"/ui/gateways/{site.GATEWAY}/diferencias?desde=1&hasta=2", 403),
    ],
)
def test_an_operator_cannot_open_what_is_not_theirs_by_direct_url(console: Console, path: str, status: int) -> None:
    answer = logged_in(console, "ana").get(path)
    assert answer.status_code == status
    assert site.SUR not in answer.text.replace(path, "") or status == 404


def test_an_operator_sees_only_their_point_in_the_summary(console: Console) -> None:
    html = logged_in(console, "ana").get("/ui/").text
    assert re.findall(r'<tr data-point="([^"]+)"', html) == [site.NORTE]


def test_an_operator_cannot_approve_a_held_slot(console: Console) -> None:
    client = logged_in(console, "ana")
    queue = console.client.get("/api/v1/compliance/review", headers=console.seeded.admin).json()["items"]
    answer = client.post(
        f"/ui/cumplimiento/revision/{queue[0]['id']}/aprobar", data={"csrf": page_csrf(client.get("/ui/").text)}
    )
    assert answer.status_code == 403  # the API: review decisions need an administrator
    assert (
        console.client.get(f"/api/v1/compliance/submissions/{queue[0]['id']}", headers=console.seeded.admin).json()[
            "state"
        ]
        == "review"
    )


@pytest.mark.parametrize(
    ("formato", "params"),
    [("csv", {"format": "csv"}), ("excel-es", {"format": "csv", "dialect": "excel-es"}), ("xlsx", {"format": "xlsx"})],
)
def test_the_readings_export_is_the_apis_download(console: Console, formato: str, params: dict[str, str]) -> None:
    client = logged_in(console, "ana")
    answer = client.get(f"/ui/puntos/{site.NORTE}/lecturas?desde=2026-11-28&hasta=2026-11-28&formato={formato}")
    token = client.cookies["caudal_session"]
    direct = console.client.get(
        f"/api/v1/points/{site.NORTE}/readings",
        headers={"Authorization": f"Bearer {token}"},
        params={**params, "from": "2026-11-28T00:00:00-03:00", "to": "2026-11-29T00:00:00-03:00"},
    )
    assert (answer.status_code, _cells(answer)) == (200, _cells(direct))
    assert [answer.headers[name] for name in ("content-type", "content-disposition")] == [
        direct.headers[name] for name in ("content-type", "content-disposition")
    ]


def _cells(response: Any) -> Any:
    """A CSV's text, or a workbook's cell values (an XLSX file carries the time it was written)."""
    if response.headers["content-type"].startswith("text/csv"):
        return response.text
    return [[cell.value for cell in row] for row in load_workbook(io.BytesIO(response.content)).active.iter_rows()]


VENDORED = [
    ("leaflet-1.9.4", "leaflet.js", "BSD 2-Clause License"),
    ("uplot-1.6.32", "uPlot.iife.min.js", "The MIT License (MIT)"),
    ("swagger-ui-dist-5.35.0", "swagger-ui-bundle.js", "Apache License"),
    ("redoc-2.5.2", "redoc.standalone.js", "The MIT License (MIT)"),
]


@pytest.mark.parametrize(("package", "asset", "licence"), VENDORED)
def test_vendored_assets_are_served_with_their_licence(
    console: Console, package: str, asset: str, licence: str
) -> None:
    base = f"/ui/static/vendor/{package}"
    assert console.client.get(f"{base}/{asset}").status_code == 200
    answer = console.client.get(f"{base}/LICENSE")
    assert (answer.status_code, licence in answer.text) == (200, True)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_reference_loads_from_this_server_only(console: Console, path: str) -> None:
    html = console.client.get(path).text
    assert re.findall(r"https?://", html) == []
    for asset in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert console.client.get(asset).status_code == 200, asset


ASSETS = re.compile(r'<script[^>]*\ssrc="([^"]+)"|<link[^>]*\shref="([^"]+)"')


def test_pages_load_their_scripts_and_styles_from_this_server(console: Console) -> None:
    """(Map tiles are the exception: their address is a setting, see docs/operadores.md.)"""
    client = logged_in(console, "jefa")
    for path in (
        "/ui/",
        f"/ui/puntos/{site.SUR}",
        "/ui/alertas",
        "/ui/cumplimiento",
        "/ui/gateways",
        "/ui/admin",
        "/ui/admin/usuarios/ana",
        f"/ui/admin/puntos/{site.SUR}",
        f"/ui/gateways/{site.GATEWAY}",
    ):
        assets = ["".join(found) for found in ASSETS.findall(client.get(path).text)]
        assert assets and all(url.startswith("/ui/static/") for url in assets), (path, assets)
        assert all(client.get(url).status_code == 200 for url in assets), (path, assets)


def test_the_summary_shows_each_wells_latest_values_and_semaforo(console: Console) -> None:
    html = logged_in(console, "jefa").get("/ui/").text
    rows = re.findall(r'<tr data-point="([^"]+)">(.*?)</tr>', html, re.DOTALL)
    shown = {
        code: (
            [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r'<td class="num">(.*?)</td>', row)],
            re.findall(r'data-colour="(\w+)"', row),
            "en línea" in row,
        )
        for code, row in rows
    }
    # the 13:10 readings (index 79): flow, totalizer, level, water table (sensor depth - level), open alerts
    assert shown == {
        site.NORTE: (["12,10", "50.592,5", "39,90", "20,10", "0"], ["green"], True),
        site.SUR: (["12,60", "79.592,5", "49,70", "30,30", "2"], ["yellow"], True),
    }
    assert "hora 28-11-2026 10:00 (DGA 09:00 UTC-4)" in html


def _console_posts(client: TestClient) -> list[str]:
    """Every POST route under /ui/ (FastAPI keeps included routers nested)."""
    found = []
    for route in client.app.routes:
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else []
        found += [c.path for c in contexts if c.path.startswith("/ui/") and "POST" in c.original_route.methods]
    return sorted(found)


def test_every_console_form_refuses_a_post_without_its_csrf_token(console: Console) -> None:
    client = logged_in(console, "jefa")
    queue = console.client.get("/api/v1/compliance/review", headers=console.seeded.admin).json()["items"]
    filled = {
        "{alert_id}": "00000000-0000-0000-0000-000000000000",
        "{submission_id}": str(queue[0]["id"]),
        "{decision}": "aprobar",
        "{username}": "ana",
        "{code}": site.NORTE,
        "{name}": site.GATEWAY,
        "{version}": "1",
    }
    refused = {}
    for path in _console_posts(client):
        concrete = path
        for name, value in filled.items():
            concrete = concrete.replace(name, value)
        refused[path] = client.post(
            concrete, data={"username": "x", "password": "x", "name": "x"}, follow_redirects=False
        ).status_code
    assert refused == {path: 403 for path in _console_posts(client)}
    assert len(refused) == 19
    assert console.client.get("/api/v1/users", headers=console.seeded.admin).json()["total"] == 2
    assert (
        console.client.get(f"/api/v1/gateways/{site.GATEWAY}", headers=console.seeded.admin).json()["revoked_at"]
        is None
    )


def test_console_logins_are_locked_like_the_apis(console: Console) -> None:
    client = TestClient(console.client.app)
    statuses = [
        client.post(
            "/ui/login", data={"username": "nadie", "password": "wrong", "csrf": login_csrf(client)}
        ).status_code
        for _ in range(6)
    ]
    answer = client.post("/ui/login", data={"username": "nadie", "password": "wrong", "csrf": login_csrf(client)})
    assert statuses == [401] * 5 + [429]
    assert "Demasiados intentos fallidos" in answer.text


@pytest.mark.parametrize(
    "path",
    [
        "/ui/alertas",
        "/ui/cumplimiento",
        "/ui/admin",
        "/ui/admin/usuarios/ana",
        f"/ui/admin/puntos/{site.NORTE}",
        f"/ui/gateways/{site.GATEWAY}",
    ],
)
def test_a_pages_done_notice_shows_only_what_the_console_announces(console: Console, path: str) -> None:
    html = logged_in(console, "jefa").get(path, params={"hecho": "transferido a otra cuenta"}).text
    assert ('class="notice ok"' in html, "transferido" in html) == (False, False)

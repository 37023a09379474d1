"""Gateways and Administración: what administrators see and change (the API refuses the rest)."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from central.ui.api import ApiRefused, segment
from central.ui.console import Admin, Form, NotAllowed, Who, console_of, render
from central.ui.views import local_midnight

router = APIRouter(prefix="/ui", include_in_schema=False)
WORK_TYPES = ("subterranea", "superficial", "superficial_flujometro")
STANDARDS = ("mayor", "medio", "menor", "muy_pequeno")
MODES = ("off", "shadow", "live")
FORM_ONLY = frozenset({"csrf", "point", "settings"})  # form fields that are not configuration fields
POINT_KINDS = ("subterranea", "superficial", "superficial_flujometro", "other")
SAVED = frozenset({"usuario", "punto", "regulador"})  # what ?hecho= may announce (nothing else is echoed)


@router.get("/gateways", response_class=HTMLResponse)
async def gateways(request: Request, who: Who) -> Response:
    """Last seen, clock offset, backlog, drops and points of each gateway (the API's list:
    administrators; others see why not)."""
    try:
        items = await console_of(request).api.all_items("/api/v1/gateways", who.token)
    except ApiRefused as refused:
        if refused.status == 403:
            raise NotAllowed(403, "La lista de gateways es solo para administradores.") from None
        raise
    return render(request, "gateways.html", who, gateways=items)


async def _admin_page(request: Request, who: Admin, **extra: Any) -> Response:
    api = console_of(request).api
    users, points, gateway_list = await asyncio.gather(
        api.all_items("/api/v1/users", who.token), api.all_items("/api/v1/points", who.token),
        api.all_items("/api/v1/gateways", who.token))
    return render(request, "admin.html", who, users=users, points=points, gateways=gateway_list,
                  work_types=WORK_TYPES, standards=STANDARDS, modes=MODES, point_kinds=POINT_KINDS,
                  regulators=request.app.state.ctx.regulators.labels, **extra)


@router.get("/admin", response_class=HTMLResponse)
async def admin(request: Request, who: Admin, hecho: str | None = None) -> Response:
    return await _admin_page(request, who, done=hecho if hecho in SAVED else None)


def _optional_number(text: str | None) -> float | None:
    return float(text.replace(",", ".")) if text and text.strip() else None


async def _send(request: Request, who: Admin, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        return (await console_of(request).api.call(method, path, who.token, json=body)).json()
    except ApiRefused as refused:
        raise NotAllowed(refused.status, f"No se pudo guardar: {refused.message}") from None


@router.post("/admin/usuarios")
async def crear_usuario(request: Request, who: Admin, form: Form) -> Response:
    await _send(request, who, "POST", "/api/v1/users", {
        "username": form.get("username", ""), "password": form.get("password", ""),
        "email": form.get("email") or None, "is_admin": form.get("is_admin") == "on"})
    return RedirectResponse("/ui/admin?hecho=usuario", status_code=303)


@router.post("/admin/puntos")
async def crear_punto(request: Request, who: Admin, form: Form) -> Response:
    try:
        numbers = {name: _optional_number(form.get(name)) for name in ("latitude", "longitude", "water_right_lps")}
    except ValueError:
        raise NotAllowed(422, "Latitud, longitud y derecho deben ser números.") from None
    await _send(request, who, "POST", "/api/v1/points", {
        "code": form.get("code", ""), "name": form.get("name", ""), "kind": form.get("kind", ""), **numbers})
    return RedirectResponse("/ui/admin?hecho=punto", status_code=303)


@router.post("/admin/gateways", response_class=HTMLResponse)
async def crear_gateway(request: Request, who: Admin, form: Form) -> Response:
    """Registers a gateway; its token is shown on this answer only (the API shows it once)."""
    points = [code.strip() for code in form.get("points", "").split(",") if code.strip()]
    created = await _send(request, who, "POST", "/api/v1/gateways", {"name": form.get("name", ""), "points": points})
    return await _admin_page(request, who, new_gateway=created)


def _settings_json(text: str) -> dict[str, Any]:
    """The «otros parámetros» box: a JSON object, or nothing."""
    if not text.strip():
        return {}
    try:
        found = json.loads(text)
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise NotAllowed(422, "«Otros parámetros» debe ser un objeto JSON, por ejemplo {\"cadence_minutes\": 5}.")
    return found


def _configuration(form: dict[str, str], secret_field: str) -> dict[str, Any]:
    """The configuration the form describes: its fields (an empty one is left out, so an empty password
    keeps the stored one), «Válida desde» as local midnight, and the «otros parámetros» box on top."""
    body: dict[str, Any] = {key: value for key, value in form.items() if key not in FORM_ONLY and value != ""}
    if "valid_from" in body:
        try:
            body["valid_from"] = local_midnight(date.fromisoformat(body["valid_from"])).isoformat()
        except ValueError:
            raise NotAllowed(422, "«Válida desde» debe ser una fecha.") from None
    if secret_field in body and not form.get(secret_field):
        del body[secret_field]
    return {**body, **_settings_json(form.get("settings", ""))}


@router.post("/admin/reguladores/{name}")
async def configurar_regulador(request: Request, who: Admin, form: Form, name: str) -> Response:
    """A point's configuration for any registered regulator (the app factory's list); its password is
    write-only (empty keeps the stored one)."""
    label = next((r for r in request.app.state.ctx.regulators.labels if r.name == name), None)
    if label is None:
        raise NotAllowed(404, f"No hay un regulador {name!r}.")
    body = _configuration(form, label.secret_field)
    await _send(request, who, "PUT", f"/api/v1/points/{segment(form.get('point', ''))}/compliance/{segment(name)}",
                body)
    return RedirectResponse("/ui/admin?hecho=regulador", status_code=303)

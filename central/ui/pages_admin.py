"""Administración: the lists of accounts, points and gateways with their creation forms; each
account and point has its own page (:mod:`central.ui.pages_admin_edit`), each gateway too
(:mod:`central.ui.pages_gateways`). Administrators only, as in the API."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from central.ui.api import ApiRefused
from central.ui.console import Admin, Form, NotAllowed, console_of, render

router = APIRouter(prefix="/ui", include_in_schema=False)
POINT_KINDS = ("subterranea", "superficial", "superficial_flujometro", "other")
SAVED = frozenset({"usuario", "punto"})  # what ?hecho= may announce (nothing else is echoed)


async def _admin_page(request: Request, who: Admin, **extra: Any) -> Response:
    api = console_of(request).api
    users, points, gateway_list = await asyncio.gather(
        api.all_items("/api/v1/users", who.token),
        api.all_items("/api/v1/points", who.token),
        api.all_items("/api/v1/gateways", who.token),
    )
    return render(
        request, "admin.html", who, users=users, points=points, gateways=gateway_list, point_kinds=POINT_KINDS, **extra
    )


@router.get("/admin", response_class=HTMLResponse)
async def admin(request: Request, who: Admin, hecho: str | None = None) -> Response:
    return await _admin_page(request, who, done=hecho if hecho in SAVED else None)


def optional_number(text: str | None) -> float | None:
    """A number as a person types it in Chile (``12,5`` or ``12.5``); empty is none."""
    return float(text.replace(",", ".")) if text and text.strip() else None


async def send(request: Request, who: Admin, method: str, path: str, body: Any = None) -> Any:
    """A change through the API; its refusal becomes the error page, saying why."""
    try:
        return await console_of(request).api.send(method, path, who.token, body)
    except ApiRefused as refused:
        raise NotAllowed(refused.status, f"No se pudo guardar: {refused.message}") from None


@router.post("/admin/usuarios")
async def crear_usuario(request: Request, who: Admin, form: Form) -> Response:
    await send(
        request,
        who,
        "POST",
        "/api/v1/users",
        {
            "username": form.get("username", ""),
            "password": form.get("password", ""),
            "email": form.get("email") or None,
            "is_admin": form.get("is_admin") == "on",
        },
    )
    return RedirectResponse("/ui/admin?hecho=usuario", status_code=303)


@router.post("/admin/puntos")
async def crear_punto(request: Request, who: Admin, form: Form) -> Response:
    try:
        numbers = {name: optional_number(form.get(name)) for name in ("latitude", "longitude", "water_right_lps")}
    except ValueError:
        raise NotAllowed(422, "Latitud, longitud y derecho deben ser números.") from None
    await send(
        request,
        who,
        "POST",
        "/api/v1/points",
        {"code": form.get("code", ""), "name": form.get("name", ""), "kind": form.get("kind", ""), **numbers},
    )
    return RedirectResponse("/ui/admin?hecho=punto", status_code=303)

"""Administración of one account (role, active or disabled, password reset, the points it may
see) and of one point (name, position, water right, meter settings, and its DGA and SMA
configurations side by side). Every change is the API's own request; administrators only."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from central.ui import forms
from central.ui.api import ApiRefused, segment
from central.ui.console import Admin, Form, NotAllowed, console_of, render
from central.ui.pages_admin import POINT_KINDS, send
from protocols.profiles import available_profiles

router = APIRouter(prefix="/ui/admin", include_in_schema=False)
POINT_STATES = ("active", "inactive", "maintenance")
DGA_CHOICES = {
    "mode": ("off", "shadow", "live"),
    "work_type": ("subterranea", "superficial", "superficial_flujometro"),
    "standard": ("mayor", "medio", "menor", "muy_pequeno"),
    "period": ("hour", "day", "fortnight", "month", "six_months", "year"),
    "caudal_mode": ("instant", "average"),
}
SPARE_PARAMETER_ROWS = 2
USER_SAVED = {
    "cuenta": "cuenta guardada",
    "clave": "contraseña restablecida; sus sesiones se cerraron",
    "puntos": "puntos asignados guardados",
}
POINT_SAVED = {
    "punto": "punto guardado",
    "dga": "configuración DGA guardada",
    "sma": "configuración SMA guardada",
    "regulador": "configuración del regulador guardada",
}
OWN_FORMS = frozenset({"dga", "sma"})  # regulators with a form of their own; any other gets the generic one


async def _or_none(read: Awaitable[Any]) -> Any:
    """An API read whose 404 means "none yet" (a point without a regulator configuration)."""
    try:
        return await read
    except ApiRefused as refused:
        if refused.status == 404:
            return None
        raise


async def _found(read: Awaitable[Any], what: str) -> Any:
    try:
        return await read
    except ApiRefused as refused:
        if refused.status == 404:
            raise NotAllowed(404, f"No existe {what}.") from None
        raise


@router.get("/usuarios/{username}", response_class=HTMLResponse)
async def usuario(request: Request, who: Admin, username: str, hecho: str | None = None) -> Response:
    api, path = console_of(request).api, f"/api/v1/users/{segment(username)}"
    account = await _found(api.get(path, who.token), f"el usuario {username}")
    granted, points = await asyncio.gather(
        api.all_items(f"{path}/points", who.token), api.all_items("/api/v1/points", who.token)
    )
    return render(
        request,
        "admin_usuario.html",
        who,
        account=account,
        granted=set(granted),
        points=points,
        roles=forms.ROLES,
        states=forms.STATES,
        done=USER_SAVED.get(hecho or ""),
    )


def _to_user(username: str, done: str) -> Response:
    return RedirectResponse(f"/ui/admin/usuarios/{segment(username)}?hecho={done}", status_code=303)


@router.post("/usuarios/{username}")
async def guardar_usuario(request: Request, who: Admin, form: Form, username: str) -> Response:
    """Role, active or disabled, e-mail (disabling also ends the account's sessions, as in the API)."""
    await send(request, who, "PATCH", f"/api/v1/users/{segment(username)}", forms.user_change(form))
    return _to_user(username, "cuenta")


@router.post("/usuarios/{username}/clave")
async def restablecer_clave(request: Request, who: Admin, form: Form, username: str) -> Response:
    """A password reset (the API also ends every session of the account)."""
    await send(request, who, "PATCH", f"/api/v1/users/{segment(username)}", {"password": form.get("password", "")})
    return _to_user(username, "clave")


@router.post("/usuarios/{username}/puntos")
async def asignar_puntos(request: Request, who: Admin, form: Form, username: str) -> Response:
    """The complete list of points the account may see, ticked on the page."""
    await send(request, who, "PUT", f"/api/v1/users/{segment(username)}/points", {"points": forms.granted_codes(form)})
    return _to_user(username, "puntos")


@router.get("/puntos/{code}", response_class=HTMLResponse)
async def punto(request: Request, who: Admin, code: str, hecho: str | None = None) -> Response:
    api, path = console_of(request).api, f"/api/v1/points/{segment(code)}"
    point = await _found(api.get(path, who.token), f"el punto {code}")
    dga, sma = await asyncio.gather(
        _or_none(api.get(f"{path}/compliance/dga", who.token)), _or_none(api.get(f"{path}/compliance/sma", who.token))
    )
    sma_rows = [*((sma or {}).get("config", {}).get("parameters", [])), *([{}] * SPARE_PARAMETER_ROWS)]
    others = [label for label in console_of(request).ctx.regulators.labels if label.name not in OWN_FORMS]
    stored = await asyncio.gather(
        *(_or_none(api.get(f"{path}/compliance/{segment(label.name)}", who.token)) for label in others)
    )
    return render(
        request,
        "admin_punto.html",
        who,
        point=point,
        dga=dga,
        sma=sma,
        sma_rows=sma_rows,
        other_regulators=list(zip(others, stored, strict=True)),
        dga_config=(dga or {}).get("config", {}),
        sma_config=(sma or {}).get("config", {}),
        valid_from=forms.datetime_field((dga or {}).get("config", {}).get("valid_from")),
        point_kinds=POINT_KINDS,
        point_states=POINT_STATES,
        choices=DGA_CHOICES,
        profiles=available_profiles(),  # the meter profiles a site config may name
        limits=forms.DGA_LIMITS,
        done=POINT_SAVED.get(hecho or ""),
    )


async def _save_point(
    request: Request, who: Admin, code: str, method: str, path: str, body: Callable[[], Any], done: str
) -> Response:
    try:
        request_body = body()
    except forms.FormError as problem:
        raise NotAllowed(422, str(problem)) from None
    await send(request, who, method, path, request_body)
    return RedirectResponse(f"/ui/admin/puntos/{segment(code)}?hecho={done}", status_code=303)


@router.post("/puntos/{code}")
async def guardar_punto(request: Request, who: Admin, form: Form, code: str) -> Response:
    """Name, kind, status, position, water right and meter settings (the code never changes)."""
    return await _save_point(
        request, who, code, "PATCH", f"/api/v1/points/{segment(code)}", lambda: forms.point_change(form), "punto"
    )


async def _stored_config(request: Request, who: Admin, code: str, regulator: str) -> dict[str, Any] | None:
    path = f"/api/v1/points/{segment(code)}/compliance/{regulator}"
    stored = await _or_none(console_of(request).api.get(path, who.token))
    return None if stored is None else stored["config"]


async def _save_own_form(
    request: Request, who: Admin, code: str, regulator: str, body: Callable[[dict[str, Any] | None], Any]
) -> Response:
    """Store the configuration of a regulator with a form of its own (:data:`OWN_FORMS`), built from
    the form and the stored one (whose write-only password an empty field keeps)."""
    stored = await _stored_config(request, who, code, regulator)
    path = f"/api/v1/points/{segment(code)}/compliance/{regulator}"
    return await _save_point(request, who, code, "PUT", path, lambda: body(stored), regulator)


@router.post("/puntos/{code}/dga")
async def configurar_dga(request: Request, who: Admin, form: Form, code: str) -> Response:
    """The point's DGA configuration; the informant's password is write-only (empty keeps it)."""
    return await _save_own_form(request, who, code, "dga", lambda stored: forms.dga_body(form, stored))


@router.post("/puntos/{code}/sma")
async def configurar_sma(request: Request, who: Admin, form: Form, code: str) -> Response:
    """The point's SMA configuration; the password is write-only (empty keeps it)."""
    return await _save_own_form(request, who, code, "sma", lambda stored: forms.sma_body(form, stored))


@router.post("/puntos/{code}/reguladores/{name}")
async def configurar_regulador(request: Request, who: Admin, form: Form, code: str, name: str) -> Response:
    """A regulator registered without a form of its own: mode, settings as JSON and its write-only password."""
    label = next((r for r in console_of(request).ctx.regulators.labels if r.name == name), None)
    if label is None or name in OWN_FORMS:
        raise NotAllowed(404, f"No hay un regulador {name!r} con formulario genérico.")
    stored = await _stored_config(request, who, code, name)
    return await _save_point(
        request,
        who,
        code,
        "PUT",
        f"/api/v1/points/{segment(code)}/compliance/{segment(name)}",
        lambda: forms.generic_body(form, label.secret_field, stored),
        "regulador",
    )

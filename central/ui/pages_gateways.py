"""Gateways: each one's health and configuration mode; per gateway its token (renewed or revoked,
a new one shown once) and its configuration versions from the central server (issue 18): who,
when and why, published, pending or running, the last apply result, one version, the diff of
two, a new version validated like ``caudal edge check`` (its errors shown as file:line:field),
and publishing. Everything through the API's routes (administrators, as in the API)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from central.ui.api import ApiRefused, segment
from central.ui.console import Admin, Form, NotAllowed, Viewer, Who, console_of, render
from central.ui.pages_admin import send

router = APIRouter(prefix="/ui/gateways", include_in_schema=False)
SHOWN_VERSIONS = 50
DONE = {
    "revocado": "token revocado: el gateway ya no puede subir lecturas",
    "publicada": "versión publicada: el gateway la tomará en su próxima subida",
    "guardada": "versión guardada (aún no publicada)",
    "puntos": "puntos del gateway guardados",
}


def _path(name: str) -> str:
    return f"/api/v1/gateways/{segment(name)}"


@router.get("", response_class=HTMLResponse)
async def gateways(request: Request, who: Who) -> Response:
    """Last seen, clock offset, backlog, drops, points, configuration mode and running version of
    each gateway (the API's lists: administrators; others see why not)."""
    api = console_of(request).api
    try:
        items, configs = await asyncio.gather(
            api.all_items("/api/v1/gateways", who.token), api.all_items("/api/v1/gateway-configs", who.token)
        )
    except ApiRefused as refused:
        if refused.status == 403:
            raise NotAllowed(403, "La lista de gateways es solo para administradores.") from None
        raise
    by_name = {config["name"]: config for config in configs}
    return render(request, "gateways.html", who, gateways=items, configs=by_name)


@router.post("", response_class=HTMLResponse)
async def registrar(request: Request, who: Admin, form: Form) -> Response:
    """Registers a gateway; its token is shown on this answer only (the API shows it once)."""
    points = [code.strip() for code in form.get("points", "").split(",") if code.strip()]
    created = await send(request, who, "POST", "/api/v1/gateways", {"name": form.get("name", ""), "points": points})
    return await _gateway_page(request, who, created["name"], new_token=created["token"])


async def _gateway_page(request: Request, who: Viewer, name: str, status: int = 200, **extra: Any) -> Response:
    api = console_of(request).api
    try:
        info, config, versions = await asyncio.gather(
            api.get(_path(name), who.token),
            api.get(f"{_path(name)}/config", who.token),
            api.get(f"{_path(name)}/config/versions", who.token, limit=SHOWN_VERSIONS),
        )
    except ApiRefused as refused:
        if refused.status == 404:
            raise NotAllowed(404, f"No hay un gateway {name}.") from None
        raise
    newest = versions["items"][0] if versions["items"] else None
    draft = extra.pop("draft", None)
    if draft is None and newest is not None:
        draft = (await api.get(f"{_path(name)}/config/versions/{newest['version']}", who.token))["document"]
    return render(
        request,
        "gateway.html",
        who,
        status=status,
        gateway=info,
        config=config,
        versions=versions,
        draft=draft or "",
        **extra,
    )


@router.get("/{name}", response_class=HTMLResponse)
async def gateway(request: Request, who: Admin, name: str, hecho: str | None = None) -> Response:
    return await _gateway_page(request, who, name, done=DONE.get(hecho or ""))


def _to_gateway(name: str, done: str) -> Response:
    return RedirectResponse(f"/ui/gateways/{segment(name)}?hecho={done}", status_code=303)


@router.post("/{name}/token", response_class=HTMLResponse)
async def renovar_token(request: Request, who: Admin, form: Form, name: str) -> Response:
    """A new token, shown on this answer only; the old one stops working at once (and a revoked
    gateway is reinstated), as in the API."""
    rotated = await send(request, who, "POST", f"{_path(name)}/rotate-token")
    return await _gateway_page(request, who, name, new_token=rotated["token"])


@router.post("/{name}/revocar")
async def revocar(request: Request, who: Admin, form: Form, name: str) -> Response:
    await send(request, who, "POST", f"{_path(name)}/revoke")
    return _to_gateway(name, "revocado")


@router.post("/{name}/puntos")
async def puntos(request: Request, who: Admin, form: Form, name: str) -> Response:
    """The complete list of points the gateway reports (codes separated by commas)."""
    codes = [code.strip() for code in form.get("points", "").split(",") if code.strip()]
    await send(request, who, "PATCH", _path(name), {"points": codes})
    return _to_gateway(name, "puntos")


@router.post("/{name}/versiones", response_class=HTMLResponse)
async def nueva_version(request: Request, who: Admin, form: Form, name: str) -> Response:
    """Stores a new version after the server's validation; an invalid one is shown again with
    each problem (file:line:field) and nothing is stored. Published at once if asked."""
    body = {"document": form.get("document", ""), "reason": form.get("reason", "").strip()}
    try:
        created = await console_of(request).api.send("POST", f"{_path(name)}/config/versions", who.token, body)
    except ApiRefused as refused:
        if refused.status != 422:
            raise NotAllowed(refused.status, f"No se pudo guardar: {refused.message}") from None
        return await _gateway_page(
            request,
            who,
            name,
            status=422,
            draft=body["document"],
            reason=body["reason"],
            problems=refused.details,
            refusal=refused.message,
        )
    if form.get("publicar") == "on":
        return await publicar(request, who, form, name, created["version"])
    return _to_gateway(name, "guardada")


@router.post("/{name}/versiones/{version}/publicar")
async def publicar(request: Request, who: Admin, form: Form, name: str, version: int) -> Response:
    await send(request, who, "POST", f"{_path(name)}/config/versions/{version}/publish")
    return _to_gateway(name, "publicada")


@router.get("/{name}/versiones/{version}", response_class=HTMLResponse)
async def version(request: Request, who: Admin, name: str, version: int) -> Response:
    """One version's document, and its diff from the version before it."""
    try:
        detail = await console_of(request).api.get(f"{_path(name)}/config/versions/{version}", who.token)
    except ApiRefused as refused:
        raise NotAllowed(refused.status, f"No se pudo abrir la versión: {refused.message}") from None
    return render(request, "gateway_version.html", who, name=name, detail=detail)


@router.get("/{name}/diferencias", response_class=HTMLResponse)
async def diferencias(request: Request, who: Admin, name: str, desde: int, hasta: int) -> Response:
    """The diff between any two versions of the gateway."""
    try:
        diff = await console_of(request).api.get(f"{_path(name)}/config/versions/{hasta}/diff/{desde}", who.token)
    except ApiRefused as refused:
        raise NotAllowed(refused.status, f"No se pudieron comparar: {refused.message}") from None
    return render(request, "gateway_diff.html", who, name=name, diff=diff)

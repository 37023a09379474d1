"""``caudal edge check --online``: does the central server let this gateway report every device's point?

A device whose ``point:`` is not assigned to the gateway on the central server has its
readings refused (and held back in the buffer, :mod:`edge.held`); asking the server with the
gateway's own token before starting the agent finds it at the well, not days later.
"""

from __future__ import annotations

from pydantic import ValidationError

from edge.config import SiteConfig
from edge.http import HttpTransport, UplinkError
from edge.uplinkreply import server_message
from protocols.uplink import ASSIGNED_POINTS_PATH, AssignedPoints


class OnlineCheckFailed(Exception):
    """The central server could not be asked, or did not answer with the gateway's points."""


async def fetch_assigned_points(site: SiteConfig, token: str) -> AssignedPoints:
    """The points the central server assigns to the gateway whose ``token`` this is."""
    gateway = site.gateway
    url = gateway.central_url + ASSIGNED_POINTS_PATH
    transport = HttpTransport(ca_bundle=gateway.ca_bundle)
    try:
        reply = await transport.get(url, {"Authorization": f"Bearer {token}"})
    except UplinkError as exc:
        raise OnlineCheckFailed(f"no se puede consultar al servidor central: {exc}") from exc
    finally:
        await transport.close()
    if reply.status != 200:
        raise OnlineCheckFailed(f"el servidor central respondió HTTP {reply.status}: {server_message(reply.body)}")
    try:
        return AssignedPoints.model_validate_json(reply.body)
    except ValidationError as exc:
        raise OnlineCheckFailed(f"{url} no respondió con los puntos del gateway (¿es correcto central_url?)") from exc


def online_problems(site: SiteConfig, assigned: AssignedPoints) -> list[str]:
    """What the server's answer says is wrong: another gateway's token, devices with a point not assigned."""
    problems = []
    if assigned.gateway != site.gateway.id:
        problems.append(
            f"gateway.token_file tiene el token del gateway {assigned.gateway!r}, no el de {site.gateway.id!r}"
        )
    allowed = set(assigned.points)
    listed = ", ".join(assigned.points) or "ninguno"
    problems += [
        f"devices[{index}] {device.name}: el punto {device.point} no está asignado al gateway {assigned.gateway} en el"
        f" servidor central (puede reportar: {listed}); sus lecturas quedarían retenidas"
        for index, device in enumerate(site.devices)
        if device.point not in allowed
    ]
    return problems

"""Writing site.yaml for ``caudal edge init``: commented YAML, validated before it replaces anything."""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from edge.config import BusType, SiteConfig, load_site_config
from protocols.profiles import UnknownProfileError, load_profile
from protocols.siteconfig_check import ConfigError

SITE_HEADER = """\
# Configuración del sitio del gateway {gateway}, escrita por `caudal edge init`.
# Revísela con `caudal edge check -c {path}` y pruébela con `caudal edge poll-once -c {path}`.
# Las direcciones son de cable (desde 0); las unidades son las de la pantalla de cada medidor.
"""


def render_site_yaml(site: dict[str, Any], path: str = "site.yaml") -> str:
    """The YAML text of a site (sections gateway, buses, devices), with each meter's model as a comment."""
    data = _tidy(site)
    parts = [
        SITE_HEADER.format(gateway=data["gateway"].get("id"), path=path),
        _dump({"gateway": data["gateway"]}),
        "\n# Buses: uno por puerto serie (rtu) o por dirección TCP (tcp, rtu-over-tcp).\n",
        _dump({"buses": data["buses"]}),
        "\ndevices:\n",
    ]
    for device in data["devices"]:
        parts.append(_device_comment(device.get("profile")))
        parts.append(_indent(_dump([device])))
    return "".join(parts)


def _tidy(data: Any) -> Any:
    """Whole floats as integers and TCP ports as numbers, as a person would write them."""
    if isinstance(data, dict):
        tidy = {key: _tidy(value) for key, value in data.items()}
        if tidy.get("type") in (BusType.TCP.value, BusType.RTU_OVER_TCP.value) and str(tidy.get("port", "")).isdigit():
            tidy["port"] = int(tidy["port"])
        return tidy
    if isinstance(data, list):
        return [_tidy(item) for item in data]
    if isinstance(data, float) and data.is_integer():
        return int(data)
    return data


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def _indent(text: str) -> str:
    return "".join(f"  {line}" for line in text.splitlines(keepends=True))


def _device_comment(profile_name: str | None) -> str:
    if profile_name is None:
        return "  # registros indicados a mano\n"
    try:
        profile = load_profile(profile_name)
    except UnknownProfileError:
        return f"  # perfil {profile_name} (desconocido)\n"
    variables = ", ".join(f"{spec.variable} ({spec.unit})" for spec in profile.registers)
    return f"  # {profile.manufacturer} {profile.model}: {variables}\n"


def init_site_config(path: Path, data: dict[str, Any], overwrite: bool = False) -> SiteConfig:
    """Write ``data`` as a commented site.yaml at ``path`` once it validates; nothing is written otherwise.

    The file is written beside ``path`` and renamed into place, and read back with the
    agent's own loader first, so a half-written or unloadable file never replaces a good one.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} ya existe; elija otro --output, o agregue --force para reemplazarlo")
    text = render_site_yaml(data, str(path))
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or Path("."))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        config = _load_as(temporary, path)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return config


def _load_as(temporary: str, path: Path) -> SiteConfig:
    """The agent's own loader on the draft; its messages name the file being written."""
    try:
        return load_site_config(temporary)
    except ConfigError as exc:
        raise ConfigError([replace(problem, file=str(path)) for problem in exc.problems]) from None

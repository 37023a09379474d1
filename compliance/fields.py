"""Field types the regulators' configurations share (pydantic, pure).

A DGA work and an SMA point both log in with a RUT and send to a base URL (the regulator's
production address, or a stand-in on loopback); one definition of each check keeps the two
configurations from drifting apart.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from compliance.dga.rut import normalize_rut


def http_base_url(value: str) -> str:
    """An http(s) URL without its trailing slash (paths are appended to it)."""
    if not value.startswith(("https://", "http://")) or len(value) < 10:
        raise ValueError(f"base_url debe ser una URL http(s), se recibió {value!r}")
    return value.rstrip("/")


Rut = Annotated[str, AfterValidator(normalize_rut)]
BaseUrl = Annotated[str, AfterValidator(http_base_url)]

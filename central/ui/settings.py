"""The console's settings, from ``CAUDAL_CONSOLE_*`` variables (validated when the app is built)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from central.settings import ENV_PREFIX, model_from_env

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"


class ConsoleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tile_url: str = Field(default=OSM_TILES, description="Map tiles ({z}/{x}/{y}); empty: no tiles (air-gapped)")
    tile_attribution: str = OSM_ATTRIBUTION
    cookie_secure: Literal["auto", "always", "never"] = Field(
        default="auto", description="Secure flag of the session cookie; auto: when the request came over https")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> ConsoleSettings:
        return model_from_env(cls, environ, ENV_PREFIX + "CONSOLE_", **overrides)

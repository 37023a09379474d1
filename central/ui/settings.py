"""The console's settings, from ``CAUDAL_CONSOLE_*`` variables (validated when the app is built)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from central.settings import ENV_PREFIX, EnvSettings

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"


class ConsoleSettings(EnvSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX + "CONSOLE_")

    tile_url: str = Field(default=OSM_TILES, description="Map tiles ({z}/{x}/{y}); empty: no tiles (air-gapped)")
    tile_attribution: str = OSM_ATTRIBUTION
    cookie_secure: Literal["auto", "always", "never"] = Field(
        default="auto", description="Secure flag of the session cookie; auto: when the request came over https"
    )

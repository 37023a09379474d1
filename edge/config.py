"""The site configuration (``site.yaml``) as the agent and its commands use it.

The models and their validation (file:line:field errors) live in :mod:`protocols.siteconfig`,
shared with the central server, which validates a configuration it will send to a gateway
with the same code as ``caudal edge check`` (issue 18).
"""

from protocols.siteconfig import (
    MAX_BAUDRATE,
    MAX_UNIT_ID,
    MIN_BAUDRATE,
    BackoffConfig,
    BusConfig,
    BusType,
    ConfigError,
    ConfigProblem,
    DeviceConfig,
    GatewayConfig,
    RegisterOverride,
    SiteConfig,
    load_site_config,
)

__all__ = [
    "MAX_BAUDRATE",
    "MAX_UNIT_ID",
    "MIN_BAUDRATE",
    "BackoffConfig",
    "BusConfig",
    "BusType",
    "ConfigError",
    "ConfigProblem",
    "DeviceConfig",
    "GatewayConfig",
    "RegisterOverride",
    "SiteConfig",
    "load_site_config",
]

"""The demo's configuration change from the central server (issue 18).

The demo gateway runs with ``config_source: central``. Once its agent runs, the demo stores a
new version of its buses and devices on the server (the same ones with a longer bus timeout)
and publishes it: the agent learns of it from its next upload reply, applies it without a
restart, and reports back; the summary shows what the server says the gateway runs.
"""

from __future__ import annotations

import yaml

from caudal.demo_central import CentralApi
from caudal.demo_wells import GATEWAY
from protocols.siteconfig import SiteConfig

NEW_TIMEOUT_S = 1.0
REASON = f"demo: tiempo de espera del bus {NEW_TIMEOUT_S:g} s, publicada desde el servidor central"


def changed_document(site: SiteConfig) -> str:
    """The site's buses and devices as the server stores them, every bus with the new timeout."""
    buses = [
        bus.model_copy(update={"timeout_s": NEW_TIMEOUT_S}).model_dump(mode="json", exclude_defaults=True)
        for bus in site.buses
    ]
    devices = [device.model_dump(mode="json", exclude_defaults=True) for device in site.devices]
    return yaml.safe_dump({"buses": buses, "devices": devices}, sort_keys=False)


async def publish_configuration(api: CentralApi, site: SiteConfig) -> int:
    """Store and publish the changed configuration; returns its version."""
    created = await api.post(
        f"/api/v1/gateways/{GATEWAY}/config/versions", {"document": changed_document(site), "reason": REASON}
    )
    await api.post(f"/api/v1/gateways/{GATEWAY}/config/versions/{created['version']}/publish", {})
    return int(created["version"])

"""The central configuration kept beside the buffer: what a restart without network runs."""

from __future__ import annotations

import json
from pathlib import Path

from edge.managed import central_store_path, stored_central
from tests.edge.sites import device, site, tcp_bus

KEPT = """buses:
  - {name: plc, type: tcp, host: 127.0.0.1, port: 1502}
devices:
  - {name: pozo-2, bus: plc, unit_id: 2, point: P2, profile: siemens-mag6000}
"""


def test_a_restart_runs_the_kept_central_version_with_the_local_gateway_section(tmp_path: Path) -> None:
    local = site(tmp_path, [tcp_bus(1502)], [device("pozo-1", 1, point="P1")], config_source="central")
    central_store_path(Path(local.gateway.buffer_path)).write_text(json.dumps({"version": 4, "document": KEPT}))
    version, document, config = stored_central(local)
    assert (version, document) == (4, KEPT)
    assert ([d.name for d in config.devices], config.gateway) == (["pozo-2"], local.gateway)


def test_without_a_kept_version_or_with_a_damaged_one_the_local_file_runs(tmp_path: Path) -> None:
    local = site(tmp_path, [tcp_bus(1502)], [device("pozo-1", 1, point="P1")], config_source="central")
    assert stored_central(local) is None
    central_store_path(Path(local.gateway.buffer_path)).write_text('{"version": 4')
    assert stored_central(local) is None

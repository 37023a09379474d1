"""Commissioning a gateway: find the devices on a bus, read raw registers, write site.yaml.

Library modules (no printing): :mod:`.options` (what the technician types, as line
settings), :mod:`.scan` (unit ids under every line setting), :mod:`.raw` (raw registers and
every way to read them), :mod:`.site_yaml` (the commented site.yaml, validated before it is
written). Command modules: :mod:`.cli` (``caudal edge scan | read``, and registers ``init``
from :mod:`.init`), both printing through :mod:`.terminal`. Imports run one way: commands
import the library modules, never each other's terminal; all Modbus I/O goes through
:mod:`edge.modbus`.
"""

from __future__ import annotations

from edge.commission.options import (
    line_label,
    parse_baudrates,
    parse_parities,
    parse_units,
    serial_buses,
    tcp_bus,
)
from edge.commission.raw import (
    RawRead,
    byte_layout,
    interpretation_dict,
    opened,
    raw_read,
    validate_read,
)
from edge.commission.scan import (
    DEFAULT_PROBES,
    Answer,
    Found,
    LineUnusable,
    Probe,
    ScanProgress,
    scan_bus,
)
from edge.commission.site_yaml import init_site_config, render_site_yaml

__all__ = [
    "DEFAULT_PROBES",
    "Answer",
    "Found",
    "LineUnusable",
    "Probe",
    "RawRead",
    "ScanProgress",
    "byte_layout",
    "init_site_config",
    "interpretation_dict",
    "line_label",
    "opened",
    "parse_baudrates",
    "parse_parities",
    "parse_units",
    "raw_read",
    "render_site_yaml",
    "scan_bus",
    "serial_buses",
    "tcp_bus",
    "validate_read",
]

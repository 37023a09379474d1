"""Site configuration text the tests share: gw-norte-01's gateway section, as ``caudal edge init``
writes it (no server module imported here, so the edge's tests can use it)."""

GATEWAY_NORTE = """\
gateway:
  id: gw-norte-01
  central_url: https://central.example.cl
  token_file: /etc/caudal/token
  buffer_path: /var/lib/caudal/buffer.db
"""
# The TCP bus of a PLC on the loopback, as a list item of ``buses``.
PLC_BUS = """\
  - name: plc
    type: tcp
    host: 127.0.0.1
    port: 1502
"""
# pozo-1's flowmeter on bus tcp-1, as a list item of ``devices`` (what ``caudal edge init`` writes).
FLOWMETER_POZO_1 = """\
  - name: caudalimetro-pozo-1
    bus: tcp-1
    unit_id: 1
    point: OB-0601-444
    interval_s: 60
    profile: siemens-mag6000
"""


def plc_meter(point: str) -> str:
    """A whole buses-and-devices document: pozo-1's flowmeter reporting ``point`` on the PLC bus
    (what the console's gateway-configuration tests publish)."""
    return (
        "buses:\n" + PLC_BUS + "devices:\n  - name: pozo-1\n    bus: plc\n    unit_id: 1\n"
        f"    point: {point}\n    profile: siemens-mag6000\n"
    )

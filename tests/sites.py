"""Site configuration text the tests share: gw-norte-01's gateway section, as ``caudal edge init``
writes it (no server module imported here, so the edge's tests can use it)."""

GATEWAY_NORTE = """\
gateway:
  id: gw-norte-01
  central_url: https://central.example.cl
  token_file: /etc/caudal/token
  buffer_path: /var/lib/caudal/buffer.db
"""

"""Gateway configurations stored, validated and published on the central server (issue 18),
through the API against SQLite and PostgreSQL.

A version is validated with the same code as ``caudal edge check`` before it is stored; an
invalid one is a 422 naming line and field, and nothing is stored. A gateway fetches only the
configuration published for itself, with its own token.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from protocols.clock import ManualClock
from protocols.uplink import CONFIG_PATH, INGEST_PATH
from tests.central.telemetry_support import GATEWAY_TOKEN, OTHER_GATEWAY_TOKEN, RESET, START, Site
from tests.sites import PLC_BUS

ONE_METER = (
    "buses:\n"
    + PLC_BUS
    + """\
devices:
  - name: pozo-1
    bus: plc
    unit_id: 1
    point: P1
    profile: siemens-mag6000
"""
)
TWO_METERS = (
    ONE_METER
    + """  - name: pozo-2
    bus: plc
    unit_id: 2
    point: P2
    profile: siemens-mag6000
"""
)
BAD = TWO_METERS.replace("unit_id: 2", "unit_id: 999").replace("bus: plc", "bus: rs485", 1)


CLEAR = (
    "DELETE FROM gateway_configs",
    "UPDATE gateways SET config_published = NULL, config_published_at = NULL, config_source = NULL,"
    " config_running = NULL, config_result = NULL, config_reported_at = NULL",
)


@pytest.fixture
def site(site_client: TestClient) -> Site:
    """The module's seeded app, without configurations or audit entries."""
    ctx = site_client.app.state.ctx
    with ctx.db.transaction() as conn:
        for statement in (*RESET, *CLEAR):
            conn.execute(statement)
    ctx.clock = ManualClock(START)
    return Site(site_client, ctx.clock)


def create(site: Site, gateway: str, document: str, reason: str = "alta del pozo") -> dict:
    reply = site.post(f"/api/v1/gateways/{gateway}/config/versions", {"document": document, "reason": reason})
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_an_invalid_configuration_is_refused_with_line_and_field_and_nothing_is_stored(site: Site):
    reply = site.post("/api/v1/gateways/gw-norte/config/versions", {"document": BAD, "reason": "prueba"})
    assert reply.status_code == 422
    assert reply.json()["error"]["details"] == [
        {
            "file": "gw-norte/v1.yaml",
            "line": 8,
            "field": "devices[0].bus",
            "message": "no hay un bus 'rs485'; los buses son: plc",
        },
        {
            "file": "gw-norte/v1.yaml",
            "line": 14,
            "field": "devices[1].unit_id",
            "message": "debe ser menor o igual que 247",
        },
    ]
    assert site.rows("SELECT version FROM gateway_configs") == []


def test_versions_record_who_when_why_and_the_diff_from_the_one_before(site: Site):
    first = create(site, "gw-norte", ONE_METER)
    second = create(site, "gw-norte", TWO_METERS, reason="segundo caudalímetro")
    assert (first["version"], first["diff"], first["created_by"]) == (1, "", "admin")
    assert (second["version"], second["reason"], second["published"]) == (2, "segundo caudalímetro", False)
    assert second["diff"].splitlines()[:2] == ["--- gw-norte/v1.yaml", "+++ gw-norte/v2.yaml"]
    assert [line for line in second["diff"].splitlines() if line.startswith("+ ")] == [
        "+  - name: pozo-2",
        "+    bus: plc",
        "+    unit_id: 2",
        "+    point: P2",
        "+    profile: siemens-mag6000",
    ]
    listed = site.get("/api/v1/gateways/gw-norte/config/versions").json()
    assert [(item["version"], item["reason"]) for item in listed["items"]] == [
        (2, "segundo caudalímetro"),
        (1, "alta del pozo"),
    ]


@pytest.mark.parametrize(
    ("version", "base", "added", "removed"),
    [
        (3, 1, ["+    port: 1503"], ["-    port: 1502"]),
        (1, 3, ["+    port: 1502"], ["-    port: 1503"]),
        (2, 2, [], []),
    ],
)
def test_any_two_versions_are_compared(site: Site, version: int, base: int, added: list[str], removed: list[str]):
    create(site, "gw-norte", ONE_METER)
    create(site, "gw-norte", ONE_METER, reason="igual")
    create(site, "gw-norte", ONE_METER.replace("port: 1502", "port: 1503"), reason="otro puerto")
    reply = site.get(f"/api/v1/gateways/gw-norte/config/versions/{version}/diff/{base}")
    assert reply.status_code == 200, reply.text
    lines = reply.json()["diff"].splitlines()
    assert lines[:2] == ([f"--- gw-norte/v{base}.yaml", f"+++ gw-norte/v{version}.yaml"] if added else [])
    assert (
        [line for line in lines[2:] if line.startswith("+")],
        [line for line in lines[2:] if line.startswith("-")],
    ) == (added, removed)


def test_comparing_with_a_version_that_does_not_exist_is_a_404(site: Site):
    create(site, "gw-norte", ONE_METER)
    reply = site.get("/api/v1/gateways/gw-norte/config/versions/1/diff/7")
    assert (reply.status_code, reply.json()["error"]["message"]) == (
        404,
        "el gateway 'gw-norte' no tiene la versión 7 de configuración",
    )


def test_a_gateway_fetches_only_what_is_published_for_itself(site: Site):
    create(site, "gw-norte", ONE_METER)
    create(site, "gw-sur", ONE_METER.replace("P1", "P3"))
    assert site.get(CONFIG_PATH, token=GATEWAY_TOKEN).json() == {
        "gateway": "gw-norte",
        "version": None,
        "document": None,
    }
    assert site.post("/api/v1/gateways/gw-sur/config/versions/1/publish", {}).status_code == 200
    assert site.get(CONFIG_PATH, token=GATEWAY_TOKEN).json()["version"] is None
    assert site.get(CONFIG_PATH, token=OTHER_GATEWAY_TOKEN).json() == {
        "gateway": "gw-sur",
        "version": 1,
        "document": ONE_METER.replace("P1", "P3"),
    }


@pytest.mark.parametrize("path", ["/api/v1/gateways/gw-norte/config/versions", "/api/v1/gateways/gw-norte/config"])
def test_a_gateway_token_cannot_read_the_administrators_side(site: Site, path: str):
    assert site.get(path, token=GATEWAY_TOKEN).status_code == 401


def heartbeat(site: Site, report: dict[str, object]) -> None:
    """A heartbeat whose agent status carries ``report``, as the agent sends one."""
    body = {
        "schema": 1,
        "gateway": "gw-norte",
        "sent_at": START,
        "readings": [],
        "agent": {"version": "0.1.0", "buffer_depth": 0, "config": report},
    }
    assert site.post(INGEST_PATH, body, token=GATEWAY_TOKEN).status_code == 200


def test_the_api_shows_what_the_agent_reports_and_the_pending_version(site: Site):
    create(site, "gw-norte", ONE_METER)
    create(site, "gw-norte", TWO_METERS)
    site.post("/api/v1/gateways/gw-norte/config/versions/2/publish", {})
    report = {"source": "central", "running_version": 1, "result": "rolled back from version 2: every device failed"}
    heartbeat(site, report)
    status = site.get("/api/v1/gateways/gw-norte/config").json()
    assert {
        key: status[key]
        for key in ("config_source", "running_version", "published_version", "pending_version", "last_result")
    } == {
        "config_source": "central",
        "running_version": 1,
        "published_version": 2,
        "pending_version": 2,
        "last_result": "rolled back from version 2: every device failed",
    }
    fleet = site.get("/api/v1/gateway-configs").json()["items"]
    assert [(item["name"], item["config_source"]) for item in fleet] == [("gw-norte", "central"), ("gw-sur", None)]
    assert [row["action"] for row in site.rows("SELECT action FROM audit_log ORDER BY id")] == [
        "gateway.config_created",
        "gateway.config_created",
        "gateway.config_published",
        "gateway.config_not_applied",
    ]


def test_a_rollback_reported_by_every_heartbeat_is_audited_once(site: Site):
    create(site, "gw-norte", ONE_METER)
    report = {"source": "central", "running_version": None, "result": "rolled back from version 1: no device answered"}
    for _ in range(3):
        heartbeat(site, report)
    heartbeat(site, {"source": "central", "running_version": 1, "result": "applied version 1"})
    assert [(row["action"]) for row in site.rows("SELECT action FROM audit_log ORDER BY id")] == [
        "gateway.config_created",
        "gateway.config_not_applied",
    ]
    assert site.get("/api/v1/gateways/gw-norte/config").json()["last_result"] == "applied version 1"


def test_a_gateway_on_local_configuration_has_nothing_pending(site: Site):
    create(site, "gw-norte", ONE_METER)
    site.post("/api/v1/gateways/gw-norte/config/versions/1/publish", {})
    heartbeat(site, {"source": "local", "result": "applied site.yaml"})
    status = site.get("/api/v1/gateways/gw-norte/config").json()
    assert (status["config_source"], status["published_version"], status["pending_version"]) == ("local", 1, None)


def test_publishing_a_version_that_does_not_exist_is_a_404(site: Site):
    reply = site.post("/api/v1/gateways/gw-norte/config/versions/7/publish", {})
    assert reply.status_code == 404
    assert reply.json()["error"]["message"] == "el gateway 'gw-norte' no tiene la versión 7 de configuración"


@pytest.mark.parametrize(
    ("document", "line", "message"),
    [
        (
            "buses: &a [*a]\ndevices: []\n",
            1,
            "no es YAML válido: un alias apunta al ancla dentro de la que está (un documento recursivo)",
        ),
        ("buses: []\n\x07\n", 2, "no es YAML válido: el carácter #x0007 no se permite en YAML"),
        ("buses: [\n", 2, "no es YAML válido: se esperaba un valor, pero se encontró el fin del archivo"),
    ],
)
def test_a_document_that_is_not_yaml_is_a_422_naming_the_line(site: Site, document: str, line: int, message: str):
    reply = site.post("/api/v1/gateways/gw-norte/config/versions", {"document": document, "reason": "prueba"})
    assert reply.status_code == 422
    assert reply.json()["error"]["details"] == [
        {"file": "gw-norte/v1.yaml", "line": line, "field": "", "message": message}
    ]


SECOND_METER = "  - name: {name}\n    bus: plc\n    unit_id: {unit_id}\n    point: P2\n    profile: siemens-mag6000\n"
OWN_FLOW = "    registers:\n      - {variable: flow, address: 7, type: float32, unit: L/s}\n"

# One row per kind of mistake an operator can make in a version: (document, line, field, the Spanish message)
MISTAKES = {
    "unknown field": (
        ONE_METER.replace("port: 1502\n", "port: 1502\n    speed: 9600\n"),
        6,
        "buses[0].speed",
        "campo desconocido",
    ),
    "missing field": (ONE_METER.replace("    point: P1\n", ""), 7, "devices[0].point", "falta este campo"),
    "wrong type": (
        ONE_METER.replace("unit_id: 1", "unit_id: uno"),
        9,
        "devices[0].unit_id",
        "debe ser un número entero",
    ),
    "out of range": (
        ONE_METER.replace("unit_id: 1", "unit_id: 0"),
        9,
        "devices[0].unit_id",
        "debe ser mayor o igual que 1",
    ),
    "bad enum": (
        ONE_METER.replace("type: tcp", "type: udp"),
        3,
        "buses[0].type",
        "debe ser 'rtu', 'tcp' o 'rtu-over-tcp'",
    ),
    "a gateway section": (
        "gateway:\n  id: gw-norte\n  token_file: /etc/caudal/token\n" + ONE_METER,
        1,
        "gateway",
        "campo desconocido",
    ),
    "duplicate device name": (
        ONE_METER + SECOND_METER.format(name="pozo-1", unit_id=2),
        12,
        "devices[1].name",
        "el nombre 'pozo-1' está repetido (también en devices[0])",
    ),
    "unknown bus": (
        ONE_METER.replace("bus: plc", "bus: rs485"),
        8,
        "devices[0].bus",
        "no hay un bus 'rs485'; los buses son: plc",
    ),
    "unit id twice on a bus": (
        ONE_METER + SECOND_METER.format(name="pozo-2", unit_id=1),
        14,
        "devices[1].unit_id",
        "el unit id 1 del bus 'plc' ya es del equipo 'pozo-1'",
    ),
    "variable read twice": (
        ONE_METER + OWN_FLOW,
        13,
        "devices[0].registers[0].variable",
        "la variable 'flow' ya se lee (en el perfil 'siemens-mag6000')",
    ),
    "unknown profile": (
        ONE_METER.replace("siemens-mag6000", "siemens-mag9000"),
        11,
        "devices[0].profile",
        "perfil desconocido 'siemens-mag9000'; disponibles: abb-aquamaster3, generic-4-20ma,"
        " keller-series30, krohne-ifc300, siemens-mag6000, xylem-magflux",
    ),
    "no sections": ("- just\n- a list\n", 1, "", "se esperaban las secciones buses y devices"),
    "not yaml": (
        ONE_METER.replace("    host: 127.0.0.1", "     host: 127.0.0.1"),
        4,
        "",
        "no es YAML válido: aquí no cabe un «clave: valor» (¿falta el espacio después de «:» o la sangría"
        " está corrida?)",
    ),
}


@pytest.mark.parametrize(("document", "line", "field", "message"), MISTAKES.values(), ids=MISTAKES.keys())
def test_each_kind_of_mistake_is_a_422_in_spanish_with_file_line_and_field(
    site: Site, document: str, line: int, field: str, message: str
):
    reply = site.post("/api/v1/gateways/gw-norte/config/versions", {"document": document, "reason": "prueba"})
    located = f"gw-norte/v1.yaml:{line}: {field}: {message}" if field else f"gw-norte/v1.yaml:{line}: {message}"
    assert (reply.status_code, reply.json()) == (
        422,
        {
            "error": {
                "status": 422,
                "code": "validation_error",
                "message": f"la configuración no es válida: {located}",
                "details": [{"file": "gw-norte/v1.yaml", "line": line, "field": field, "message": message}],
            }
        },
    )

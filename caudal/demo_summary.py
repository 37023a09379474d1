"""What the demo shows at the end: gathered from the central API, the mail server and the
DGA stand-in while everything still runs, then printed with Rich.

Every figure comes from where an operator would look (the API), not from the demo's own
bookkeeping, so the summary is evidence that the chain worked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rich.console import Console
from rich.table import Table

from caudal.demo_central import CentralApi
from caudal.demo_smtp import CapturedMail
from caudal.demo_wells import GATEWAY, WELLS

ALERTS_PATH = "/api/v1/alerts"
CHANNELS_PATH = "/api/v1/users/me/channels"
DGA_CONFIG_PATH = "/api/v1/points/{code}/compliance/dga"
SUBMISSIONS_PATH = "/api/v1/compliance/submissions"
SHOWN_VARIABLES = (("flow", "L/s"), ("totalizer", "m3"), ("level", "m"), ("water_table", "m"))


@dataclass(frozen=True)
class LatestValue:
    value: float | None
    unit: str
    quality: str


@dataclass(frozen=True)
class PointSummary:
    code: str
    name: str
    live_readings: int  # stored with a ts from the demo's start on: what the agent uploaded
    backlog_readings: int  # stored before the start: the backfilled history
    latest: dict[str, LatestValue]


@dataclass(frozen=True)
class AlertSummary:
    subject: str
    kind: str
    severity: str
    status: str
    message: str


@dataclass(frozen=True)
class SlotSummary:
    point: str
    slot: datetime
    state: str
    comprobante: str | None
    reasons: tuple[str, ...]
    caudal: str | None = None  # as declared (or to be declared) to the DGA, L/s


@dataclass
class DemoSummary:
    api_docs: str
    username: str
    password: str
    points: list[PointSummary] = field(default_factory=list)
    gateway_online: bool = False
    gateway_last_seen: str | None = None
    alerts: list[AlertSummary] = field(default_factory=list)
    mails: list[CapturedMail] = field(default_factory=list)
    slots: list[SlotSummary] = field(default_factory=list)
    issued_comprobantes: set[str] = field(default_factory=set)  # what the DGA stand-in handed out
    dga_holds: dict[str, dict[str, str]] = field(default_factory=dict)  # comprobante -> what the stand-in stored
    configuration: dict[str, object] = field(default_factory=dict)  # GET /api/v1/gateways/{name}/config

    @property
    def console_url(self) -> str:
        """The operator console, served by the same central server as the API docs."""
        return self.api_docs.removesuffix("/docs") + "/ui/"

    @property
    def accepted_slots(self) -> list[SlotSummary]:
        return [slot for slot in self.slots if slot.state == "accepted" and slot.comprobante]


async def _count(api: CentralApi, code: str, start: datetime, end: datetime | None = None) -> int:
    params = {"from": start.isoformat(), "limit": 1, "total": "true"} | ({"to": end.isoformat()} if end else {})
    return int((await api.get(f"/api/v1/points/{code}/readings", **params))["total"])


async def collect_points(api: CentralApi, history_start: datetime, start: datetime) -> list[PointSummary]:
    latest = {row["point"]: row for row in (await api.get("/api/v1/latest", limit=len(WELLS)))["items"]}
    points = []
    for well in WELLS:
        variables = latest.get(well.code, {}).get("variables", {})
        values = {name: LatestValue(v["value"], v["unit"], v["quality"]) for name, v in variables.items()}
        points.append(
            PointSummary(
                well.code,
                well.name,
                await _count(api, well.code, start),
                await _count(api, well.code, history_start, start),
                values,
            )
        )
    return points


async def collect_alerts(api: CentralApi) -> list[AlertSummary]:
    rows = (await api.get(ALERTS_PATH))["items"]
    return [AlertSummary(row["subject"], row["kind"], row["severity"], row["status"], row["message"]) for row in rows]


async def collect_slots(api: CentralApi) -> list[SlotSummary]:
    rows = (await api.get(SUBMISSIONS_PATH, regulator="dga"))["items"]
    return [
        SlotSummary(
            row["point"],
            datetime.fromisoformat(row["slot"]),
            row["state"],
            row.get("comprobante"),
            tuple(row.get("reasons") or ()),
            (row.get("measurement") or {}).get("caudal"),
        )
        for row in rows
    ]


async def collect(api: CentralApi, summary: DemoSummary, history_start: datetime, start: datetime) -> DemoSummary:
    """Fill ``summary`` from the API."""
    summary.points = await collect_points(api, history_start, start)
    gateway = await api.get(f"/api/v1/gateways/{GATEWAY}")
    summary.gateway_online, summary.gateway_last_seen = gateway["online"], gateway["last_seen_at"]
    summary.configuration = await api.get(f"/api/v1/gateways/{GATEWAY}/config")
    summary.alerts = await collect_alerts(api)
    summary.slots = await collect_slots(api)
    return summary


def _number(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def points_table(summary: DemoSummary) -> Table:
    table = Table(title="Lecturas guardadas y últimos valores por punto")
    table.add_column("punto", no_wrap=True)
    for heading in ("en vivo", "respaldo", "caudal\nL/s", "totalizador\nm3", "nivel\nm", "nivel\nfreático m"):
        table.add_column(heading, justify="right")
    for point in summary.points:
        cells = [
            _number(point.latest[name].value if name in point.latest else None, 0 if name == "totalizer" else 2)
            for name, _ in SHOWN_VARIABLES
        ]
        table.add_row(point.code, str(point.live_readings), str(point.backlog_readings), *cells)
    return table


def alerts_table(summary: DemoSummary) -> Table:
    table = Table(title="Alertas")
    for heading in ("punto", "severidad", "estado", "mensaje"):
        table.add_column(heading)
    for alert in summary.alerts:
        table.add_row(alert.subject, alert.severity, alert.status, alert.message)
    return table


def mails_table(summary: DemoSummary) -> Table:
    table = Table(title="Correos recibidos por el servidor SMTP local")
    for heading in ("para", "asunto"):
        table.add_column(heading)
    for mail in summary.mails:
        table.add_row(", ".join(mail.recipients), mail.subject)
    return table


def slots_table(summary: DemoSummary) -> Table:
    table = Table(title="Mediciones horarias a la DGA (responde la DGA simulada local)")
    for heading in ("punto", "medición (UTC)", "estado", "caudal L/s", "comprobante"):
        table.add_column(heading, no_wrap=True)
    for slot in sorted(summary.slots, key=lambda s: (s.point, s.slot)):
        table.add_row(
            slot.point, slot.slot.strftime("%Y-%m-%d %H:%M"), slot.state, slot.caudal or "—", slot.comprobante or "—"
        )
    return table


def _held(summary: DemoSummary) -> list[str]:
    return [
        f"  {slot.point} {slot.slot:%H:%M} retenida para revisión: {'; '.join(slot.reasons)}"
        for slot in sorted(summary.slots, key=lambda s: (s.point, s.slot))
        if slot.reasons
    ]


def render(summary: DemoSummary, console: Console) -> None:
    """Print the summary; a section with nothing in it says so instead of showing an empty table."""
    console.print(points_table(summary))
    flagged = sorted({v.quality for point in summary.points for v in point.latest.values()} - {"good"})
    if flagged:
        console.print(
            f"Últimas lecturas marcadas {', '.join(flagged)}"
            + (" (el reloj de esta máquina no está sincronizado por NTP)" if "clock_unsynced" in flagged else "")
        )
    state = "en línea" if summary.gateway_online else "SIN CONEXIÓN"
    console.print(f"Gateway {GATEWAY}: {state}, visto por última vez {summary.gateway_last_seen or 'nunca'}")
    config = summary.configuration
    console.print(
        f"Configuración desde el servidor: {config.get('config_source') or 'no informada'}; corre la versión"
        f" {config.get('running_version') or '-'}, publicada la {config.get('published_version') or '-'}"
        f" ({config.get('last_result') or 'sin resultado aún'})"
    )
    sections = (
        (alerts_table, summary.alerts, "Sin alertas."),
        (mails_table, summary.mails, "Sin correos."),
        (slots_table, summary.slots, "Sin mediciones a la DGA."),
    )
    for table, rows, empty in sections:
        console.print(table(summary) if rows else empty)
    for line in _held(summary):
        console.print(line)
    console.print(
        f"Consola: {summary.console_url} (entre como {summary.username} / {summary.password}): Resumen"
        " muestra ambos pozos en el mapa con su semáforo DGA, Alertas las alertas abiertas por reconocer,"
        " Cumplimiento los comprobantes y la cola de revisión"
    )
    console.print(
        f"Documentación de la API: {summary.api_docs} (entre como {summary.username} / {summary.password};"
        " con --forever todo sigue corriendo ahí hasta Ctrl-C)"
    )

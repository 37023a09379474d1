"""``caudal sim``: the local stand-ins, each imported only when asked for."""

from __future__ import annotations

from caudal.cli import lazy_app

STANDINS = {
    "modbus": (
        "edge.simulator.cli:app",
        "edge",
        "Medidores y sensores de nivel simulados por Modbus TCP o un pty serie.",
    ),
    "dga": ("compliance.standins.dga:app", "central", "Un servicio web MEE de la DGA local, que valida como el real."),
    "sma": ("compliance.standins.sma:app", "central", "Una API de reportes de la SMA local."),
}

app = lazy_app(STANDINS, "Simuladores locales de equipos y reguladores (nunca los servicios reales).")


@app.callback()
def sim() -> None:
    """Simuladores locales de equipos y reguladores (nunca los servicios reales)."""

"""``make demo`` ends by naming the console, its login and what to look at."""

from __future__ import annotations

from rich.console import Console

from caudal.demo_summary import DemoSummary, render


def test_the_demo_summary_names_the_console_and_its_login() -> None:
    summary = DemoSummary(api_docs="http://127.0.0.1:8000/docs", username="admin", password="s3cret")
    console = Console(record=True, width=400)
    render(summary, console)
    lines = [line for line in console.export_text().splitlines() if line.startswith("Consola:")]
    assert lines == [
        (
            "Consola: http://127.0.0.1:8000/ui/ (entre como admin / s3cret): Resumen muestra ambos pozos"
            " en el mapa con su semáforo DGA, Alertas las alertas abiertas por reconocer, Cumplimiento los"
            " comprobantes y la cola de revisión"
        )
    ]

"""``caudal central readings-retention``: detach (and drop) the months of readings older than the
retention, :func:`central.telemetry.retention.apply`, and say in Spanish what became of each.

Registered on ``caudal central`` by the last line of :mod:`central.cli`, whose helpers it uses.
"""

from __future__ import annotations

import typer

from central.cli import _database, app
from central.settings import Settings
from central.telemetry import retention
from protocols.clock import SystemClock

_KEPT = {
    "not_compacted": "se mantiene {name}: la compactación aún no llega a su fin ({upper})",
    "catch_all": "se mantiene {name}: recibe las lecturas anteriores a la retención",
}


def _line(decision: retention.Decision, drop: bool, dry_run: bool) -> str:
    partition = decision.partition
    upper = f"{partition.upper:%Y-%m-%d}"
    if decision.action == "keep":
        return _KEPT[decision.reason].format(name=partition.name, upper=upper)
    lower = "el inicio" if partition.lower is None else f"{partition.lower:%Y-%m-%d}"
    verb = ("se eliminaría" if drop else "se desacoplaría") if dry_run else ("eliminada" if drop else "desacoplada")
    return f"{verb} {partition.name} ({partition.parent}, desde {lower} hasta {upper})"


@app.command("readings-retention")
def readings_retention_command(
    drop: bool = typer.Option(False, "--drop", help="Drop the detached months instead of keeping them to archive"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only print what would be detached"),
) -> None:
    """Detach the monthly partitions of readings older than CAUDAL_READINGS_RETENTION_MONTHS
    (PostgreSQL; a detached month stays as its own table, to archive with pg_dump, unless --drop)."""
    with _database() as db:
        settings = Settings.from_env()
        months = settings.readings_retention_months
        if months == 0:
            typer.echo("CAUDAL_READINGS_RETENTION_MONTHS es 0: se conservan todas las lecturas")
            return
        if db.dialect != "postgresql":
            typer.echo("SQLite no tiene particiones mensuales: nada que desacoplar")
            return
        now = SystemClock().now()
        decisions, catch_all = retention.apply(db, now, months, settings.compact_after_days > 0, drop, dry_run)
    for decision in decisions:
        typer.echo(_line(decision, drop, dry_run))
    if catch_all is not None:
        typer.echo(f"creada {catch_all} para las lecturas anteriores a la retención")
    if not any(d.action == "detach" for d in decisions):
        typer.echo(f"nada que desacoplar antes de {retention.cut(now, months):%Y-%m-%d}")

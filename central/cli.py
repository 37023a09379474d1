"""``caudal central ...``: each command calls one library function and prints its result."""

from __future__ import annotations

import logging

import typer

from central.settings import Role, Settings

app = typer.Typer(help="The central server.", no_args_is_help=True)

ROLE_PORTS = {"all": 8000, "core": 8000, "telemetry": 8001, "compliance": 8002}


@app.command()
def serve(
    role: Role = typer.Option("all", help="Which service this process is: all, core, telemetry, compliance"),
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(None, help="Port (default: 8000 for all/core, 8001 telemetry, 8002 compliance)"),
) -> None:
    """Serve the API (and run the role's background workers)."""
    import uvicorn

    from central.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(Settings.from_env(), role=role), host=host, port=port or ROLE_PORTS[role],
                log_level="info", proxy_headers=True)


@app.command("migrate")
def migrate_command() -> None:
    """Apply pending database migrations (CAUDAL_DATABASE_URL) and list them."""
    from central.db import migrate, open_database

    db = open_database(Settings.from_env().database_url)
    try:
        applied = migrate(db)
    finally:
        db.close()
    for migration in applied:
        typer.echo(f"applied {migration.version:04d}_{migration.name}")
    typer.echo("database is up to date" if not applied else f"{len(applied)} migration(s) applied")

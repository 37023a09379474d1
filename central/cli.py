"""``caudal central ...``: each command calls one library function and prints its result."""

from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from central.core.gateways import GatewayCreate, create_gateway, rotate_gateway_token
from central.core.points import PointCreate, create_point
from central.core.problems import Problem
from central.core.users import UserCreate, create_user
from central.db import Database, DatabaseError, migrate, open_database, pending_migrations
from central.errors import ApiError
from central.messages_es import problem
from central.settings import Role, Settings, SettingsError
from protocols.clock import SystemClock

M = TypeVar("M", bound=BaseModel)

app = typer.Typer(help="The central server.", no_args_is_help=True, rich_markup_mode=None)

ROLE_PORTS = {"all": 8000, "core": 8000, "telemetry": 8001, "compliance": 8002, "alerts": 8003}


@app.command()
def serve(
    role: Role = typer.Option("all", envvar="CAUDAL_ROLE",
                              help="Which service this process is: all, core, telemetry, compliance,"
                              " alerts (alert evaluation, with CAUDAL_ALERT_EVALUATION=role)"),
    host: str = typer.Option("127.0.0.1", envvar="CAUDAL_HOST", help="Address to listen on"),
    port: int = typer.Option(None, envvar="CAUDAL_PORT",
                             help="Port (default: 8000 for all/core, 8001 telemetry, 8002 compliance, 8003 alerts)"),
) -> None:
    """Serve the API (and run the role's background workers)."""
    import uvicorn

    from central.app import create_app, settle_heap

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        application = create_app(Settings.from_env(), role=role)
    except (SettingsError, DatabaseError) as exc:
        _fail(str(exc))
    settle_heap()
    uvicorn.run(application, host=host, port=port or ROLE_PORTS[role], log_level="info", proxy_headers=True)


@app.command("migrate")
def migrate_command() -> None:
    """Apply pending database migrations (CAUDAL_DATABASE_URL) and list them."""
    try:
        db = open_database(Settings.from_env().database_url)
        try:
            applied = migrate(db)
        finally:
            db.close()
    except (SettingsError, DatabaseError) as exc:
        _fail(str(exc))
    for migration in applied:
        typer.echo(f"applied {migration.version:04d}_{migration.name}")
    typer.echo("database is up to date" if not applied else f"{len(applied)} migration(s) applied")


@app.command("nginx-routes")
def nginx_routes_command(
    config: Path = typer.Argument(..., help="The nginx.conf to update, e.g. docker/nginx/nginx.conf"),
    check: bool = typer.Option(False, "--check", help="Change nothing; exit 1 if the file's routes are out of date"),
) -> None:
    """Render nginx's routing table from each role's routes into CONFIG, between its marker lines."""
    from central.nginx_routes import RoutingError, render_config, role_paths, routing_table

    try:
        text = config.read_text(encoding="utf-8")
        rendered = render_config(text, routing_table(role_paths()))
    except OSError as exc:
        _fail(f"{config}: {exc.strerror}", 2)
    except RoutingError as exc:
        _fail(f"{config}: {exc}")
    if rendered == text:
        typer.echo(f"{config}: routes up to date")
    elif check:
        _fail(f"{config}: las rutas no coinciden con el código; ejecute: caudal central nginx-routes {config}")
    else:
        config.write_text(rendered, encoding="utf-8")
        typer.echo(f"{config}: routes rewritten from the code")


# --- bootstrap: accounts, points, gateways from a shell -----------------------------------


def _actor() -> str:
    """Who the audit trail names for a command-line change: the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def _database() -> Iterator[Database]:
    """The configured database, migrated first (an empty one gets the whole schema)."""
    try:
        settings = Settings.from_env()
        db = open_database(settings.database_url)
    except (SettingsError, DatabaseError) as exc:
        _fail(str(exc), 2)
    try:
        if settings.auto_migrate:
            migrate(db)
        elif pending_migrations(db):
            _fail("la base de datos necesita migraciones primero: ejecute 'caudal central migrate'", 2)
        yield db
    except (ApiError, Problem, DatabaseError) as exc:
        _fail(exc.message if isinstance(exc, ApiError | Problem) else str(exc))
    finally:
        db.close()


def _validated(model: type[M], options: dict[str, str], **values: object) -> M:
    """Build ``model``; a bad value exits naming the command-line option it came from."""
    try:
        return model(**{key: value for key, value in values.items() if value is not None})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            where = options.get(field, f"--{field.replace('_', '-')}") if field else "options"
            problems.append(f"{where}: {problem(error)}")
        _fail("; ".join(problems), 2)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            _fail("--password-stdin: la entrada estándar dio una contraseña vacía", 2)
        return password
    if not sys.stdin.isatty():
        _fail("no hay una terminal donde pedir la contraseña: entréguela con --password-stdin", 2)
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@app.command("create-user")
def create_user_command(
    username: str = typer.Argument(..., help="Login name (lower-case letters, digits, . _ -)"),
    admin: bool = typer.Option(False, "--admin", help="Make the account an administrator"),
    email: str | None = typer.Option(None, help="E-mail address for notifications"),
    phone: str | None = typer.Option(None, help="Mobile number for SMS, E.164 (+56912345678)"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input"),
) -> None:
    """Create an account (asks the password twice on a terminal)."""
    password = _read_password(password_stdin)
    new = _validated(UserCreate, {"username": "USERNAME", "password": "password"},
                     username=username, password=password, email=email, phone=phone, is_admin=admin)
    with _database() as db, db.transaction() as conn:
        create_user(conn, new, _actor(), SystemClock().now())
    typer.echo(f"created {'administrator' if admin else 'user'} {username}")


@app.command("add-point")
def add_point_command(
    code: str = typer.Argument(..., help="DGA codigoObra (OB-0101-12) or an own code"),
    name: str = typer.Option(..., help="A name people recognise"),
    kind: str = typer.Option(..., help="subterranea, superficial, superficial_flujometro or other"),
    water_right_lps: float | None = typer.Option(None, help="Granted extraction right, L/s"),
    sensor_depth_m: float | None = typer.Option(None, help="Level sensor depth, m"),
    flow_cutoff_lps: float | None = typer.Option(None, help="Flows below this count as zero, L/s"),
    lat: float | None = typer.Option(None, help="Latitude, WGS84 degrees (south negative)"),
    lon: float | None = typer.Option(None, help="Longitude, WGS84 degrees (west negative)"),
    status: str | None = typer.Option(None, help="active (default), inactive or maintenance"),
) -> None:
    """Create a catchment point."""
    new = _validated(PointCreate, {"code": "CODE", "latitude": "--lat", "longitude": "--lon"},
                     code=code, name=name, kind=kind, water_right_lps=water_right_lps, sensor_depth_m=sensor_depth_m,
                     flow_cutoff_lps=flow_cutoff_lps, latitude=lat, longitude=lon, status=status)
    with _database() as db, db.transaction() as conn:
        create_point(conn, new, _actor(), SystemClock().now())
    typer.echo(f"created point {code} ({kind})")


TOKEN_FILE_HINT = "on the gateway it goes in /etc/caudal/token (gateway.token_file of site.yaml)"


@app.command("add-gateway")
def add_gateway_command(
    name: str = typer.Argument(..., help="Gateway name (letters, digits, . _ -)"),
    points: str = typer.Option("", help="Comma-separated codes of the points it reports"),
) -> None:
    """Register a gateway; prints its token once, alone on the last line."""
    new = _validated(GatewayCreate, {"name": "NAME"},
                     name=name, points=[code.strip() for code in points.split(",") if code.strip()])
    with _database() as db, db.transaction() as conn:
        _, token = create_gateway(conn, new.name, new.points, _actor(), SystemClock().now())
    typer.echo(f"created gateway {name} for points: {', '.join(new.points) or '(none yet)'}")
    typer.echo(f"its token follows; it is shown only now, and {TOKEN_FILE_HINT}:")
    typer.echo(token)


@app.command("rotate-token")
def rotate_token_command(name: str = typer.Argument(..., help="Gateway name")) -> None:
    """Give a gateway a new token (the old one stops working at once); printed alone on the last line."""
    with _database() as db, db.transaction() as conn:
        token = rotate_gateway_token(conn, name, _actor(), SystemClock().now())
    typer.echo(f"new token for gateway {name}; the old one no longer works. Shown only now; {TOKEN_FILE_HINT}:")
    typer.echo(token)


from central import cli_retention  # noqa: E402, F401  (registers "readings-retention" on app)

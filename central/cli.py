"""``caudal central ...``: each command calls one library function and prints its result."""

from __future__ import annotations

import errno
import getpass
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError

import protocols.cli_es  # noqa: F401  (Typer's own words in Spanish)
from central.core.gateways.models import GatewayCreate
from central.core.gateways.service import create_gateway, rotate_gateway_token
from central.core.points.models import PointCreate
from central.core.points.service import create_point
from central.core.users.models import UserCreate
from central.core.users.service import create_user
from central.db import Database, DatabaseError, migrate, open_database, pending_migrations
from central.messages_es import problem
from central.problems import Problem
from central.settings import Role, Settings, SettingsError
from protocols.clock import SystemClock

M = TypeVar("M", bound=BaseModel)

app = typer.Typer(help="El servidor central.", no_args_is_help=True, add_completion=False, rich_markup_mode=None)

ROLE_PORTS = {"all": 8000, "core": 8000, "telemetry": 8001, "compliance": 8002, "alerts": 8003}


@app.command()
def serve(
    role: Role = typer.Option(
        "all",
        envvar="CAUDAL_ROLE",
        help="Qué servicio es este proceso: all, core, telemetry, compliance,"
        " alerts (evaluación de alertas, con CAUDAL_ALERT_EVALUATION=role)",
    ),
    host: str = typer.Option("127.0.0.1", envvar="CAUDAL_HOST", help="Dirección donde escuchar"),
    port: int = typer.Option(
        None,
        envvar="CAUDAL_PORT",
        help="Puerto (por omisión: 8000 all/core, 8001 telemetry, 8002 compliance, 8003 alerts)",
    ),
) -> None:
    """Sirve la API (y corre los trabajos de fondo del rol)."""
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
    """Aplica las migraciones pendientes de la base de datos (CAUDAL_DATABASE_URL) y las lista."""
    try:
        db = open_database(Settings.from_env().database_url)
        try:
            applied = migrate(db)
        finally:
            db.close()
    except (SettingsError, DatabaseError) as exc:
        _fail(str(exc))
    for migration in applied:
        typer.echo(f"aplicada {migration.version:04d}_{migration.name}")
    typer.echo(_migrations_summary(len(applied)))


def _migrations_summary(count: int) -> str:
    if count == 0:
        return "la base de datos está al día"
    return "1 migración aplicada" if count == 1 else f"{count} migraciones aplicadas"


@app.command("nginx-routes")
def nginx_routes_command(
    config: Path = typer.Argument(..., help="El nginx.conf a actualizar, p. ej. docker/nginx/nginx.conf"),
    check: bool = typer.Option(
        False, "--check", help="No cambia nada; sale con 1 si las rutas del archivo están desactualizadas"
    ),
) -> None:
    """Escribe en CONFIG, entre sus líneas marcadoras, la tabla de rutas de nginx que sale de las rutas de cada rol."""
    from central.nginx_routes import RoutingError, render_config, role_paths, routing_table

    try:
        text = config.read_text(encoding="utf-8")
        rendered = render_config(text, routing_table(role_paths()))
    except OSError as exc:
        _fail(f"{config}: {_os_reason(exc)}", 2)
    except RoutingError as exc:
        _fail(f"{config}: {exc}")
    if rendered == text:
        typer.echo(f"{config}: rutas al día")
    elif check:
        _fail(f"{config}: las rutas no coinciden con el código; ejecute: caudal central nginx-routes {config}")
    else:
        config.write_text(rendered, encoding="utf-8")
        typer.echo(f"{config}: rutas reescritas desde el código")


OS_REASONS = {errno.ENOENT: "no existe", errno.EACCES: "sin permiso para leerlo", errno.EISDIR: "es un directorio"}


def _os_reason(exc: OSError) -> str:
    """The usual reasons in Spanish; any other as the system words it."""
    return OS_REASONS.get(exc.errno or 0, exc.strerror or str(exc))


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
    except (Problem, DatabaseError) as exc:
        _fail(exc.message if isinstance(exc, Problem) else str(exc))
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
            where = options.get(field, f"--{field.replace('_', '-')}") if field else "opciones"
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
    return _prompt_password()


def _prompt_password() -> str:
    """Asked twice, until both agree (click's own confirmation would answer in English)."""
    while True:
        password: str = typer.prompt("Contraseña", hide_input=True)
        if typer.prompt("Repita la contraseña", hide_input=True) == password:
            return password
        typer.echo("error: las dos contraseñas no coinciden; escríbala de nuevo", err=True)


@app.command("create-user")
def create_user_command(
    username: str = typer.Argument(..., help="Nombre de usuario (minúsculas, dígitos, . _ -)"),
    admin: bool = typer.Option(False, "--admin", help="La cuenta es de administrador"),
    email: str | None = typer.Option(None, help="Correo para las notificaciones"),
    phone: str | None = typer.Option(None, help="Celular para SMS, en formato E.164 (+56912345678)"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Lee la contraseña de la entrada estándar"),
) -> None:
    """Crea una cuenta (en una terminal pide la contraseña dos veces)."""
    password = _read_password(password_stdin)
    new = _validated(
        UserCreate,
        {"username": "USERNAME", "password": "password"},
        username=username,
        password=password,
        email=email,
        phone=phone,
        is_admin=admin,
    )
    with _database() as db, db.transaction() as conn:
        create_user(conn, new, _actor(), SystemClock().now())
    typer.echo(f"{'administrador' if admin else 'usuario'} {username} creado")


@app.command("add-point")
def add_point_command(
    code: str = typer.Argument(..., help="codigoObra de la DGA (OB-0101-12) o un código propio"),
    name: str = typer.Option(..., help="Un nombre que la gente reconozca"),
    kind: str = typer.Option(..., help="subterranea, superficial, superficial_flujometro u other"),
    water_right_lps: float | None = typer.Option(None, help="Derecho de aprovechamiento otorgado, L/s"),
    sensor_depth_m: float | None = typer.Option(None, help="Profundidad del sensor de nivel, m"),
    flow_cutoff_lps: float | None = typer.Option(None, help="Caudales bajo este valor cuentan como cero, L/s"),
    lat: float | None = typer.Option(None, help="Latitud, grados WGS84 (sur negativo)"),
    lon: float | None = typer.Option(None, help="Longitud, grados WGS84 (oeste negativo)"),
    status: str | None = typer.Option(None, help="active (por omisión), inactive o maintenance"),
) -> None:
    """Crea un punto de captación."""
    new = _validated(
        PointCreate,
        {"code": "CODE", "latitude": "--lat", "longitude": "--lon"},
        code=code,
        name=name,
        kind=kind,
        water_right_lps=water_right_lps,
        sensor_depth_m=sensor_depth_m,
        flow_cutoff_lps=flow_cutoff_lps,
        latitude=lat,
        longitude=lon,
        status=status,
    )
    with _database() as db, db.transaction() as conn:
        create_point(conn, new, _actor(), SystemClock().now())
    typer.echo(f"punto {code} creado ({kind})")


TOKEN_FILE_HINT = "en el gateway se guarda en el archivo /etc/caudal/token (gateway.token_file del site.yaml)"


@app.command("add-gateway")
def add_gateway_command(
    name: str = typer.Argument(..., help="Nombre del gateway (letras, dígitos, . _ -)"),
    points: str = typer.Option("", help="Códigos de los puntos que reporta, separados por comas"),
) -> None:
    """Registra un gateway; muestra su token una sola vez, solo en la última línea."""
    new = _validated(
        GatewayCreate, {"name": "NAME"}, name=name, points=[code.strip() for code in points.split(",") if code.strip()]
    )
    with _database() as db, db.transaction() as conn:
        _, token = create_gateway(conn, new.name, new.points, _actor(), SystemClock().now())
    typer.echo(f"gateway {name} creado para los puntos: {', '.join(new.points) or '(ninguno aún)'}")
    typer.echo(f"su token va en la línea siguiente y se muestra solo esta vez; {TOKEN_FILE_HINT}:")
    typer.echo(token)


@app.command("rotate-token")
def rotate_token_command(name: str = typer.Argument(..., help="Nombre del gateway")) -> None:
    """Da al gateway un token nuevo (el anterior deja de servir de inmediato); va solo en la última línea."""
    with _database() as db, db.transaction() as conn:
        token = rotate_gateway_token(conn, name, _actor(), SystemClock().now())
    typer.echo(f"token nuevo del gateway {name}; el anterior ya no sirve. Se muestra solo esta vez; {TOKEN_FILE_HINT}:")
    typer.echo(token)


from central import cli_retention  # noqa: E402, F401  (registers "readings-retention" on app)

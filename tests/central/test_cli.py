"""``caudal central`` bootstrap commands against a fresh SQLite file and a fresh PostgreSQL."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from central.cli import _migrations_summary, app
from central.core.auth.models import LoginRequest
from central.core.auth.service import gateway_for_token, login
from central.db import open_database

PASSWORD = "a long enough password"

# Refused before the database is opened: one database is enough.
BEFORE_THE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def run(database_url):
    """Run one command with CAUDAL_DATABASE_URL pointing at the test database."""
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):
        return runner.invoke(app, list(args), input=stdin, env={"CAUDAL_DATABASE_URL": database_url})

    return invoke


@pytest.fixture
def query(database_url):
    def fetch(sql: str, params: dict | None = None):
        db = open_database(database_url)
        try:
            with db.connect() as conn:
                return conn.fetchall(sql, params)
        finally:
            db.close()

    return fetch


def _gateway_name(database_url: str, token: str) -> str | None:
    db = open_database(database_url)
    try:
        with db.connect() as conn:
            gateway = gateway_for_token(conn, token)
    finally:
        db.close()
    return None if gateway is None else gateway.name


def test_create_user_migrates_an_empty_database_and_reads_the_password_from_stdin(run, database_url, clock):
    result = run(
        "create-user", "ana", "--admin", "--email", "ana@example.cl", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert (result.exit_code, result.stdout) == (0, "administrador ana creado\n")
    db = open_database(database_url)
    try:
        request = LoginRequest(username="ana", password=PASSWORD)
        assert login(db, request, "127.0.0.1", timedelta(hours=1), clock.now()) is not None
        with db.connect() as conn:
            row = conn.fetchone("SELECT email, is_admin FROM users WHERE username = 'ana'")
            actor = conn.fetchval("SELECT actor FROM audit_log WHERE action = 'user.created'")
    finally:
        db.close()
    assert row == {"email": "ana@example.cl", "is_admin": True}
    assert actor.startswith("cli")


def test_create_user_refuses_an_existing_username(run):
    assert run("create-user", "ana", "--password-stdin", stdin=PASSWORD).exit_code == 0
    result = run("create-user", "ana", "--password-stdin", stdin="another long password")
    assert (result.exit_code, result.stderr) == (1, "error: ya existe un usuario llamado 'ana'\n")


@BEFORE_THE_DATABASE
@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["ana"], None, "error: no hay una terminal donde pedir la contraseña: entréguela con --password-stdin\n"),
        (["ana", "--password-stdin"], "\n", "error: --password-stdin: la entrada estándar dio una contraseña vacía\n"),
        (["ana", "--password-stdin"], "short\n", "error: password: debe tener de 8 a 256 caracteres\n"),
        (
            ["Ana", "--password-stdin"],
            PASSWORD,
            "error: USERNAME: no tiene la forma esperada (^[a-z0-9][a-z0-9._-]{0,63}$)\n",
        ),
    ],
)
def test_create_user_refuses_what_it_cannot_use(run, args, stdin, message):
    result = run("create-user", *args, stdin=stdin)
    assert (result.exit_code, result.stderr) == (2, message)


def test_add_gateway_prints_a_working_token_alone_on_the_last_line(run, database_url, query):
    assert (
        run(
            "add-point",
            "OB-0101-12",
            "--name",
            "Pozo 1",
            "--kind",
            "subterranea",
            "--water-right-lps",
            "25",
            "--lat",
            "-33.45",
            "--lon",
            "-70.66",
        ).exit_code
        == 0
    )
    assert run("add-point", "canal-norte", "--name", "Canal", "--kind", "superficial").exit_code == 0
    result = run("add-gateway", "olivo", "--points", "OB-0101-12, canal-norte")
    assert result.exit_code == 0
    *head, token = result.stdout.splitlines()
    assert head == [
        "gateway olivo creado para los puntos: OB-0101-12, canal-norte",
        "su token va en la línea siguiente y se muestra solo esta vez; en el gateway se guarda en el"
        " archivo /etc/caudal/token (gateway.token_file del site.yaml):",
    ]
    assert _gateway_name(database_url, token) == "olivo"
    assert query("SELECT p.code FROM gateway_points gp JOIN points p ON p.id = gp.point_id ORDER BY p.code") == [
        {"code": "OB-0101-12"},
        {"code": "canal-norte"},
    ]
    assert query("SELECT water_right_lps, latitude, longitude FROM points WHERE code = 'OB-0101-12'") == [
        {"water_right_lps": 25.0, "latitude": -33.45, "longitude": -70.66}
    ]


def test_add_gateway_with_an_unknown_point_creates_nothing(run, query):
    result = run("add-gateway", "olivo", "--points", "NOPE")
    assert (result.exit_code, result.stderr) == (1, "error: points: no hay un punto con código 'NOPE'\n")
    assert query("SELECT name FROM gateways") == []
    assert query("SELECT action FROM audit_log") == []


def test_rotate_token_prints_a_new_token_and_the_old_one_stops_working(run, database_url):
    old = run("add-gateway", "olivo").stdout.splitlines()[-1]
    result = run("rotate-token", "olivo")
    assert result.exit_code == 0
    *head, new = result.stdout.splitlines()
    assert head == [
        "token nuevo del gateway olivo; el anterior ya no sirve. Se muestra solo esta vez; en el gateway"
        " se guarda en el archivo /etc/caudal/token (gateway.token_file del site.yaml):"
    ]
    assert (_gateway_name(database_url, old), _gateway_name(database_url, new)) == (None, "olivo")


def test_rotate_token_of_an_unknown_gateway_fails(run):
    result = run("rotate-token", "ghost")
    assert (result.exit_code, result.stderr) == (1, "error: no hay un gateway llamado 'ghost'\n")


@BEFORE_THE_DATABASE
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["OB-12", "--name", "P", "--kind", "subterranea"],
            "error: CODE: 'OB-12' empieza como un codigoObra de la DGA pero no lo es (se espera algo como OB-0101-12)\n",
        ),
        (
            ["P1", "--name", "P", "--kind", "rio"],
            "error: --kind: debe ser 'subterranea', 'superficial', 'superficial_flujometro' o 'other'\n",
        ),
        (
            ["P1", "--name", "P", "--kind", "other", "--lat", "-95", "--lon", "0"],
            "error: --lat: debe ser mayor o igual que -90\n",
        ),
        (
            ["P1", "--name", "P", "--kind", "other", "--flow-cutoff-lps", "-1"],
            "error: --flow-cutoff-lps: debe ser mayor o igual que 0\n",
        ),
    ],
)
def test_add_point_names_the_bad_option(run, args, message):
    result = run("add-point", *args)
    assert (result.exit_code, result.stderr) == (2, message)


def test_add_point_refuses_a_duplicate_code(run):
    assert run("add-point", "P1", "--name", "P", "--kind", "other").exit_code == 0
    result = run("add-point", "P1", "--name", "Q", "--kind", "other")
    assert (result.exit_code, result.stderr) == (1, "error: ya existe un punto con código 'P1'\n")


class _Terminal:
    """The test's end of a pseudo-terminal, read up to each expected text.

    Bytes read past the expected text are kept for the next wait: the child may write its
    error and its next prompt in one go, and one ``read`` then returns both.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._unread = b""
        self.shown = b""

    def read_until(self, expected: bytes, timeout_s: float = 30) -> None:
        """Consume the terminal's output up to and including ``expected`` (bounded wait)."""
        deadline = time.monotonic() + timeout_s
        while expected not in self._unread:
            ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"waited {timeout_s} s for {expected!r}; the terminal showed {self._unread!r}")
            try:
                chunk = os.read(self.fd, 1024)
            except OSError:  # the child closed the terminal
                raise AssertionError(f"the terminal closed before {expected!r}; it showed {self._unread!r}") from None
            self._unread += chunk
            self.shown += chunk
        self._unread = self._unread.split(expected, 1)[1]

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\n")


def test_create_user_on_a_terminal_asks_the_password_twice_until_both_agree(tmp_path):
    url = f"sqlite:///{tmp_path / 'caudal.db'}"
    terminal_fd, child_end = pty.openpty()
    terminal = _Terminal(terminal_fd)
    command = [sys.executable, "-c", "from central.cli import app; app()", "create-user", "ana"]
    child = subprocess.Popen(
        command, stdin=child_end, stdout=child_end, stderr=child_end, env={**os.environ, "CAUDAL_DATABASE_URL": url}
    )
    os.close(child_end)
    try:
        terminal.read_until("Contraseña: ".encode())
        terminal.type(PASSWORD)
        terminal.read_until("Repita la contraseña: ".encode())
        terminal.type("not the same password")
        terminal.read_until("error: las dos contraseñas no coinciden; escríbala de nuevo".encode())
        terminal.read_until("Contraseña: ".encode())
        terminal.type(PASSWORD)
        terminal.read_until("Repita la contraseña: ".encode())
        terminal.type(PASSWORD)
        terminal.read_until(b"usuario ana creado")
        assert child.wait(timeout=30) == 0
    finally:
        child.kill()
        child.wait()
        os.close(terminal_fd)
    assert PASSWORD.encode() not in terminal.shown
    db = open_database(url)
    try:
        assert (
            login(
                db, LoginRequest(username="ana", password=PASSWORD), "127.0.0.1", timedelta(hours=1), datetime.now(UTC)
            )
            is not None
        )
    finally:
        db.close()


def test_serve_with_an_unusable_database_says_so_in_one_line():
    from typer.testing import CliRunner

    from central.cli import app as central_app

    result = CliRunner().invoke(central_app, ["serve"], env={"CAUDAL_DATABASE_URL": "mysql://db/caudal"})
    assert result.exit_code == 1
    assert result.output == (
        "error: URL de base de datos no soportada 'mysql://db/caudal': use sqlite:///ARCHIVO o postgresql://...\n"
    )


def test_add_point_says_what_it_created(run):
    result = run("add-point", "P1", "--name", "P", "--kind", "other")
    assert (result.exit_code, result.stdout) == (0, "punto P1 creado (other)\n")


def test_add_gateway_without_points_says_so(run):
    result = run("add-gateway", "olivo")
    assert (result.exit_code, result.stdout.splitlines()[0]) == (
        0,
        "gateway olivo creado para los puntos: (ninguno aún)",
    )


@pytest.mark.parametrize(
    ("count", "line"),
    [(0, "la base de datos está al día"), (1, "1 migración aplicada"), (12, "12 migraciones aplicadas")],
)
def test_migrate_counts_in_spanish(count, line):
    assert _migrations_summary(count) == line

"""Regulator configurations of points, stored with their passwords encrypted.

The stored JSON never holds the password; ``secret`` holds it encrypted with
``CAUDAL_SECRET_KEY`` (:class:`~central.crypto.SecretBox`). Answers say
``informant_password_set``/``password_set`` and never the password. A change without a
password keeps the stored one. A change that supplies credentials lifts the ``blocked``
flag the worker sets when the DGA refuses the informant, and puts the slots it refused back
in the queue. Every change writes the audit trail and the compliance log in its transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from central.core import lookups
from central.core.audit import store as audit
from central.crypto import SecretBox, SecretKeyMissing, UndecryptableSecret
from central.db import Connection
from central.problems import Conflict, Invalid, NotFound
from compliance import messages_es as es
from compliance.events import record_event
from compliance.facts import settle
from compliance.ledger_store import requeue_refused

if TYPE_CHECKING:
    from compliance.regulator import Regulator


class ConfigOut(BaseModel):
    """A stored configuration: the settings, never the password."""

    point: str
    regulator: str = Field(description="The regulator, as named in the configuration's path")
    config: dict[str, Any] = Field(description="The settings (the password is never shown)")
    password_set: bool = Field(description="Whether a password is stored (it is never returned)")
    blocked: bool = Field(description="Sending stopped: the regulator refused the credentials")
    blocked_reason: str | None
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class StoredConfig:
    """A configuration as the worker uses it (password decrypted, in memory only); ``config`` is
    the regulator's ``config_model``."""

    point_id: int
    point_code: str
    config: Any
    blocked: bool
    created_at: datetime


def _validated(model: type[BaseModel], values: dict[str, Any]) -> Any:
    """Build the worker's model; its refusals become a request validation error (central/errors.py formats it)."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise RequestValidationError([{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]) from None


def _stored_row(conn: Connection, point_id: int, regulator: Regulator) -> dict[str, Any] | None:
    return conn.fetchone(
        "SELECT * FROM compliance_configs WHERE point_id = :p AND regulator = :r", {"p": point_id, "r": regulator.name}
    )


def _secret(box: SecretBox, supplied: Any, row: dict[str, Any] | None, regulator: Regulator) -> str:
    if supplied is None:
        if row is None:
            raise Invalid(
                es.secret_required(regulator.secret_field),
                details=[{"loc": ["body", regulator.secret_field], "msg": "obligatorio"}],
            )
        return box.decrypt(row["secret"])
    return supplied.get_secret_value()


def _write(
    conn: Connection,
    point: dict[str, Any],
    regulator: Regulator,
    config: Any,
    ciphertext: str,
    row: dict[str, Any] | None,
    unblock: bool,
    actor: str,
    now: datetime,
) -> None:
    public = config.model_dump(mode="json", exclude={regulator.secret_field})
    values = {
        "p": point["id"],
        "r": regulator.name,
        "mode": config.mode.value,
        "config": json.dumps(public),
        "secret": ciphertext,
        "now": now,
        "actor": actor,
    }
    if row is None:
        conn.execute(
            "INSERT INTO compliance_configs (point_id, regulator, mode, config, secret, created_at, updated_at,"
            " updated_by) VALUES (:p, :r, :mode, :config, :secret, :now, :now, :actor)",
            values,
        )
    else:
        blocked = bool(row["blocked"]) and not unblock
        conn.execute(
            "UPDATE compliance_configs SET mode = :mode, config = :config, secret = :secret, blocked = :blocked,"
            " blocked_reason = :reason, updated_at = :now, updated_by = :actor WHERE point_id = :p AND regulator = :r",
            {**values, "blocked": blocked, "reason": row["blocked_reason"] if blocked else None},
        )
        if row["blocked"] and not blocked:
            requeue_refused(conn, point["id"], regulator.name, actor, now)
            settle(conn, now, point["id"])
    action = f"compliance.{regulator.name}.{'created' if row is None else 'changed'}"
    audit.record(conn, actor, action, f"point:{point['code']}", now, **public)
    record_event(
        conn,
        now,
        "config.changed",
        f"configuración {regulator.title} de {point['code']} "
        f"{'creada' if row is None else 'modificada'} (modo {config.mode.value})",
        point_id=point["id"],
        regulator=regulator.name,
        actor=actor,
        **public,
    )


def put_config(
    conn: Connection,
    box: SecretBox,
    point: dict[str, Any],
    regulator: Regulator,
    change: BaseModel,
    actor: str,
    now: datetime,
) -> ConfigOut:
    """Create or replace a point's configuration; 409 when no secret key is set, 422 when invalid."""
    row = _stored_row(conn, point["id"], regulator)
    supplied = change.model_dump(exclude_none=True)
    secret_field, identity = regulator.secret_field, regulator.identity_field
    try:
        supplied[secret_field] = _secret(box, getattr(change, secret_field), row, regulator)
        config = _validated(regulator.config_model, supplied)
        ciphertext = box.encrypt(supplied[secret_field])
    except SecretKeyMissing as exc:
        raise Conflict(es.secret_key_missing(exc), code="secret_key_missing") from None
    except UndecryptableSecret as exc:
        raise Conflict(es.secret_undecryptable(exc), code="secret_undecryptable") from None
    regulator.check_fits_point(config, point)
    credentials_given = getattr(change, secret_field) is not None or (
        row is not None and json.loads(row["config"]).get(identity) != getattr(config, identity)
    )
    _write(conn, point, regulator, config, ciphertext, row, credentials_given, actor, now)
    return get_config(conn, point, regulator)


def get_config(conn: Connection, point: dict[str, Any], regulator: Regulator) -> ConfigOut:
    row = _stored_row(conn, point["id"], regulator)
    if row is None:
        raise NotFound(es.no_configuration(point["code"], regulator.title))
    return ConfigOut(
        point=point["code"],
        regulator=regulator.name,
        config=json.loads(row["config"]),
        password_set=True,
        blocked=bool(row["blocked"]),
        blocked_reason=row["blocked_reason"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )


def delete_config(conn: Connection, point: dict[str, Any], regulator: Regulator, actor: str, now: datetime) -> None:
    """Remove the configuration (the ledger and its history stay)."""
    get_config(conn, point, regulator)
    conn.execute(
        "DELETE FROM compliance_configs WHERE point_id = :p AND regulator = :r", {"p": point["id"], "r": regulator.name}
    )
    audit.record(conn, actor, f"compliance.{regulator.name}.deleted", f"point:{point['code']}", now)
    record_event(
        conn,
        now,
        "config.deleted",
        f"configuración {regulator.title} de {point['code']} eliminada",
        point_id=point["id"],
        regulator=regulator.name,
        actor=actor,
    )
    settle(conn, now, point["id"])


def is_blocked(conn: Connection, point_id: int, regulator: str) -> bool:
    """Whether sending for the work is stopped because the regulator (by name) refused its credentials."""
    row = conn.fetchone(
        "SELECT blocked FROM compliance_configs WHERE point_id = :p AND regulator = :r", {"p": point_id, "r": regulator}
    )
    return row is not None and bool(row["blocked"])


def block_work(conn: Connection, point_id: int, regulator: str, reason: str) -> None:
    """Stop every send of the work to the regulator (by name) until a person supplies credentials again."""
    conn.execute(
        "UPDATE compliance_configs SET blocked = :t, blocked_reason = :reason WHERE point_id = :p AND regulator = :r",
        {"t": True, "reason": reason, "p": point_id, "r": regulator},
    )


def load_configs(conn: Connection, box: SecretBox, regulator: Regulator) -> tuple[list[StoredConfig], list[str]]:
    """Every configuration in shadow or live mode, decrypted; and a problem per one that failed."""
    rows = conn.fetchall(
        f"SELECT c.*, {lookups.point_code_sql('c.point_id')} AS code FROM compliance_configs c"
        " WHERE c.regulator = :r AND c.mode IN ('shadow', 'live') ORDER BY code",
        {"r": regulator.name},
    )
    loaded, problems = [], []
    for row in rows:
        try:
            values = {**json.loads(row["config"]), regulator.secret_field: box.decrypt(row["secret"])}
            config = regulator.config_model(**values)
        except (SecretKeyMissing, UndecryptableSecret, ValidationError) as exc:
            problems.append(f"la configuración {regulator.title} del punto {row['code']} no se puede usar: {exc}")
            continue
        loaded.append(StoredConfig(row["point_id"], row["code"], config, bool(row["blocked"]), row["created_at"]))
    return loaded, problems


def stored_settings(conn: Connection, point_id: int, regulator: Regulator) -> tuple[Any, str] | None:
    """A work's settings and mode for reports and corrections, WITHOUT its password (a placeholder
    stands in: this object is never used to send)."""
    row = conn.fetchone(
        "SELECT config, mode FROM compliance_configs WHERE point_id = :p AND regulator = :r",
        {"p": point_id, "r": regulator.name},
    )
    if row is None:
        return None
    values = {**json.loads(row["config"]), regulator.secret_field: "not-loaded"}
    return regulator.config_model(**values), row["mode"]

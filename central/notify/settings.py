"""Installation-wide notification settings, validated up front from the environment.

Environment variables (read by the app factory through :meth:`NotifySettings.from_env`):

- ``CAUDAL_SMTP_HOST`` (unset: no e-mail), ``CAUDAL_SMTP_PORT`` (default by security: 587, 465, 25),
  ``CAUDAL_SMTP_SECURITY`` (``starttls`` | ``ssl`` | ``none``; default ``starttls``),
  ``CAUDAL_SMTP_USER``, ``CAUDAL_SMTP_PASSWORD``, ``CAUDAL_SMTP_FROM`` (required with a host),
  ``CAUDAL_SMTP_FROM_NAME`` (default ``Caudal``), ``CAUDAL_SMTP_TIMEOUT_S`` (default 15).
- ``CAUDAL_NOTIFY_ALLOW_PRIVATE`` (``true``: webhooks and Apprise channels may reach private,
  loopback and link-local addresses; default false),
  ``CAUDAL_NOTIFY_ALLOWED_NETWORKS`` (comma-separated CIDRs allowed even though private),
  ``CAUDAL_NOTIFY_ALLOWED_APPRISE_SCHEMES`` (comma-separated Apprise schemes whose connections
  cannot be checked, e.g. ``syslog``, that users may use anyway; default none),
  ``CAUDAL_NOTIFY_REQUIRE_HTTPS`` (default true), ``CAUDAL_NOTIFY_TIMEOUT_S`` (default 15).
- ``CAUDAL_SMS_APPRISE_URL``: the Apprise URL of the installation's SMS provider with ``{phone}``
  where the recipient goes (e.g. ``twilio://SID:TOKEN@+56911111111/{phone}``); unset: users who
  ask for SMS in their profile get none. ``CAUDAL_SMS_MIN_SEVERITY`` (default ``critical``): the
  least severe alert those profile SMS carry.

What a user's profile implies (:class:`Preferences`): ``notify_email`` with an e-mail address is an
e-mail channel for every point the user may see, from ``warning`` up; ``notify_sms`` with a phone
number is an SMS channel through ``CAUDAL_SMS_APPRISE_URL`` for the same points, from
``CAUDAL_SMS_MIN_SEVERITY`` up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from central.settings import BAD_SETTING, SettingsError
from central.telemetry.alerts.rules import Severity
from protocols.messages_es import problem

EMAIL_PATTERN = r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$"


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"
    SSL = "ssl"
    NONE = "none"  # plain SMTP: only for a relay on the same host or network


DEFAULT_PORTS = {SmtpSecurity.STARTTLS: 587, SmtpSecurity.SSL: 465, SmtpSecurity.NONE: 25}


class SmtpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1, max_length=253)
    port: int | None = Field(default=None, ge=1, le=65535)
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str | None = None
    password: SecretStr | None = None
    from_address: str = Field(pattern=EMAIL_PATTERN)
    from_name: str = Field(default="Caudal", max_length=64)
    timeout_s: float = Field(default=15, gt=0, le=300)

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    @model_validator(mode="after")
    def _password_needs_user(self) -> SmtpSettings:
        if self.password is not None and not self.username:
            raise ValueError("CAUDAL_SMTP_PASSWORD tiene valor pero CAUDAL_SMTP_USER no")
        return self


Network = IPv4Network | IPv6Network


class DestinationPolicy(BaseModel):
    """Where notifications may connect: public addresses only, unless allowed here (SSRF guard)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_private_destinations: bool = False
    allowed_networks: tuple[Network, ...] = ()
    allowed_apprise_schemes: frozenset[Annotated[str, Field(pattern=r"^[a-z][a-z0-9+.-]*$")]] = frozenset()
    require_https: bool = True
    timeout_s: float = Field(default=15, gt=0, le=300)


PHONE_PLACEHOLDER = "{phone}"


class SmsSettings(BaseModel):
    """The installation's SMS provider for the SMS users ask for in their profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    apprise_url: SecretStr
    min_severity: Severity = Severity.CRITICAL

    @model_validator(mode="after")
    def _has_placeholder(self) -> SmsSettings:
        if PHONE_PLACEHOLDER not in self.apprise_url.get_secret_value():
            raise ValueError(f"debe contener {PHONE_PLACEHOLDER} donde va el número del destinatario")
        return self

    def url_for(self, phone: str) -> str:
        """The Apprise URL that texts ``phone`` (E.164, as the user profile stores it)."""
        return self.apprise_url.get_secret_value().replace(PHONE_PLACEHOLDER, phone)


class Preferences(BaseModel):
    """The channels a user's profile implies, without defining one: e-mail (``notify_email``)
    and SMS (``notify_sms``, only with an SMS provider configured), each for every point the
    user may see from a minimum severity up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Severity | None = Severity.WARNING
    sms: Severity | None = None


class NotifySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    smtp: SmtpSettings | None = None
    destinations: DestinationPolicy = DestinationPolicy()
    sms: SmsSettings | None = None

    @property
    def preferences(self) -> Preferences:
        return Preferences(sms=self.sms.min_severity if self.sms else None)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NotifySettings:
        """Build from ``CAUDAL_*`` variables (default: the process environment, read now).

        A bad value raises :class:`central.settings.SettingsError` naming the variable.
        """
        env = os.environ if environ is None else environ
        try:
            return cls(smtp=_smtp_from_env(env), destinations=_policy_from_env(env), sms=_sms_from_env(env))
        except ValidationError as exc:
            raise SettingsError(f"{BAD_SETTING}: {_names(exc)}") from None


_SMTP_VARS = {"host": "CAUDAL_SMTP_HOST", "port": "CAUDAL_SMTP_PORT", "security": "CAUDAL_SMTP_SECURITY",
              "username": "CAUDAL_SMTP_USER", "password": "CAUDAL_SMTP_PASSWORD", "from_address": "CAUDAL_SMTP_FROM",
              "from_name": "CAUDAL_SMTP_FROM_NAME", "timeout_s": "CAUDAL_SMTP_TIMEOUT_S"}
_POLICY_VARS = {"allow_private_destinations": "CAUDAL_NOTIFY_ALLOW_PRIVATE",
                "allowed_networks": "CAUDAL_NOTIFY_ALLOWED_NETWORKS",
                "allowed_apprise_schemes": "CAUDAL_NOTIFY_ALLOWED_APPRISE_SCHEMES",
                "require_https": "CAUDAL_NOTIFY_REQUIRE_HTTPS", "timeout_s": "CAUDAL_NOTIFY_TIMEOUT_S"}
_SMS_VARS = {"apprise_url": "CAUDAL_SMS_APPRISE_URL", "min_severity": "CAUDAL_SMS_MIN_SEVERITY"}
_VARS_BY_MODEL = {"SmtpSettings": _SMTP_VARS, "DestinationPolicy": _POLICY_VARS, "SmsSettings": _SMS_VARS}


def _pick(env: Mapping[str, str], names: Mapping[str, str]) -> dict[str, object]:
    return {field: env[var].strip() for field, var in names.items() if env.get(var, "").strip()}


def _smtp_from_env(env: Mapping[str, str]) -> SmtpSettings | None:
    values = _pick(env, _SMTP_VARS)
    if "host" not in values:
        return None
    return SmtpSettings.model_validate(values)


def _sms_from_env(env: Mapping[str, str]) -> SmsSettings | None:
    values = _pick(env, _SMS_VARS)
    if "apprise_url" not in values:
        return None
    return SmsSettings.model_validate(values)


def _policy_from_env(env: Mapping[str, str]) -> DestinationPolicy:
    values = _pick(env, _POLICY_VARS)
    for listed in ("allowed_networks", "allowed_apprise_schemes"):
        if listed in values:
            values[listed] = [item.strip() for item in str(values[listed]).split(",") if item.strip()]
    return DestinationPolicy.model_validate(values)


def _names(exc: ValidationError) -> str:
    """Errors in terms of environment variable names, which is what the operator edits."""
    by_field = _VARS_BY_MODEL.get(exc.title, {})
    parts = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        parts.append(f"{by_field.get(field, _whole(by_field, exc.title))}: {problem(dict(error))}")
    return "; ".join(parts)


def _whole(names: Mapping[str, str], title: str) -> str:
    """A model-level error (no field): named after the model's first variable."""
    return next(iter(names.values()), title)

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
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from central.settings import ENV_PREFIX, EnvSettings
from central.telemetry.alerts.rules import Severity

EMAIL_PATTERN = r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$"

Model = TypeVar("Model", bound=BaseModel)


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"
    SSL = "ssl"
    NONE = "none"  # plain SMTP: only for a relay on the same host or network


DEFAULT_PORTS = {SmtpSecurity.STARTTLS: 587, SmtpSecurity.SSL: 465, SmtpSecurity.NONE: 25}


class SmtpSettings(BaseModel):
    """The aliases are the ends of the variables' names (``CAUDAL_SMTP_USER``, ``CAUDAL_SMTP_FROM``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True)

    host: str = Field(min_length=1, max_length=253)
    port: int | None = Field(default=None, ge=1, le=65535)
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str | None = Field(default=None, validation_alias="user")
    password: SecretStr | None = None
    from_address: str = Field(pattern=EMAIL_PATTERN, validation_alias="from")
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
Scheme = Annotated[str, Field(pattern=r"^[a-z][a-z0-9+.-]*$")]


class DestinationPolicy(BaseModel):
    """Where notifications may connect: public addresses only, unless allowed here (SSRF guard)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True)

    allow_private_destinations: bool = Field(default=False, validation_alias="allow_private")
    allowed_networks: Annotated[tuple[Network, ...], NoDecode] = ()
    allowed_apprise_schemes: Annotated[frozenset[Scheme], NoDecode] = frozenset()
    require_https: bool = True
    timeout_s: float = Field(default=15, gt=0, le=300)


PHONE_PLACEHOLDER = "{phone}"


class SmsSettings(BaseModel):
    """The installation's SMS provider for the SMS users ask for in their profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    apprise_url: SecretStr
    min_severity: Severity = Severity.CRITICAL

    @field_validator("apprise_url")
    @classmethod
    def _has_placeholder(cls, url: SecretStr) -> SecretStr:
        if PHONE_PLACEHOLDER not in url.get_secret_value():
            raise ValueError(f"debe contener {PHONE_PLACEHOLDER} donde va el número del destinatario")
        return url

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
    def from_env(cls) -> NotifySettings:
        """Build from the process's ``CAUDAL_*`` variables, read now: e-mail is off without
        ``CAUDAL_SMTP_HOST``, profile SMS without ``CAUDAL_SMS_APPRISE_URL``.

        A bad value raises :class:`central.settings.SettingsError` naming the variable.
        """
        smtp = _read(_SmtpEnv, SmtpSettings) if _given("CAUDAL_SMTP_HOST") else None
        sms = _read(_SmsEnv, SmsSettings) if _given("CAUDAL_SMS_APPRISE_URL") else None
        return cls(smtp=smtp, destinations=_read(_PolicyEnv, DestinationPolicy), sms=sms)


class _FromEnv(EnvSettings):
    """Reads one of the models above from its variables (pydantic-settings). Only
    :meth:`NotifySettings.from_env` reads the environment: a model built in code is what it says.
    A blank variable counts as unset and surrounding spaces are dropped, as a hand-written env
    file leaves them."""

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, values: Any) -> Any:
        stripped = {name: value.strip() if isinstance(value, str) else value for name, value in values.items()}
        return {name: value for name, value in stripped.items() if value != ""}


class _SmtpEnv(_FromEnv, SmtpSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX + "SMTP_", env_prefix_target="all")


class _PolicyEnv(_FromEnv, DestinationPolicy):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX + "NOTIFY_", env_prefix_target="all")

    @field_validator("allowed_networks", "allowed_apprise_schemes", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return [item.strip() for item in value.split(",") if item.strip()] if isinstance(value, str) else value


class _SmsEnv(_FromEnv, SmsSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX + "SMS_")


def _read(reader: type[_FromEnv], model: type[Model]) -> Model:
    return model.model_validate(dict(reader.from_env()))


def _given(variable: str) -> bool:
    return bool(os.environ.get(variable, "").strip())

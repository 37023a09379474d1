"""Notification settings from the environment, validated up front with errors naming the variable."""

from __future__ import annotations

import os
from ipaddress import ip_network

import pytest

from central.notify import DestinationPolicy, NotifySettings, SmtpSecurity, SmtpSettings
from central.notify.settings import SmsSettings
from central.settings import SettingsError
from central.telemetry.alerts.rules import Severity

PREFIXES = ("CAUDAL_SMTP_", "CAUDAL_NOTIFY_", "CAUDAL_SMS_")


def from_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> NotifySettings:
    """NotifySettings read from a process environment holding exactly ``env`` of the notify variables."""
    for name in os.environ:
        if name.startswith(PREFIXES):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return NotifySettings.from_env()


def test_full_smtp_and_policy_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "CAUDAL_SMTP_HOST": "smtp.agua.example",
        "CAUDAL_SMTP_PORT": "2525",
        "CAUDAL_SMTP_SECURITY": "ssl",
        "CAUDAL_SMTP_USER": "alertas",
        "CAUDAL_SMTP_PASSWORD": "clave",
        "CAUDAL_SMTP_FROM": "alertas@agua.example",
        "CAUDAL_SMTP_FROM_NAME": "Caudal Norte",
        "CAUDAL_SMTP_TIMEOUT_S": "20",
        "CAUDAL_NOTIFY_ALLOW_PRIVATE": "false",
        "CAUDAL_NOTIFY_ALLOWED_NETWORKS": "10.20.0.0/16, fd00::/8",
        "CAUDAL_NOTIFY_REQUIRE_HTTPS": "true",
        "CAUDAL_NOTIFY_TIMEOUT_S": "7",
        "CAUDAL_NOTIFY_ALLOWED_APPRISE_SCHEMES": "syslog, mqtts",
    }
    settings = from_env(monkeypatch, env)
    assert settings == NotifySettings(
        smtp=SmtpSettings(
            host="smtp.agua.example",
            port=2525,
            security=SmtpSecurity.SSL,
            username="alertas",
            password="clave",
            from_address="alertas@agua.example",
            from_name="Caudal Norte",
            timeout_s=20,
        ),
        destinations=DestinationPolicy(
            allowed_networks=(ip_network("10.20.0.0/16"), ip_network("fd00::/8")),
            allowed_apprise_schemes=frozenset({"syslog", "mqtts"}),
            timeout_s=7,
        ),
    )
    assert settings.smtp is not None and settings.smtp.password.get_secret_value() == "clave"  # type: ignore[union-attr]
    assert "clave" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param(
            {"PATH": "/usr/bin"},
            NotifySettings(smtp=None, destinations=DestinationPolicy(), sms=None),
            id="nothing-set-email-and-sms-off",
        ),
        pytest.param(
            {"CAUDAL_SMTP_FROM": "a@b.example", "CAUDAL_SMS_MIN_SEVERITY": "warning"},
            NotifySettings(),
            id="off-without-smtp-host-or-sms-url",
        ),
        pytest.param(
            {"CAUDAL_SMTP_HOST": "  ", "CAUDAL_SMS_APPRISE_URL": "", "CAUDAL_NOTIFY_TIMEOUT_S": " "},
            NotifySettings(),
            id="blank-is-unset",
        ),
        pytest.param(
            {"CAUDAL_SMTP_HOST": "h", "CAUDAL_SMTP_FROM": "a@b.example"},
            NotifySettings(smtp=SmtpSettings(host="h", from_address="a@b.example")),
            id="smtp-host-and-from",
        ),
        pytest.param(
            {
                "CAUDAL_SMTP_HOST": " h ",
                "CAUDAL_SMTP_FROM": "a@b.example ",
                "CAUDAL_SMTP_USER": "ana",
                "CAUDAL_SMTP_PORT": " 25",
            },
            NotifySettings(smtp=SmtpSettings(host="h", from_address="a@b.example", username="ana", port=25)),
            id="smtp-user-and-port-stripped",
        ),
        pytest.param(
            {"CAUDAL_SMTP_HOST": "h", "CAUDAL_SMTP_FROM": "a@b.example", "CAUDAL_SMTP_USER": ""},
            NotifySettings(smtp=SmtpSettings(host="h", from_address="a@b.example", username=None)),
            id="empty-smtp-user-is-none",
        ),
        pytest.param(
            {"CAUDAL_NOTIFY_ALLOW_PRIVATE": "true"},
            NotifySettings(destinations=DestinationPolicy(allow_private_destinations=True)),
            id="allow-private",
        ),
        pytest.param(
            {"CAUDAL_SMS_APPRISE_URL": "twilio://sid:token@+56911111111/{phone}", "CAUDAL_SMS_MIN_SEVERITY": "warning"},
            NotifySettings(
                sms=SmsSettings(apprise_url="twilio://sid:token@+56911111111/{phone}", min_severity=Severity.WARNING)
            ),
            id="sms-url-and-min-severity",
        ),
    ],
)
def test_each_variable_sets_its_field_and_email_and_sms_are_off_without_their_host_or_url(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: NotifySettings
) -> None:
    """CAUDAL_SMTP_USER, CAUDAL_SMTP_FROM and CAUDAL_NOTIFY_ALLOW_PRIVATE are named apart from their fields."""
    assert from_env(monkeypatch, env) == expected


@pytest.mark.parametrize(
    ("security", "port"),
    [(SmtpSecurity.STARTTLS, 587), (SmtpSecurity.SSL, 465), (SmtpSecurity.NONE, 25)],
)
def test_the_smtp_port_defaults_by_security(security: SmtpSecurity, port: int) -> None:
    assert SmtpSettings(host="h", security=security, from_address="a@b.example").effective_port == port


@pytest.mark.parametrize(
    ("env", "error"),
    [
        (
            {"CAUDAL_SMTP_HOST": "h", "CAUDAL_SMTP_FROM": "a@b.example", "CAUDAL_SMTP_PORT": "smtp"},
            "CAUDAL_SMTP_PORT: debe ser un número entero",
        ),
        ({"CAUDAL_SMTP_HOST": "h"}, "CAUDAL_SMTP_FROM: falta este campo"),
        ({"CAUDAL_SMTP_HOST": "h", "CAUDAL_SMTP_FROM": " "}, "CAUDAL_SMTP_FROM: falta este campo"),
        (
            {"CAUDAL_SMTP_HOST": "h", "CAUDAL_SMTP_FROM": "not-an-address"},
            "CAUDAL_SMTP_FROM: no tiene la forma esperada",
        ),
        (
            {"CAUDAL_SMTP_HOST": "h", "CAUDAL_SMTP_FROM": "a@b.example", "CAUDAL_SMTP_FROM_NAME": "n" * 65},
            r"CAUDAL_SMTP_FROM_NAME: debe tener como máximo 64 carácter\(es\)",
        ),
        (
            {"CAUDAL_SMTP_HOST": "h", "CAUDAL_SMTP_FROM": "a@b.example", "CAUDAL_SMTP_SECURITY": "tls"},
            "CAUDAL_SMTP_SECURITY: debe ser 'starttls', 'ssl' o 'none'",
        ),
        (
            {"CAUDAL_SMTP_HOST": "h", "CAUDAL_SMTP_FROM": "a@b.example", "CAUDAL_SMTP_PASSWORD": "x"},
            "CAUDAL_SMTP_PASSWORD tiene valor pero CAUDAL_SMTP_USER no",
        ),
        ({"CAUDAL_NOTIFY_ALLOWED_NETWORKS": "10.0.0.0/33"}, "CAUDAL_NOTIFY_ALLOWED_NETWORKS: no es una red IPv4"),
        ({"CAUDAL_NOTIFY_ALLOW_PRIVATE": "maybe"}, "CAUDAL_NOTIFY_ALLOW_PRIVATE: debe ser true o false"),
        ({"CAUDAL_NOTIFY_TIMEOUT_S": "0"}, "CAUDAL_NOTIFY_TIMEOUT_S: debe ser mayor que 0"),
        (
            {"CAUDAL_NOTIFY_ALLOWED_APPRISE_SCHEMES": "syslog://"},
            "CAUDAL_NOTIFY_ALLOWED_APPRISE_SCHEMES: no tiene la forma esperada",
        ),
        (
            {"CAUDAL_SMS_APPRISE_URL": "twilio://sid:token@+56911111111/+56922222222"},
            r"CAUDAL_SMS_APPRISE_URL: debe contener \{phone\} donde va el número del destinatario",
        ),
        (
            {"CAUDAL_SMS_APPRISE_URL": "twilio://sid:token@+56911111111/{phone}", "CAUDAL_SMS_MIN_SEVERITY": "loud"},
            "CAUDAL_SMS_MIN_SEVERITY: debe ser 'info', 'warning' o 'critical'",
        ),
    ],
)
def test_a_bad_variable_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], error: str) -> None:
    with pytest.raises(SettingsError, match=error):
        from_env(monkeypatch, env)


def test_a_model_built_in_code_does_not_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only NotifySettings.from_env reads the variables: a policy written in code is that policy."""
    from_env(monkeypatch, {"CAUDAL_NOTIFY_ALLOW_PRIVATE": "true", "CAUDAL_SMTP_PORT": "2525"})
    assert (
        DestinationPolicy().allow_private_destinations,
        SmtpSettings(host="h", from_address="a@b.example").port,
    ) == (False, None)

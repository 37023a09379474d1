"""Notification settings from the environment, validated up front with errors naming the variable."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from central.notify import DestinationPolicy, NotifySettings, SmtpSecurity, SmtpSettings
from central.settings import SettingsError


def test_full_smtp_and_policy_settings_from_the_environment() -> None:
    env = {
        "CAUDAL_SMTP_HOST": "smtp.agua.example", "CAUDAL_SMTP_PORT": "2525", "CAUDAL_SMTP_SECURITY": "ssl",
        "CAUDAL_SMTP_USER": "alertas", "CAUDAL_SMTP_PASSWORD": "clave", "CAUDAL_SMTP_FROM": "alertas@agua.example",
        "CAUDAL_SMTP_FROM_NAME": "Caudal Norte", "CAUDAL_SMTP_TIMEOUT_S": "20",
        "CAUDAL_NOTIFY_ALLOW_PRIVATE": "false", "CAUDAL_NOTIFY_ALLOWED_NETWORKS": "10.20.0.0/16, fd00::/8",
        "CAUDAL_NOTIFY_REQUIRE_HTTPS": "true", "CAUDAL_NOTIFY_TIMEOUT_S": "7",
        "CAUDAL_NOTIFY_ALLOWED_APPRISE_SCHEMES": "syslog, mqtts",
    }
    settings = NotifySettings.from_env(env)
    assert settings == NotifySettings(
        smtp=SmtpSettings(host="smtp.agua.example", port=2525, security=SmtpSecurity.SSL, username="alertas",
                          password="clave", from_address="alertas@agua.example", from_name="Caudal Norte",
                          timeout_s=20),
        destinations=DestinationPolicy(allowed_networks=(ip_network("10.20.0.0/16"), ip_network("fd00::/8")),
                                       allowed_apprise_schemes=frozenset({"syslog", "mqtts"}), timeout_s=7))
    assert settings.smtp is not None and settings.smtp.password.get_secret_value() == "clave"  # type: ignore[union-attr]
    assert "clave" not in repr(settings)


def test_no_smtp_host_means_no_email_and_the_default_policy() -> None:
    assert NotifySettings.from_env({"PATH": "/usr/bin"}) == NotifySettings(smtp=None, destinations=DestinationPolicy())


@pytest.mark.parametrize(
    ("security", "port"),
    [(SmtpSecurity.STARTTLS, 587), (SmtpSecurity.SSL, 465), (SmtpSecurity.NONE, 25)],
)
def test_the_smtp_port_defaults_by_security(security: SmtpSecurity, port: int) -> None:
    assert SmtpSettings(host="h", security=security, from_address="a@b.example").effective_port == port


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"CAUDAL_SMTP_HOST": "h", "CAUDAL_SMTP_FROM": "a@b.example", "CAUDAL_SMTP_PORT": "smtp"},
         "CAUDAL_SMTP_PORT: debe ser un número entero"),
        ({"CAUDAL_SMTP_HOST": "h"}, "CAUDAL_SMTP_FROM: falta este campo"),
        ({"CAUDAL_SMTP_HOST": "h", "CAUDAL_SMTP_FROM": "not-an-address"}, "CAUDAL_SMTP_FROM: no tiene la forma esperada"),
        ({"CAUDAL_SMTP_HOST": "h", "CAUDAL_SMTP_FROM": "a@b.example", "CAUDAL_SMTP_SECURITY": "tls"},
         "CAUDAL_SMTP_SECURITY: debe ser 'starttls', 'ssl' o 'none'"),
        ({"CAUDAL_SMTP_HOST": "h", "CAUDAL_SMTP_FROM": "a@b.example", "CAUDAL_SMTP_PASSWORD": "x"},
         "CAUDAL_SMTP_PASSWORD tiene valor pero CAUDAL_SMTP_USER no"),
        ({"CAUDAL_NOTIFY_ALLOWED_NETWORKS": "10.0.0.0/33"}, "CAUDAL_NOTIFY_ALLOWED_NETWORKS: no es una red IPv4"),
        ({"CAUDAL_NOTIFY_ALLOW_PRIVATE": "maybe"}, "CAUDAL_NOTIFY_ALLOW_PRIVATE: debe ser true o false"),
        ({"CAUDAL_NOTIFY_TIMEOUT_S": "0"}, "CAUDAL_NOTIFY_TIMEOUT_S: debe ser mayor que 0"),
        ({"CAUDAL_NOTIFY_ALLOWED_APPRISE_SCHEMES": "syslog://"},
         "CAUDAL_NOTIFY_ALLOWED_APPRISE_SCHEMES: no tiene la forma esperada"),
        ({"CAUDAL_SMS_APPRISE_URL": "twilio://sid:token@+56911111111/+56922222222"},
         r"CAUDAL_SMS_APPRISE_URL: debe contener \{phone\} donde va el número del destinatario"),
        ({"CAUDAL_SMS_APPRISE_URL": "twilio://sid:token@+56911111111/{phone}", "CAUDAL_SMS_MIN_SEVERITY": "loud"},
         "CAUDAL_SMS_MIN_SEVERITY: debe ser 'info', 'warning' o 'critical'"),
    ],
)
def test_a_bad_variable_is_named_in_the_error(env: dict[str, str], error: str) -> None:
    with pytest.raises(SettingsError, match=error):
        NotifySettings.from_env(env)

"""E-mail through Apprise to a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from central.notify import (
    DeliveryFailed,
    DestinationPolicy,
    EmailChannel,
    Notifier,
    NotifySettings,
    SmtpSecurity,
    SmtpSettings,
    mailto_url,
    new_notification,
)
from central.telemetry.alerts import Severity
from protocols.clock import ManualClock

from .support import LOOPBACK_ONLY, SmtpServer, smtp_settings

CHANNEL = EmailChannel(name="correo", address="operadora@agua.example")


async def test_an_email_reaches_the_smtp_server_with_recipient_subject_and_body(
    smtp_server: SmtpServer, clock: ManualClock
) -> None:
    smtp_server.start()
    notification = new_notification(
        "ana",
        "correo",
        "[Caudal] Alerta crítica: OB-0601-444",
        "Caudal 15.2 L/s sobre el derecho 12.0 L/s × 1.0 durante 10 min",
        clock.now(),
        severity=Severity.CRITICAL,
    )
    async with Notifier(smtp_settings(smtp_server.port)) as notifier:
        await notifier.send(CHANNEL, notification)
    [mail] = smtp_server.received
    assert (mail.recipients, mail.sender) == (["operadora@agua.example"], "alertas@caudal.example")
    assert mail.message["Subject"] == "[Caudal] Alerta crítica: OB-0601-444"
    assert mail.message["From"] == "Caudal <alertas@caudal.example>"
    assert mail.message.get_content().strip() == "Caudal 15.2 L/s sobre el derecho 12.0 L/s × 1.0 durante 10 min"


async def test_the_installations_smtp_server_is_trusted_whatever_the_destination_policy(
    smtp_server: SmtpServer, clock: ManualClock
) -> None:
    smtp_server.start()
    strict = smtp_settings(smtp_server.port).model_copy(update={"destinations": DestinationPolicy()})
    async with Notifier(strict) as notifier:
        await notifier.send(CHANNEL, new_notification("ana", "correo", "asunto", "cuerpo", clock.now()))
    assert [mail.recipients for mail in smtp_server.received] == [["operadora@agua.example"]]


async def test_a_stopped_smtp_server_is_a_retryable_delivery_failure(
    smtp_server: SmtpServer, clock: ManualClock
) -> None:
    notification = new_notification("ana", "correo", "asunto", "cuerpo", clock.now())
    async with Notifier(smtp_settings(smtp_server.port)) as notifier:
        with pytest.raises(DeliveryFailed) as caught:
            await notifier.send(CHANNEL, notification)
    assert caught.value.permanent is False
    assert caught.value.reason == 'Connection error while submitting email to "127.0.0.1"'


async def test_email_without_smtp_settings_fails_with_the_variable_to_set(clock: ManualClock) -> None:
    notification = new_notification("ana", "correo", "asunto", "cuerpo", clock.now())
    async with Notifier(NotifySettings(destinations=LOOPBACK_ONLY)) as notifier:
        with pytest.raises(DeliveryFailed, match="falta CAUDAL_SMTP_HOST"):
            await notifier.send(CHANNEL, notification)


@pytest.mark.parametrize(
    ("smtp", "expected"),
    [
        (
            SmtpSettings(host="smtp.agua.example", from_address="a@agua.example"),
            "mailtos://smtp.agua.example:587/?to=op%40agua.example&from=a%40agua.example&name=Caudal&mode=starttls"
            "&format=text&cto=15",
        ),
        (
            SmtpSettings(
                host="mail.agua.example",
                security=SmtpSecurity.SSL,
                username="alertas@agua.example",
                password="p@ss/w:rd?#",
                from_address="a@agua.example",
                timeout_s=5,
            ),
            "mailtos://alertas%40agua.example:p%40ss%2Fw%3Ard%3F%23@mail.agua.example:465/?to=op%40agua.example"
            "&from=a%40agua.example&name=Caudal&mode=ssl&format=text&cto=5",
        ),
        (
            SmtpSettings(host="::1", port=2525, security=SmtpSecurity.NONE, from_address="a@agua.example"),
            "mailto://[::1]:2525/?to=op%40agua.example&from=a%40agua.example&name=Caudal&mode=insecure&format=text"
            "&cto=15",
        ),
    ],
)
def test_the_apprise_mail_url_encodes_credentials_and_security(smtp: SmtpSettings, expected: str) -> None:
    assert mailto_url(smtp, "op@agua.example") == expected


@pytest.mark.filterwarnings("ignore::UserWarning")  # aiosmtpd warns about AUTH without TLS (loopback only)
async def test_smtp_credentials_are_sent_intact(port: int, clock: ManualClock) -> None:
    server = SmtpServer(port, credentials=("alertas@agua.example", "p@ss/w:rd?#"))
    server.start()
    try:
        settings = smtp_settings(port, username="alertas@agua.example", password=SecretStr("p@ss/w:rd?#"))
        async with Notifier(settings) as notifier:
            await notifier.send(CHANNEL, new_notification("ana", "correo", "asunto", "cuerpo", clock.now()))
    finally:
        server.stop()
    assert server.logins == [("alertas@agua.example", "p@ss/w:rd?#")]
    assert [mail.recipients for mail in server.received] == [["operadora@agua.example"]]

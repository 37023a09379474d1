"""From readings to the operator's inbox: evaluation, lifecycle, subscription, outbox, real SMTP."""

from __future__ import annotations

from datetime import timedelta

from central.notify import EmailChannel, Notifier, deliver_due, new_notification
from central.telemetry.alerts import Alert, RuleState, apply_signals, evaluate_readings, notice
from central.telemetry.alerts.rules import FlowAboveRight
from protocols.clock import ManualClock
from protocols.uplink import Reading

from .support import MemoryOutbox, SmtpServer, smtp_settings

CHANNEL = EmailChannel(name="correo", address="operadora@agua.example")
RULE = FlowAboveRight(water_right_lps=12.0, for_minutes=10, clear_minutes=5, hysteresis_lps=0.6)


def readings(clock: ManualClock, flows: list[float]) -> list[Reading]:
    return [
        Reading(
            seq=i,
            device="caudalimetro-pozo-1",
            point="OB-0601-444",
            variable="flow",
            ts=clock.now() + timedelta(minutes=i),
            value=flow,
            unit="L/s",
        )
        for i, flow in enumerate(flows)
    ]


def ingest(flows: list[Reading], outbox: MemoryOutbox, clock: ManualClock, batch: int = 100) -> None:
    """What ingest will do per point and rule, with the db replaced by local variables."""
    state, live = RuleState(), None
    for start in range(0, len(flows), batch):
        state, signals = evaluate_readings(RULE, state, flows[start : start + batch])
        for transition in apply_signals(live, signals, rule_id=1, kind=RULE.kind, subject="OB-0601-444"):
            live = transition.alert if transition.alert.live else None
            queue(transition.alert, transition.notify, notice(transition) if transition.notify else None, outbox, clock)


def queue(alert: Alert, notify: bool, text: tuple[str, str] | None, outbox: MemoryOutbox, clock: ManualClock) -> None:
    if notify and text and CHANNEL.subscription.wants(alert.severity, [alert.subject]):
        outbox.add(
            new_notification("ana", CHANNEL.name, *text, clock.now(), severity=alert.severity, alert_id=alert.id)
        )


async def test_a_thousand_readings_over_the_right_send_one_email(smtp_server: SmtpServer, clock: ManualClock) -> None:
    smtp_server.start()
    outbox = MemoryOutbox(CHANNEL)
    ingest(readings(clock, [15.2] * 1000), outbox, clock)
    async with Notifier(smtp_settings(smtp_server.port)) as notifier:
        await deliver_due(outbox, notifier, clock)
    [mail] = smtp_server.received
    assert mail.message["Subject"] == "[Caudal] Alerta crítica: OB-0601-444"
    assert mail.message.get_content().splitlines()[0] == (
        "Caudal 15.2 L/s sobre el derecho 12.0 L/s × 1.0 durante 10 min"
    )


async def test_a_flow_hovering_at_the_right_sends_one_alert_and_one_all_clear(
    smtp_server: SmtpServer, clock: ManualClock
) -> None:
    smtp_server.start()
    outbox = MemoryOutbox(CHANNEL)
    flows = [12.3] * 11 + [11.9, 12.2, 11.8, 12.1] * 100 + [11.0] * 6
    ingest(readings(clock, flows), outbox, clock)
    async with Notifier(smtp_settings(smtp_server.port)) as notifier:
        await deliver_due(outbox, notifier, clock)
    assert [mail.message["Subject"] for mail in smtp_server.received] == [
        "[Caudal] Alerta crítica: OB-0601-444",
        "[Caudal] Normalizado crítica: OB-0601-444",
    ]

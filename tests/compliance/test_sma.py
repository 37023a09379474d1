"""SMA: settings, payload (pure) and the client against the stand-in over real HTTP."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from compliance.sma.client import SmaClient
from compliance.sma.config import SmaParameter, SmaPointConfig
from compliance.sma.payload import (
    SmaFormatError,
    build_registros,
    format_estampa,
    format_valor,
)
from compliance.sma.responses import SmaOutcome, SmaOutcomeKind, classify_sma
from compliance.sma.retry import backoff, retry_at
from compliance.standins.sma import Device, run_sma_standin
from compliance.transport import RawReply

TS = datetime(2026, 5, 17, 18, 5, tzinfo=UTC)  # 14:05 at UTC-4
PARAMS = [
    {"variable": "flow", "nombre": "Q", "unidad": "l/s", "decimals": 2},
    {"variable": "totalizer", "nombre": "VA", "unidad": "m3", "decimals": 0},
]


def config(base_url="http://127.0.0.1:1", password="clave", **changes) -> SmaPointConfig:
    base = {
        "mode": "live",
        "uf_id": "1234",
        "proceso_id": "77",
        "dispositivo_id": "12180",
        "parameters": PARAMS,
        "usuario": "77.555.666-8",
        "password": password,
        "base_url": base_url,
        "timestamp_utc_offset_hours": -4,
    }
    return SmaPointConfig.model_validate({**base, **changes})


def test_registros_for_one_timestamp_carry_every_parameter():
    assert build_registros(config(), TS, {"flow": 42.5, "totalizer": D("42500.4")}) == [
        {
            "dispositivoId": "12180",
            "parametros": [
                {"nombre": "Q", "valor": "42.50", "unidad": "l/s", "estampaTiempo": "2026-05-17T14:05:00"},
                {"nombre": "VA", "valor": "42500", "unidad": "m3", "estampaTiempo": "2026-05-17T14:05:00"},
            ],
        }
    ]


@pytest.mark.parametrize(
    ("values", "missing"),
    [({"flow": 1.0}, "totalizer"), ({"flow": 1.0, "totalizer": None}, "totalizer"), ({}, "flow, totalizer")],
)
def test_a_missing_parameter_means_no_call(values, missing):
    with pytest.raises(SmaFormatError) as refused:
        build_registros(config(), TS, values)
    assert str(refused.value) == (
        f"no hay valor a las 2026-05-17T18:05:00+00:00 para {missing}; la SMA necesita todos los parámetros en una"
        " llamada"
    )


@pytest.mark.parametrize(
    ("value", "decimals", "text"), [(D("2.675"), 2, "2.68"), (-0.001, 2, "0.00"), (D("10.5"), 0, "11"), (3, 3, "3.000")]
)
def test_valor_formatting(value, decimals, text):
    assert format_valor(value, SmaParameter(variable="flow", nombre="Q", unidad="l/s", decimals=decimals)) == text


def test_estampa_on_the_configured_offset():
    assert format_estampa(TS, -4) == "2026-05-17T14:05:00"
    assert format_estampa(TS, 0) == "2026-05-17T18:05:00"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"usuario": "77555666-1"}, "usuario"),
        ({"parameters": []}, "parameters"),
        ({"parameters": [PARAMS[0], {**PARAMS[1], "nombre": "Q"}]}, "repeat nombre Q"),
        ({"uf_id": "a/b"}, "uf_id"),
        ({"base_url": "conexiones.sma.gob.cl"}, "base_url"),
        ({"timestamp_utc_offset_hours": None}, "timestamp_utc_offset_hours"),
        ({"timestamp_utc_offset_hours": 15}, "timestamp_utc_offset_hours"),
    ],
)
def test_bad_sma_settings_are_refused(changes, field):
    with pytest.raises(ValidationError, match=field):
        config(**changes)


def test_the_time_zone_of_estampa_tiempo_has_no_default():
    without = {key: value for key, value in config().model_dump().items() if key != "timestamp_utc_offset_hours"}
    with pytest.raises(ValidationError, match="timestamp_utc_offset_hours\n  Field required"):
        SmaPointConfig.model_validate({**without, "password": "clave"})


@pytest.mark.parametrize(
    ("attempts", "wait"),
    [
        (1, timedelta(minutes=1)),
        (2, timedelta(minutes=2)),
        (3, timedelta(minutes=4)),
        (6, timedelta(minutes=32)),
        (7, timedelta(hours=1)),
        (8, timedelta(hours=1)),
        (100, timedelta(hours=1)),
    ],
)
def test_sma_backoff_doubles_up_to_an_hour(attempts, wait):
    assert backoff(attempts) == wait
    assert retry_at(TS, attempts) == TS + wait


def test_sma_backoff_counts_attempts_from_one():
    with pytest.raises(ValueError, match="from 1; got 0"):
        backoff(0)


def test_production_default_and_secret_hidden():
    settings = SmaPointConfig.model_validate(
        {**config().model_dump(exclude={"base_url", "password"}), "password": "clave"}
    )
    assert settings.base_url == "https://conexiones.sma.gob.cl"
    assert "clave" not in repr(settings)


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [
        (RawReply(200, {"IdVerificacion": "A1"}, 0.1), SmaOutcome(SmaOutcomeKind.ACCEPTED, "A1", "HTTP 200: ")),
        (RawReply(201, {"data": {"idVerificacion": 55}}, 0.1), SmaOutcome(SmaOutcomeKind.ACCEPTED, "55", "HTTP 201: ")),
        (RawReply(200, {"message": "ok"}, 0.1), SmaOutcome(SmaOutcomeKind.NEEDS_REVIEW, None, "HTTP 200: ")),
        (RawReply(400, {"message": "x"}, 0.1, None, "x"), SmaOutcome(SmaOutcomeKind.REJECTED, None, "HTTP 400: x")),
        (RawReply(403, None, 0.1), SmaOutcome(SmaOutcomeKind.AUTH_FAILED, None, "HTTP 403: ")),
        (RawReply(503, None, 0.1), SmaOutcome(SmaOutcomeKind.RETRY, None, "HTTP 503: ")),
        (
            RawReply(None, None, 0.1, "tiempo de espera agotado tras 1 s"),
            SmaOutcome(SmaOutcomeKind.RETRY, None, "sin respuesta: tiempo de espera agotado tras 1 s"),
        ),
    ],
)
def test_sma_classification(raw, outcome):
    assert classify_sma(raw) == outcome


USERS = {"77555666-8": "clave"}
DEVICES = [Device("1234", "77", "12180", {"Q": "l/s", "VA": "m3"})]
VALUES = {"flow": 42.5, "totalizer": 42500}


@pytest.fixture
async def sma(clock):
    async with run_sma_standin(USERS, DEVICES, clock=clock) as stand_in:
        yield stand_in


def paths(stand_in) -> list[str]:
    return [r["path"].rsplit("/", 1)[-1] for r in stand_in.received]


async def test_one_call_per_timestamp_and_the_voucher_is_kept(sma, clock):
    settings = config(sma.url)
    async with SmaClient(settings, clock, min_interval_s=0) as client:
        first = await client.send(build_registros(settings, TS, VALUES))
        second = await client.send(build_registros(settings, TS + timedelta(minutes=5), VALUES))
    assert first.outcome.kind is SmaOutcomeKind.ACCEPTED and first.id_verificacion
    assert second.id_verificacion and second.id_verificacion != first.id_verificacion
    assert paths(sma) == ["auth", "registros", "registros"]  # the token was cached
    assert [p["estampaTiempo"] for item in sma.accepted for p in item["parametros"]] == ["2026-05-17T14:05:00"] * 2 + [
        "2026-05-17T14:10:00"
    ] * 2
    assert sma.received[1]["body"] == build_registros(settings, TS, VALUES)


async def test_the_token_is_renewed_when_its_24_hours_are_over(sma, clock):
    settings = config(sma.url)
    async with SmaClient(settings, clock, min_interval_s=0) as client:
        await client.send(build_registros(settings, TS, VALUES))
        clock.advance(timedelta(hours=24).total_seconds())
        reply = await client.send(build_registros(settings, TS, VALUES))
    assert reply.outcome.kind is SmaOutcomeKind.ACCEPTED
    assert paths(sma) == ["auth", "registros", "auth", "registros"]


async def test_a_401_renews_the_token_once(sma, clock):
    settings = config(sma.url)
    async with SmaClient(settings, clock, min_interval_s=0) as client:
        await client.send(build_registros(settings, TS, VALUES))
        sma.queue_faults("expire_tokens")
        reply = await client.send(build_registros(settings, TS, VALUES))
    assert reply.outcome.kind is SmaOutcomeKind.ACCEPTED
    assert paths(sma) == ["auth", "registros", "registros", "auth", "registros"]


async def test_wrong_credentials_are_an_auth_failure(sma, clock):
    async with SmaClient(config(sma.url, password="mala"), clock, min_interval_s=0) as client:
        reply = await client.send(build_registros(config(), TS, VALUES))
    assert reply.outcome.kind is SmaOutcomeKind.AUTH_FAILED
    assert paths(sma) == ["auth"]


def parametro(nombre: str, valor: object, unidad: str, at: str = "2026-05-17T14:05:00") -> dict[str, object]:
    """One measured parameter of a registro, as the SMA's API spells it."""
    return {"nombre": nombre, "valor": valor, "unidad": unidad, "estampaTiempo": at}


def registros_of(*parametros: dict[str, object]) -> list[dict[str, object]]:
    """The registros of one call: the device 12180 (its permit names Q in l/s and VA in m3) with ``parametros``."""
    return [{"dispositivoId": "12180", "parametros": list(parametros)}]


Q, VA = parametro("Q", "1.00", "l/s"), parametro("VA", "1", "m3")


@pytest.mark.parametrize(
    ("registros", "message"),
    [
        (registros_of(Q), "faltantes o sobrantes"),
        (registros_of(Q, VA, parametro("PH", "7", "pH")), "faltantes o sobrantes"),
        (registros_of(parametro("Q", 1.0, "l/s"), VA), "deben ser texto"),
        (registros_of(Q, parametro("VA", "1", "m3", "2026-05-17T14:10:00")), "comparten estampaTiempo"),
        ([{"dispositivoId": "999", "parametros": []}], "Dispositivo desconocido"),
    ],
    ids=["missing", "extra", "number", "two-stamps", "unknown-device"],
)
async def test_the_stand_in_refuses_incomplete_or_extra_parameters(sma, clock, registros, message):
    async with SmaClient(config(sma.url), clock, min_interval_s=0) as client:
        reply = await client.send(registros)
    assert reply.outcome.kind is SmaOutcomeKind.REJECTED
    assert message in reply.raw.body_json["message"]
    assert sma.accepted == []


@pytest.mark.parametrize(("fault", "status"), [("500", 500), ("503", 503)])
async def test_server_errors_are_retries(sma, clock, fault, status):
    async with SmaClient(config(sma.url), clock, min_interval_s=0) as client:
        await client.authenticate()
        sma.queue_faults(fault)
        reply = await client.send(build_registros(config(), TS, VALUES))
    assert (reply.raw.http_status, reply.outcome.kind) == (status, SmaOutcomeKind.RETRY)


async def test_a_timeout_is_a_retry(sma, clock):
    async with SmaClient(config(sma.url), clock, timeout_s=0.2, min_interval_s=0) as client:
        await client.authenticate()
        sma.queue_faults("timeout")
        reply = await client.send(build_registros(config(), TS, VALUES))
    assert reply.outcome == SmaOutcome(SmaOutcomeKind.RETRY, None, "sin respuesta: tiempo de espera agotado tras 0.2 s")


async def test_an_unreachable_login_is_a_retry(clock, port):
    async with SmaClient(config(f"http://127.0.0.1:{port}"), clock, min_interval_s=0) as client:
        reply = await client.send(build_registros(config(), TS, VALUES))
    assert reply.outcome.kind is SmaOutcomeKind.RETRY

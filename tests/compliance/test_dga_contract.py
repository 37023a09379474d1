"""The DGA client against the stand-in over real HTTP on loopback."""

import asyncio
import copy
import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal as D

import aiohttp
import pytest

from compliance.dga.client import DgaClient
from compliance.dga.config import DgaWorkConfig, WorkType
from compliance.dga.format import DgaRequest, build_request
from compliance.dga.responses import CheckResult, OutcomeKind, classify, classify_check
from compliance.dga.values import SlotValues
from compliance.standins.dga import Registration, run_dga_standin
from protocols.clock import ManualClock

RUT_EMPRESA = "77555666-8"
SLOT = datetime(2026, 11, 28, 13, tzinfo=UTC)
CODES = {
    WorkType.SUBTERRANEA: "OB-0601-444",
    WorkType.SUPERFICIAL_FLUJOMETRO: "OB-0601-445",
    WorkType.SUPERFICIAL: "OB-0601-446",
}
REGISTRY = {code: Registration("12345678-5", "secret") for code in CODES.values()}
VALUES = SlotValues(
    caudal=D("12.3"), totalizador=D("154320"), nivel_freatico=D("35.42"), altura_limnimetrica_cm=D("45")
)


@pytest.fixture
async def dga(clock):
    async with run_dga_standin(REGISTRY, RUT_EMPRESA, clock=clock) as stand_in:
        yield stand_in


@pytest.fixture
async def client(dga, clock):
    async with DgaClient(dga.url, clock, timeout_s=2, min_interval_s=0) as dga_client:
        yield dga_client


def request_for(work_type=WorkType.SUBTERRANEA, slot=SLOT, password="secret") -> DgaRequest:
    config = DgaWorkConfig(
        mode="live",
        work_type=work_type,
        codigo_obra=CODES[work_type],
        standard="mayor",
        informant_rut="12345678-5",
        informant_password=password,
        valid_from="2026-01-01T00:00:00Z",
        base_url="http://127.0.0.1:1",
    )
    return build_request(config, rut_empresa=RUT_EMPRESA, slot=slot, values=VALUES, sent_at=SLOT.replace(minute=10))


@pytest.mark.parametrize("work_type", list(WorkType))
async def test_accepted_with_a_comprobante(client, dga, work_type):
    outcome = classify(await client.send(request_for(work_type)))
    stored = dga.stored[(CODES[work_type], "2026-11-28", "09:00:00")]
    assert (outcome.kind, outcome.comprobante) == (OutcomeKind.ACCEPTED, stored.comprobante)
    medicion = request_for(work_type).body
    assert stored.measurement == next(v for k, v in medicion.items() if k != "autenticacion")


@pytest.mark.parametrize("work_type", list(WorkType))
async def test_a_duplicate_is_accepted_with_the_original_comprobante(client, dga, work_type):
    first = classify(await client.send(request_for(work_type)))
    raw = await client.send(request_for(work_type))
    assert raw.http_status == 400
    assert (
        raw.body_json["message"]
        == f"Ya existe un registro en esa fecha, hora para la obra. Comprobante: {first.comprobante}"
    )
    assert classify(raw).kind is OutcomeKind.ACCEPTED
    assert classify(raw).comprobante == first.comprobante
    assert len(dga.stored) == 1


def mutate_body(path: tuple[str, ...], value):
    def change(request: DgaRequest) -> DgaRequest:
        body = copy.deepcopy(request.body)
        target = body
        for key in path[:-1]:
            target = target[key]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return replace(request, body=body)

    return change


def mutate_header(name: str, value):
    def change(request: DgaRequest) -> DgaRequest:
        headers = {k: v for k, v in request.headers.items() if k != name}
        if value is not DELETE:
            headers[name] = value
        return replace(request, headers=headers)

    return change


DELETE = object()
M = ("medicionSubterranea",)
A = ("autenticacion",)


# Values of the measurement's fields the DGA refuses as "<field> con formato inválido".
BAD_FORMATS = {
    "caudal": ["12,30", "-1.00"],
    "totalizador": ["154320.0", "154.320", "1234567890123456"],
    "nivelFreaticoDelPozo": ["35.4", ""],
    "fechaMedicion": ["28-11-2026"],
    "horaMedicion": ["9:00:00"],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        *[
            (mutate_body(M + (field,), value), f"{field} con formato inválido")
            for field, values in BAD_FORMATS.items()
            for value in values
        ],
        (mutate_body(M + ("caudal",), "12.3"), "caudal con formato inválido: '12.3'"),
        (mutate_body(M + ("caudal",), 12.3), "caudal debe ser texto"),
        (mutate_body(M + ("totalizador",), 154320), "totalizador debe ser texto"),
        (mutate_body(M + ("fechaMedicion",), "2026-02-30"), "fechaMedicion no es una fecha"),
        (mutate_body(M + ("horaMedicion",), "24:00:00"), "horaMedicion no es una hora"),
        (mutate_body(M + ("extra",), "1"), "medicionSubterranea debe tener exactamente"),
        (mutate_body(M + ("caudal",), DELETE), "medicionSubterranea debe tener exactamente"),
        (mutate_body(A + ("rutEmpresa",), "77.555.666-8"), "rutEmpresa inválido"),
        (mutate_body(A + ("rutUsuario",), "12345678-4"), "rutUsuario inválido"),
        (mutate_body(A + ("rutEmpresa",), "11111111-1"), "rutEmpresa 11111111-1 no es un Centro de Control registrado"),
        (mutate_body(A + ("password",), DELETE), "autenticacion debe tener password"),
        (mutate_header("codigoObra", DELETE), "Header codigoObra inválido: None"),
        (mutate_header("codigoObra", "OB-601-444"), "Header codigoObra inválido"),
        (mutate_header("timeStampOrigen", DELETE), "Header timeStampOrigen inválido"),
        (mutate_header("timeStampOrigen", "2026-11-28T09:10:00Z"), "Header timeStampOrigen inválido"),
        (mutate_header("timeStampOrigen", "2026-11-28T09:10:00-04:00"), "Header timeStampOrigen inválido"),
        (mutate_header("timeStampOrigen", "2026-13-28T09:10:00-0000"), "Header timeStampOrigen inválido"),
        (mutate_header("Content-Type", "text/plain"), "Content-Type debe ser application/json"),
    ],
)
async def test_malformed_requests_are_refused_and_nothing_is_stored(client, dga, change, message):
    raw = await client.send(change(request_for()))
    assert raw.http_status == 400
    assert raw.body_json["status"] != "00"
    assert message in raw.body_json["message"]
    assert classify(raw).kind is OutcomeKind.RETRY
    assert dga.stored == {}


async def test_a_blank_level_is_accepted_where_the_work_allows_it(clock):
    registry = {"OB-0601-444": Registration("12345678-5", "secret", allow_blank=True)}
    async with (
        run_dga_standin(registry, RUT_EMPRESA, clock=clock) as dga,
        DgaClient(dga.url, clock, min_interval_s=0) as client,
    ):
        raw = await client.send(mutate_body(M + ("nivelFreaticoDelPozo",), "")(request_for()))
    assert classify(raw).kind is OutcomeKind.ACCEPTED


@pytest.mark.parametrize(
    "change",
    [
        mutate_body(A + ("password",), "wrong"),
        mutate_body(A + ("rutUsuario",), "11111111-1"),
        mutate_header("codigoObra", "OB-0999-1"),
    ],
    ids=["password", "informant", "unknown-work"],
)
async def test_an_informant_not_registered_is_unrecoverable(client, dga, change):
    raw = await client.send(change(request_for()))
    assert raw.body_json["message"] == "Usuario no es el informante registrado en la Obra"
    assert classify(raw).kind is OutcomeKind.UNRECOVERABLE
    assert dga.stored == {}


async def test_a_timeout_is_a_retry_without_answer(dga, clock):
    dga.queue_faults("timeout")
    async with DgaClient(dga.url, clock, timeout_s=0.2, min_interval_s=0) as client:
        raw = await client.send(request_for())
    assert (raw.http_status, raw.error) == (None, "tiempo de espera agotado tras 0.2 s")
    outcome = classify(raw)
    assert (outcome.kind, outcome.answered) == (OutcomeKind.RETRY, False)
    assert dga.stored == {}


@pytest.mark.parametrize("fault", ["500", "503"])
async def test_server_errors_are_retries(client, dga, fault):
    dga.queue_faults(fault)
    raw = await client.send(request_for())
    assert raw.http_status == int(fault)
    assert classify(raw).kind is OutcomeKind.RETRY
    assert classify(await client.send(request_for())).kind is OutcomeKind.ACCEPTED  # the fault was used up


async def test_a_lost_reply_then_the_resend_gets_the_original_comprobante(client, dga):
    dga.queue_faults("drop_after_store")
    lost = await client.send(request_for())
    assert lost.http_status is None and lost.error
    assert classify(lost).kind is OutcomeKind.RETRY
    original = dga.stored[("OB-0601-444", "2026-11-28", "09:00:00")].comprobante
    resend = classify(await client.send(request_for()))
    assert (resend.kind, resend.comprobante) == (OutcomeKind.ACCEPTED, original)


async def test_ok_without_comprobante_needs_review(client, dga):
    dga.queue_faults("ok_without_comprobante")
    outcome = classify(await client.send(request_for()))
    assert (outcome.kind, outcome.comprobante) == (OutcomeKind.NEEDS_REVIEW, None)
    assert len(dga.stored) == 1


@pytest.mark.parametrize("work_type", list(WorkType))
async def test_the_get_check_confirms_what_was_stored(client, work_type):
    comprobante = classify(await client.send(request_for(work_type))).comprobante
    raw = await client.check(work_type, CODES[work_type], comprobante)
    assert raw.body_json["data"]["fechaMedicion"] == "28-11-2026"
    assert classify_check(raw, "2026-11-28", "09:00:00").result is CheckResult.CONFIRMED


async def test_the_get_check_of_an_unknown_comprobante(client):
    raw = await client.check(WorkType.SUBTERRANEA, "OB-0601-444", "NOPE")
    assert raw.http_status == 404
    assert classify_check(raw, "2026-11-28", "09:00:00").result is CheckResult.NOT_FOUND


async def test_requests_are_paced_across_the_client(dga):
    clock = ManualClock("2026-11-28T13:10:00+00:00")
    dga.clock = clock
    async with DgaClient(dga.url, clock, min_interval_s=1.0) as client:
        first = asyncio.create_task(client.send(request_for(slot=SLOT)))
        second = asyncio.create_task(client.send(request_for(slot=SLOT.replace(hour=14))))
        await first
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert len(dga.received) == 1  # the second waits on the clock
        clock.advance(1.0)
        await second
    stamps = [datetime.fromisoformat(r["at"]) for r in dga.received]
    assert (stamps[1] - stamps[0]).total_seconds() == 1.0


async def test_an_unreachable_server_is_an_error_reply(clock, port):
    async with DgaClient(f"http://127.0.0.1:{port}", clock, min_interval_s=0) as client:
        raw = await client.send(request_for())
    assert raw.http_status is None and raw.error.startswith("ClientConnectorError")
    assert classify(raw).answered is False


async def test_admin_routes_list_requests_without_passwords_and_refuse_unknown_faults(client, dga):
    await client.send(request_for())
    async with aiohttp.ClientSession() as session:
        async with session.get(dga.url + "/_received") as response:
            received = await response.json()
        async with session.post(dga.url + "/_faults", json={"faults": ["500", "explode"]}) as response:
            refused = (response.status, await response.json())
        async with session.post(dga.url + "/_faults", json={"faults": ["503"]}) as response:
            queued = await response.json()
    assert received[0]["body"]["autenticacion"] == {
        "password": "***",
        "rutEmpresa": RUT_EMPRESA,
        "rutUsuario": "12345678-5",
    }
    assert received[0]["headers"]["codigoObra"] == "OB-0601-444"
    assert refused[0] == 400 and "explode" in refused[1]["message"]
    assert queued == {"queued": ["503"]}
    assert "secret" not in json.dumps(received)

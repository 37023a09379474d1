from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from compliance.dga.config import Standard, WorkType
from compliance.dga.plausibility import PlausibilityLimits
from compliance.dga.validation import ValidationContext, validate
from compliance.dga.values import NoData, SlotValues

GOOD = SlotValues(caudal=D("12.3"), totalizador=D("154320"), nivel_freatico=D("35.42"))
LIMITS = PlausibilityLimits(
    caudal_max_lps=D("100"),
    totalizador_max_m3=D("4294967295"),
    nivel_freatico_min_m=D("0"),
    nivel_freatico_max_m=D("80"),
)
CTX = ValidationContext(WorkType.SUBTERRANEA, Standard.MAYOR, limits=LIMITS, last_accepted_totalizer=D("154000"))


def with_(values=GOOD, **changes) -> SlotValues:
    return SlotValues(**{**values.__dict__, **changes})


def ctx(**changes) -> ValidationContext:
    return ValidationContext(**{**CTX.__dict__, **changes})


@pytest.mark.parametrize(
    ("values", "context", "reasons"),
    [
        (GOOD, CTX, []),
        (with_(caudal=D("-0.01")), CTX, ["caudal -0.01 L/s es negativo"]),
        (with_(caudal=D("100")), CTX, []),  # far above any water right, within the meter's range: sent
        (with_(caudal=D("100.01")), CTX, ["caudal 100.01 L/s está sobre el máximo plausible 100 L/s"]),
        (with_(caudal=D("5000")), ctx(limits=PlausibilityLimits()), []),  # no limit configured: no ceiling
        (with_(totalizador=D("-1")), ctx(last_accepted_totalizer=None), ["totalizador -1 m3 es negativo"]),
        (
            with_(totalizador=D("4294967296")),
            CTX,
            ["totalizador 4294967296 m3 está sobre el máximo plausible 4294967295 m3"],
        ),
        (with_(nivel_freatico=D("-0.5")), CTX, ["nivelFreaticoDelPozo -0.5 m está bajo el mínimo plausible 0 m"]),
        (with_(nivel_freatico=D("80.5")), CTX, ["nivelFreaticoDelPozo 80.5 m está sobre el máximo plausible 80 m"]),
        (with_(nivel_freatico=D("-0.5")), ctx(limits=PlausibilityLimits()), []),  # artesian: no floor by default
        (with_(unsynced=("totalizer",)), CTX, []),  # the value is physical: sent (the clock alert tells people)
        (
            with_(totalizador=D("153999")),
            CTX,
            ["totalizador 153999 m3 está bajo el último aceptado, 154000 m3, sin un cambio de medidor registrado"],
        ),
        (with_(totalizador=D("10")), ctx(meter_changed_since_last_accepted=True), []),
        (with_(totalizador=D("10")), ctx(last_accepted_totalizer=None), []),
        (
            with_(faulty=("flow",)),
            CTX,
            ["sensor con falla: flow tiene una lectura de calidad failure cerca del intervalo"],
        ),
        (
            with_(nivel_freatico=None, totalizador=None),
            CTX,
            [
                "falta nivelFreaticoDelPozo (obligatorio para subterranea, estándar mayor)",
                "falta totalizador (obligatorio para subterranea, estándar mayor)",
            ],
        ),
        (with_(nivel_freatico=None), ctx(standard=Standard.MUY_PEQUENO), []),
        (with_(nivel_freatico=None), ctx(mining_waters=True), []),
        (
            SlotValues(caudal=D(1)),
            ctx(work_type=WorkType.SUPERFICIAL),
            ["falta alturaLimnimetrica (obligatorio para superficial, estándar mayor)"],
        ),
        (SlotValues(caudal=D(1)), ctx(work_type=WorkType.SUPERFICIAL, standard=Standard.MUY_PEQUENO), []),
        (
            SlotValues(totalizador=D(154100)),
            ctx(work_type=WorkType.SUPERFICIAL_FLUJOMETRO),
            ["falta caudal (obligatorio para superficial_flujometro, estándar mayor)"],
        ),
    ],
)
def test_validation_table(values, context, reasons):
    assert validate(values, context) == reasons


def test_no_data_is_all_missing_with_its_faults():
    slot = datetime(2026, 11, 28, 13, tzinfo=UTC)
    assert validate(NoData(slot, ("flow",)), CTX) == [
        "faltan todas las variables",
        "sensor con falla: flow tiene una lectura de calidad failure cerca del intervalo",
    ]


def test_several_problems_are_all_reported():
    values = with_(caudal=D("-1"), totalizador=D("1"), faulty=("level",))
    assert validate(values, CTX) == [
        "caudal -1 L/s es negativo",
        "totalizador 1 m3 está bajo el último aceptado, 154000 m3, sin un cambio de medidor registrado",
        "sensor con falla: level tiene una lectura de calidad failure cerca del intervalo",
    ]


@pytest.mark.parametrize(
    ("limits", "error"),
    [
        (
            {"nivel_freatico_min_m": "10", "nivel_freatico_max_m": "10"},
            "nivel_freatico_min_m 10 debe ser menor que nivel_freatico_max_m 10",
        ),
        ({"caudal_max_lps": "0"}, "caudal_max_lps\n  Input should be greater than 0"),
    ],
)
def test_contradictory_limits_are_refused(limits, error):
    with pytest.raises(ValueError, match=error):
        PlausibilityLimits(**limits)

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from compliance.dga.settings import Standard, WorkType
from compliance.dga.validation import ValidationContext, validate
from compliance.dga.values import NoData, SlotValues

GOOD = SlotValues(caudal=D("12.3"), totalizador=D("154320"), nivel_freatico=D("35.42"))
CTX = ValidationContext(
    WorkType.SUBTERRANEA, Standard.MAYOR, water_right_lps=D("20"), flow_tolerance=D("1.10"), last_accepted_totalizer=D("154000")
)


def with_(values=GOOD, **changes) -> SlotValues:
    return SlotValues(**{**values.__dict__, **changes})


def ctx(**changes) -> ValidationContext:
    return ValidationContext(**{**CTX.__dict__, **changes})


@pytest.mark.parametrize(
    ("values", "context", "reasons"),
    [
        (GOOD, CTX, []),
        (with_(caudal=D("-0.01")), CTX, ["caudal -0.01 L/s is negative"]),
        (with_(caudal=D("22.00")), CTX, []),  # 20 x 1.10 = 22.00 is still allowed
        (
            with_(caudal=D("22.01")),
            CTX,
            ["caudal 22.01 L/s is above the water right 20.00 L/s x tolerance 1.10 = 22.00 L/s"],
        ),
        (with_(caudal=D("500")), ctx(water_right_lps=None), []),  # no water right recorded: no ceiling
        (
            with_(totalizador=D("153999")),
            CTX,
            ["totalizador 153999 m3 is below the last accepted 154000 m3 with no meter change recorded"],
        ),
        (with_(totalizador=D("10")), ctx(meter_changed_since_last_accepted=True), []),
        (with_(totalizador=D("10")), ctx(last_accepted_totalizer=None), []),
        (
            with_(faulty=("flow",), unsynced=("totalizer",)),
            CTX,
            [
                "sensor flagged faulty: flow has a failure-quality reading near the slot",
                "totalizer was read with the gateway clock unsynchronised",
            ],
        ),
        (
            with_(nivel_freatico=None, totalizador=None),
            CTX,
            [
                "nivelFreaticoDelPozo missing (required for subterranea, standard mayor)",
                "totalizador missing (required for subterranea, standard mayor)",
            ],
        ),
        (with_(nivel_freatico=None), ctx(standard=Standard.MUY_PEQUENO), []),
        (with_(nivel_freatico=None), ctx(mining_waters=True), []),
        (
            SlotValues(caudal=D(1)),
            ctx(work_type=WorkType.SUPERFICIAL),
            ["alturaLimnimetrica missing (required for superficial, standard mayor)"],
        ),
        (SlotValues(caudal=D(1)), ctx(work_type=WorkType.SUPERFICIAL, standard=Standard.MUY_PEQUENO), []),
        (
            SlotValues(totalizador=D(154100)),
            ctx(work_type=WorkType.SUPERFICIAL_FLUJOMETRO),
            ["caudal missing (required for superficial_flujometro, standard mayor)"],
        ),
    ],
)
def test_validation_table(values, context, reasons):
    assert validate(values, context) == reasons


def test_no_data_is_all_missing_with_its_faults():
    slot = datetime(2026, 11, 28, 13, tzinfo=UTC)
    assert validate(NoData(slot, ("flow",)), CTX) == [
        "all variables missing",
        "sensor flagged faulty: flow has a failure-quality reading near the slot",
    ]


def test_several_problems_are_all_reported():
    values = with_(caudal=D("-1"), totalizador=D("1"), faulty=("level",))
    assert validate(values, CTX) == [
        "caudal -1.00 L/s is negative",
        "totalizador 1 m3 is below the last accepted 154000 m3 with no meter change recorded",
        "sensor flagged faulty: level has a failure-quality reading near the slot",
    ]

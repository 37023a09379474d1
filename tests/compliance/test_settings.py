from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from compliance.dga.codes import InvalidCodigoObra, validate_codigo_obra
from compliance.dga.config import (
    PRODUCTION_BASE_URL,
    CaudalMode,
    DgaWorkConfig,
    Period,
    Standard,
    WorkType,
)
from compliance.dga.plausibility import PlausibilityLimits, profile_limits
from compliance.mode import Mode

BASE = {
    "work_type": "subterranea",
    "codigo_obra": "OB-0601-444",
    "standard": "mayor",
    "informant_rut": "12.345.678-5",
    "informant_password": "secret",
    "valid_from": "2026-01-01T00:00:00-04:00",
}


@pytest.mark.parametrize("code", ["OB-0601-444", "OR-1301-1", "OB-0000-0", "OB-1234-99999999"])
def test_valid_work_codes_pass_unchanged(code):
    assert validate_codigo_obra(code) == code


@pytest.mark.parametrize(
    "code",
    [
        "ob-0601-444",
        "OX-0601-444",
        "OB-601-444",
        "OB-06011-444",
        "OB-0601-",
        "OB-0601-444\n",
        " OB-0601-444",
        "OB-0601-44a",
        "OB-٠٦٠١-444",
    ],
)
def test_malformed_work_codes_are_refused(code):
    with pytest.raises(InvalidCodigoObra) as refused:
        validate_codigo_obra(code)
    assert str(refused.value) == f"codigoObra {code!r} no tiene la forma OB|OR-NNNN-N (por ejemplo OB-0601-444)"


@pytest.mark.parametrize(
    ("standard", "period"),
    [("mayor", Period.HOUR), ("medio", Period.DAY), ("menor", Period.MONTH), ("muy_pequeno", Period.SIX_MONTHS)],
)
def test_period_defaults_from_the_standard(standard, period):
    config = DgaWorkConfig.model_validate({**BASE, "standard": standard})
    assert config.period == period
    assert config.transmission_period == period


def test_period_can_be_overridden():
    assert DgaWorkConfig.model_validate({**BASE, "standard": "menor", "period": "day"}).period == Period.DAY


def test_defaults_and_normalisation():
    config = DgaWorkConfig.model_validate(BASE)
    assert (config.mode, config.caudal_mode, config.base_url) == (Mode.OFF, CaudalMode.INSTANT, PRODUCTION_BASE_URL)
    assert config.informant_rut == "12345678-5"
    assert (config.meter_profile, config.plausibility) == (None, PlausibilityLimits())
    assert "secret" not in repr(config)


@pytest.mark.parametrize(
    ("work_type", "path"),
    [
        (WorkType.SUBTERRANEA, "/api/v1/mediciones/subterraneas"),
        (WorkType.SUPERFICIAL_FLUJOMETRO, "/api/v1/mediciones/superficiales/flujometro"),
        (WorkType.SUPERFICIAL, "/api/v1/mediciones/superficiales"),
    ],
)
def test_work_type_paths(work_type, path):
    assert work_type.path == path


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("codigo_obra", "OB-601-444"),
        ("informant_rut", "12345678-6"),
        ("informant_password", ""),
        ("base_url", "ftp://x.example"),
        ("valid_from", "2026-01-01T00:00:00"),
        ("valid_to", "2025-12-31T00:00:00Z"),
        ("grace_minutes", 60),
        ("standard", "grande"),
        ("unexpected", 1),
    ],
)
def test_bad_settings_are_refused_naming_the_field(field, value):
    with pytest.raises(ValidationError, match=field):
        DgaWorkConfig.model_validate({**BASE, field: value})


def test_validity_window():
    config = DgaWorkConfig.model_validate({**BASE, "valid_to": "2026-07-01T00:00:00-04:00"})
    assert [config.active_at(datetime(2026, m, 1, 4, tzinfo=UTC)) for m in (1, 6, 7)] == [True, True, False]
    assert not config.active_at(datetime(2025, 12, 31, tzinfo=UTC))


@pytest.mark.parametrize(
    ("profile", "limits"),
    [
        ("abb-aquamaster3", PlausibilityLimits(totalizador_max_m3=Decimal("4294967295"))),  # uint32 counter in m3
        ("xylem-magflux", PlausibilityLimits(totalizador_max_m3=Decimal("18446744073.709553"))),  # uint64 in mm3
        ("krohne-ifc300", PlausibilityLimits()),  # float registers: no capacity bound
        ("generic-4-20ma", PlausibilityLimits()),  # the range is the site's loop: unknown here
    ],
)
def test_meter_profiles_give_default_limits_where_their_registers_bound_a_value(profile, limits):
    assert profile_limits(profile) == limits


def test_configured_limits_take_precedence_over_the_profile_defaults():
    config = DgaWorkConfig.model_validate(
        {
            **BASE,
            "meter_profile": "abb-aquamaster3",
            "limits": {"caudal_max_lps": "80", "totalizador_max_m3": "9999999"},
        }
    )
    assert config.plausibility == PlausibilityLimits(
        caudal_max_lps=Decimal("80"), totalizador_max_m3=Decimal("9999999")
    )
    partial = DgaWorkConfig.model_validate(
        {**BASE, "meter_profile": "abb-aquamaster3", "limits": {"caudal_max_lps": "80"}}
    )
    assert partial.plausibility == PlausibilityLimits(
        caudal_max_lps=Decimal("80"), totalizador_max_m3=Decimal("4294967295")
    )


def test_an_unknown_meter_profile_is_refused_naming_the_known_ones():
    with pytest.raises(ValidationError) as refused:
        DgaWorkConfig.model_validate({**BASE, "meter_profile": "acme-9000"})
    assert refused.value.errors()[0]["msg"] == (
        "Value error, el perfil de medidor 'acme-9000' no existe; los disponibles son: abb-aquamaster3,"
        " generic-4-20ma, keller-series30, krohne-ifc300, siemens-mag6000, xylem-magflux"
    )


def test_a_stored_configuration_with_the_old_flow_tolerance_still_loads():
    assert DgaWorkConfig.model_validate({**BASE, "flow_tolerance": "1.10"}) == DgaWorkConfig.model_validate(BASE)


@pytest.mark.parametrize("period", ["hour", "day", "fortnight", "month", "six_months", "year"])
def test_every_period_is_accepted(period):
    assert DgaWorkConfig.model_validate({**BASE, "period": period}).transmission_period == Period(period)


@pytest.mark.parametrize(
    ("work_type", "standard", "period", "expected"),
    [
        ("subterranea", "mayor", None, CaudalMode.INSTANT),  # hourly: the reading at the hour
        ("subterranea", "medio", None, CaudalMode.AVERAGE),  # daily: the day's average from the totalizer
        ("subterranea", "menor", None, CaudalMode.AVERAGE),
        ("subterranea", "muy_pequeno", None, CaudalMode.AVERAGE),
        ("subterranea", "mayor", "fortnight", CaudalMode.AVERAGE),
        ("subterranea", "mayor", "year", CaudalMode.AVERAGE),
        ("subterranea", "medio", "hour", CaudalMode.INSTANT),
        ("superficial_flujometro", "medio", None, CaudalMode.AVERAGE),
        ("superficial", "medio", None, CaudalMode.INSTANT),  # limnimetric: no totalizer to average
    ],
)
def test_caudal_mode_defaults_from_the_period(work_type, standard, period, expected):
    values = {**BASE, "work_type": work_type, "standard": standard, "period": period}
    config = DgaWorkConfig.model_validate(values)
    assert (config.caudal_mode, config.caudal_mode_in_force) == (expected, expected)


def test_instant_caudal_stays_selectable_for_longer_periods():
    config = DgaWorkConfig.model_validate({**BASE, "standard": "medio", "caudal_mode": "instant"})
    assert config.caudal_mode_in_force == CaudalMode.INSTANT

"""The shipped meter profiles and the per-site overrides merged into them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from protocols.profiles import ProfileOverrideError, UnknownProfileError, available_profiles, load_profile


def layout(name: str) -> list[tuple[str, str, int, str, str, str]]:
    return [
        (s.variable, s.table.value, s.address, s.type.value, s.word_order.value, s.unit)
        for s in load_profile(name).registers
    ]


def test_available_profiles() -> None:
    assert available_profiles() == [
        "abb-aquamaster3",
        "generic-4-20ma",
        "keller-series30",
        "krohne-ifc300",
        "siemens-mag6000",
        "xylem-magflux",
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "siemens-mag6000",
            [
                ("flow", "holding", 3002, "float32", "big", "m3/h"),
                ("totalizer", "holding", 3014, "float64", "big", "m3"),
            ],
        ),
        (
            "abb-aquamaster3",
            [("flow", "input", 5016, "float32", "big", "L/s"), ("totalizer", "holding", 12002, "uint32", "big", "m3")],
        ),
        (
            "krohne-ifc300",
            [("flow", "input", 2, "float32", "big", "m3/s"), ("totalizer", "input", 28, "float64", "big", "m3")],
        ),
        ("keller-series30", [("level", "holding", 2, "float32", "big", "bar")]),
        (
            "xylem-magflux",
            [
                ("flow", "holding", 600, "float32", "little", "m3/s"),
                ("totalizer", "holding", 604, "uint64", "little", "mm3"),
            ],
        ),
        ("generic-4-20ma", [("level", "holding", 3001, "uint16", "big", "m")]),
    ],
)
def test_profile_register_maps_match_the_field_notes(name: str, expected: list) -> None:
    assert layout(name) == expected


@pytest.mark.parametrize(
    "name",
    ["siemens-mag6000", "abb-aquamaster3", "krohne-ifc300", "keller-series30", "xylem-magflux", "generic-4-20ma"],
)
def test_every_profile_names_its_meter(name: str) -> None:
    profile = load_profile(name)
    assert (profile.name, bool(profile.model), bool(profile.manufacturer), bool(profile.notes)) == (
        name,
        True,
        True,
        True,
    )


def test_only_the_loop_converter_requires_site_data() -> None:
    assert {name: load_profile(name).requires for name in available_profiles()} == {
        "abb-aquamaster3": [],
        "generic-4-20ma": ["loop"],
        "keller-series30": [],
        "krohne-ifc300": [],
        "siemens-mag6000": [],
        "xylem-magflux": [],
    }


def test_unknown_profile_lists_the_available_ones() -> None:
    with pytest.raises(UnknownProfileError) as raised:
        load_profile("siemens-mag5000")
    assert str(raised.value) == (
        "perfil desconocido 'siemens-mag5000'; disponibles: abb-aquamaster3, generic-4-20ma, keller-series30, "
        "krohne-ifc300, siemens-mag6000, xylem-magflux"
    )


def test_override_changes_only_the_named_variable() -> None:
    flow, totalizer = load_profile("siemens-mag6000").registers_with({"flow": {"unit": "L/s"}})
    assert (flow.unit, flow.address, flow.canonical_unit) == ("L/s", 3002, "L/s")
    assert totalizer == load_profile("siemens-mag6000").registers[1]


def test_override_by_manual_address_replaces_table_and_address() -> None:
    (level,) = load_profile("keller-series30").registers_with({"level": {"manual_address": 30003}})
    assert (level.table.value, level.address, level.converted_from) == ("input", 2, "manual 30003 -> input 2")


def test_override_can_rename_the_variable() -> None:
    (pressure,) = load_profile("keller-series30").registers_with({"level": {"variable": "pressure"}})
    assert (pressure.variable, pressure.unit, pressure.canonical_unit) == ("pressure", "bar", "bar")


def test_loop_profile_with_its_range() -> None:
    (level,) = load_profile("generic-4-20ma").registers_with({"level": {"loop": {"low": 0, "high": 50}}})
    assert (level.loop.low, level.loop.high, level.scale) == (0.0, 50.0, 0.001)


def test_loop_profile_without_its_range_is_refused() -> None:
    with pytest.raises(ProfileOverrideError) as raised:
        load_profile("generic-4-20ma").registers_with({"level": {"unit": "cm"}})
    assert str(raised.value) == "el perfil 'generic-4-20ma' necesita que la configuración indique loop para 'level'"


def test_override_of_an_unknown_variable_is_refused() -> None:
    with pytest.raises(ProfileOverrideError) as raised:
        load_profile("siemens-mag6000").registers_with({"flow_rate": {"unit": "L/s"}})
    assert str(raised.value) == "el perfil 'siemens-mag6000' no tiene la variable flow_rate; tiene: flow, totalizer"


@pytest.mark.parametrize(
    ("override", "loc", "message"),
    [
        (
            {"flow": {"unit": "bar"}},
            ("unit",),
            "Value error, unidad desconocida 'bar' para la variable 'flow'; se aceptan: L/s, L/min, L/h, m3/s, m3/h,"
            " m3/d, gpm",
        ),
        ({"flow": {"word_order": "CDAB"}}, ("word_order",), "Input should be 'big' or 'little'"),
        ({"flow": {"colour": "red"}}, ("colour",), "Extra inputs are not permitted"),
    ],
)
def test_invalid_override_is_a_validation_error(override: dict, loc: tuple, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        load_profile("siemens-mag6000").registers_with(override)
    assert [(e["loc"], e["msg"]) for e in raised.value.errors()] == [(loc, message)]


@pytest.mark.parametrize("name", available_profiles())
def test_every_file_a_profile_comment_cites_exists(name: str) -> None:
    root = Path(__file__).parents[2]
    comments = [
        line
        for line in (root / "protocols" / "profiles" / f"{name}.yaml").read_text().splitlines()
        if line.startswith("#")
    ]
    cited = re.findall(r"[\w.-]+(?:/[\w.-]+)+\.(?:md|py|yaml)", "\n".join(comments))
    assert cited and [path for path in cited if not (root / path).is_file()] == []

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.dga.rut import InvalidRut, check_digit, normalize_rut, rut_is_valid


def reference_check_digit(number: int) -> str:
    """The modulo-11 definition, written independently: weights 2..7 from the right, cycling."""
    digits = [int(d) for d in str(number)][::-1]
    weights = [2, 3, 4, 5, 6, 7] * 3
    value = 11 - sum(d * w for d, w in zip(digits, weights, strict=False)) % 11
    return "0" if value == 11 else "K" if value == 10 else str(value)


@pytest.mark.parametrize(
    ("number", "digit"),
    [
        (77555666, "8"),
        (12345678, "5"),
        (11111111, "1"),
        (76086428, "5"),
        (96790240, "3"),
        (10000013, "K"),
        (6, "K"),
        (1, "9"),
        (22222222, "2"),
    ],
)
def test_check_digit_of_known_ruts(number, digit):
    assert check_digit(number) == digit


@given(st.integers(min_value=1, max_value=999_999_999))
def test_check_digit_matches_the_definition(number):
    assert check_digit(number) == reference_check_digit(number)


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("77.555.666-8", "77555666-8"),
        ("77555666-8", "77555666-8"),
        (" 77555666-8 ", "77555666-8"),
        ("775556668", "77555666-8"),
        ("10.000.013-k", "10000013-K"),
        ("10000013-K", "10000013-K"),
        ("12.345.678-5", "12345678-5"),
        ("6-k", "6-K"),
        ("1-9", "1-9"),
    ],
)
def test_normalize_accepts_usual_spellings(text, normalized):
    assert (normalize_rut(text), rut_is_valid(text)) == (normalized, True)


# Texts not shaped like a RUT at all: each is refused with the same message, naming it.
NOT_RUTS = ["", "77-555-666-8", "77.5556.66-8", "77555666-X", "abc", "-8"]

BAD_RUTS = [
    ("77.555.666-9", "el RUT '77.555.666-9' tiene dígito verificador 9; su número necesita 8"),
    ("10000013-0", "el RUT '10000013-0' tiene dígito verificador 0; su número necesita K"),
    ("0-0", "el número de un RUT no puede ser cero: '0-0'"),
    *[(text, f"no es un RUT (se espera uno como 77555666-8): {text!r}") for text in NOT_RUTS],
]


@pytest.mark.parametrize(("text", "message"), BAD_RUTS)
def test_normalize_refuses_bad_ruts_naming_them(text, message):
    with pytest.raises(InvalidRut) as refused:
        normalize_rut(text)
    assert (str(refused.value), rut_is_valid(text)) == (message, False)


def test_a_non_string_is_refused():
    with pytest.raises(InvalidRut) as refused:
        normalize_rut(77555666)  # type: ignore[arg-type]
    assert str(refused.value) == "un RUT es texto, no int"


@given(st.integers(min_value=1, max_value=99_999_999))
def test_every_number_with_its_digit_round_trips_with_dots(number):
    dotted = f"{number:,}".replace(",", ".") + "-" + reference_check_digit(number).lower()
    assert normalize_rut(dotted) == f"{number}-{reference_check_digit(number)}"

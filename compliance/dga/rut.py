"""Chilean RUTs: normalised to the DGA's form (no dots, hyphen, upper-case K) and checked.

A RUT typed by a person often carries dots or a lower-case ``k``; the DGA wants
``77555666-8``. A RUT with a wrong check digit is refused up front: sending it would only
earn a rejection for every measurement of the work.
"""

from __future__ import annotations

import re

_SHAPE = re.compile(r"^(\d{1,3}(?:\.?\d{3})*)-?([0-9K])$", re.ASCII)


class InvalidRut(ValueError):
    """A RUT that is malformed or whose check digit does not match its number."""


def check_digit(number: int) -> str:
    """The modulo-11 check digit of a RUT number: ``0``-``9`` or ``K``."""
    if number < 0:
        raise InvalidRut(f"el número de un RUT no puede ser negativo: {number}")
    total, factor = 0, 2
    for digit in reversed(str(number)):
        total += int(digit) * factor
        factor = 2 if factor == 7 else factor + 1
    remainder = 11 - total % 11
    return {11: "0", 10: "K"}.get(remainder, str(remainder))


def normalize_rut(text: str) -> str:
    """``" 77.555.666-k "`` -> ``"77555666-K"``; raises :class:`InvalidRut` naming the value."""
    if not isinstance(text, str):
        raise InvalidRut(f"un RUT es texto, no {type(text).__name__}")
    match = _SHAPE.match(text.strip().upper())
    if match is None:
        raise InvalidRut(f"no es un RUT (se espera uno como 77555666-8): {text!r}")
    number = int(match.group(1).replace(".", ""))
    if number == 0:
        raise InvalidRut(f"el número de un RUT no puede ser cero: {text!r}")
    digit = match.group(2)
    expected = check_digit(number)
    if digit != expected:
        raise InvalidRut(f"el RUT {text!r} tiene dígito verificador {digit}; su número necesita {expected}")
    return f"{number}-{digit}"


def rut_is_valid(text: str) -> bool:
    """Whether :func:`normalize_rut` accepts ``text``."""
    try:
        normalize_rut(text)
    except InvalidRut:
        return False
    return True

"""The DGA's work code (``codigoObra``): ``OB`` capture or ``OR`` restitution, region+province, sequence."""

from __future__ import annotations

import re

CODIGO_OBRA = re.compile(r"O[BR]-[0-9]{4}-[0-9]+")


class InvalidCodigoObra(ValueError):
    """A work code that does not follow ``^O[BR]-\\d{4}-\\d+$``."""


def validate_codigo_obra(code: str) -> str:
    """Return ``code`` unchanged when it is a valid work code; raise otherwise.

    Nothing is trimmed or upper-cased: the code is an identifier registered at the DGA and a
    silently "repaired" code would report to a different work.
    """
    if not isinstance(code, str) or CODIGO_OBRA.fullmatch(code) is None:
        raise InvalidCodigoObra(f"codigoObra {code!r} no tiene la forma OB|OR-NNNN-N (por ejemplo OB-0601-444)")
    return code

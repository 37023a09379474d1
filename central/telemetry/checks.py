"""What a well-formed batch must still satisfy before anything is stored (pure).

- the ``gateway`` field names the gateway whose token sent it (422 otherwise);
- canonical variables arrive in their canonical unit (the edge converts), other variables
  carry a unit, and ``water_table`` is derived here, never sent (422);
- no reading lies in the future: later than both the server clock and the gateway's own
  clock (its ``sent_at``) by more than the tolerance. A gateway whose clock runs ahead is
  allowed its measured offset (that offset is recorded and shown, and its readings carry
  the edge's clock quality); a reading after the batch was sent is impossible (422);
- every time lies between :data:`~central.timerange.EARLIEST` and a day past the server
  clock (:data:`MAX_AHEAD`): ``sent_at`` in year 9999 or a reading in year 1 is a clock
  that was never set, and time arithmetic there overflows (422);
- every point belongs to the gateway (403, naming the points).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from central.telemetry.parse import BatchRejected, ParsedBatch, problem, rejected
from central.timerange import EARLIEST, iso_z
from protocols.units import CANONICAL_UNITS

DERIVED_VARIABLES = frozenset({"water_table"})


def variable_problem(variable: str, unit: str) -> str | None:
    """Why a (variable, unit) pair cannot be stored, or None."""
    if variable in DERIVED_VARIABLES:
        return f"{variable} lo calcula el servidor a partir de level y la profundidad del sensor del punto; envíe level"
    expected = CANONICAL_UNITS.get(variable)
    if expected is not None and unit != expected:
        return f"{variable} debe llegar en {expected} (el gateway convierte las unidades), no en {unit!r}"
    if expected is None and not unit.strip():
        return f"variable desconocida {variable!r} sin unidad: las demás variables deben declarar la suya"
    return None


MAX_AHEAD = timedelta(days=1)


def future_limit(now: datetime, sent_at: datetime, tolerance_s: float) -> datetime:
    """The latest acceptable reading time for a batch sent at ``sent_at`` (gateway clock),
    never more than :data:`MAX_AHEAD` past the server clock."""
    return min(max(now, sent_at) + timedelta(seconds=tolerance_s), now + MAX_AHEAD)


def sent_at_problem(sent_at: datetime, now: datetime) -> str | None:
    """Why the batch's ``sent_at`` is not a believable gateway clock, or None."""
    if EARLIEST <= sent_at <= now + MAX_AHEAD:
        return None
    return (
        f"{iso_z(sent_at)} está fuera del rango aceptado, de {iso_z(EARLIEST)} a {iso_z(now + MAX_AHEAD)}"
        " (un día después del reloj del servidor): ¿está en hora el reloj del gateway?"
    )


_VARIABLE_UNIT = itemgetter(3, 6)  # an Incoming's (variable, unit)
_TS = itemgetter(4)
_POINT = itemgetter(2)


def reading_problems(batch: ParsedBatch, now: datetime, tolerance_s: float) -> list[dict[str, Any]]:
    """Every reading's problems, in batch order. A batch's readings share a handful of
    (variable, unit) pairs, so a clean batch is recognised without a per-reading loop."""
    limit = future_limit(now, batch.sent_at, tolerance_s)
    if not batch.readings or (
        not any(variable_problem(*pair) for pair in set(map(_VARIABLE_UNIT, batch.readings)))
        and max(map(_TS, batch.readings)) <= limit
        and min(map(_TS, batch.readings)) >= EARLIEST
    ):
        return []
    problems = []
    for index, reading in enumerate(batch.readings):
        text = variable_problem(reading.variable, reading.unit)
        if text is not None:
            field = "unit" if reading.variable not in DERIVED_VARIABLES else "variable"
            problems.append(problem(index, reading.seq, field, text))
        if reading.ts > limit:
            problems.append(
                problem(
                    index,
                    reading.seq,
                    "ts",
                    (
                        f"{iso_z(reading.ts)} está en el futuro (lo más tarde aceptado es {iso_z(limit)}: el reloj del "
                        f"servidor o el sent_at del gateway, el que sea posterior, más {tolerance_s:g} s, y como mucho "
                        "un día después del reloj del servidor)"
                    ),
                )
            )
        if reading.ts < EARLIEST:
            problems.append(
                problem(
                    index,
                    reading.seq,
                    "ts",
                    (
                        f"{iso_z(reading.ts)} es anterior a {iso_z(EARLIEST)}: ninguna lectura es tan antigua (¿estaba en "
                        "hora el reloj del gateway?)"
                    ),
                )
            )
    return problems


def check_batch(batch: ParsedBatch, gateway_name: str, now: datetime, tolerance_s: float) -> None:
    """Raise :class:`BatchRejected` (422) for the first problems found; None if the batch is fine."""
    if batch.gateway != gateway_name:
        raise rejected(
            422,
            [
                problem(
                    None,
                    None,
                    "gateway",
                    (f"el lote dice gateway {batch.gateway!r} pero el token es de {gateway_name!r}"),
                )
            ],
        )
    sent_at = sent_at_problem(batch.sent_at, now)
    if sent_at is not None:
        raise rejected(422, [problem(None, None, "sent_at", sent_at)])
    problems = reading_problems(batch, now, tolerance_s)
    if problems:
        raise rejected(422, problems)


def check_points(batch: ParsedBatch, gateway_name: str, assigned: Collection[str]) -> None:
    """403 if any reading is for a point not assigned to this gateway (unknown codes included).

    The message names every such point with the devices that read it (a wrong ``point:`` in
    the gateway's site.yaml); ``problems`` hold one ``{"field": "point", "problem": CODE}`` per
    point, which the edge agent reads to hold those readings back and send the others.
    """
    foreign = sorted(set(map(_POINT, batch.readings)) - set(assigned))
    if not foreign:
        return
    devices: dict[str, set[str]] = {code: set() for code in foreign}
    for reading in batch.readings:
        if reading.point in devices:
            devices[reading.point].add(reading.device)
    named = ", ".join(f"{code} (equipo {', '.join(sorted(devices[code]))})" for code in foreign)
    raise BatchRejected(
        403,
        (
            f"el gateway {gateway_name!r} no puede escribir el/los punto(s) {named}: no le están asignados; no se"
            " guardó nada de este lote (asigne los puntos al gateway o corrija point: en su site.yaml)"
        ),
        [problem(None, None, "point", code) for code in foreign],
    )

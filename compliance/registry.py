"""Every regulator Caudal reports to, by name: the one place that lists them.

The worker, the configuration store and the configuration routes iterate over
:data:`REGULATORS`; adding a regulator is a new package with a
:class:`~compliance.regulator.Regulator` and one entry here (compliance/README.md).
"""

from __future__ import annotations

from typing import Literal

from central.problems import NotFound
from central.regulators import RegulatorLabel, Regulators
from compliance.dga.regulator import DGA
from compliance.regulator import Regulator
from compliance.sma.regulator import SMA

REGULATORS: dict[str, Regulator] = {regulator.name: regulator for regulator in (DGA, SMA)}

# The names as a type, for request and response schemas (an enum of the registered names).
RegulatorName = Literal[tuple(REGULATORS)]  # type: ignore[valid-type]


def labels() -> Regulators:
    """The registered regulators as central knows them (the app factory hands them to the alerts and the
    console, which do not import compliance)."""
    return Regulators(tuple(RegulatorLabel(r.name, r.title, r.spoken, r.secret_field) for r in REGULATORS.values()))


def regulator_named(name: str) -> Regulator:
    """The regulator a ledger row or a path names; 404 for one not registered."""
    found = REGULATORS.get(name)
    if found is None:
        raise NotFound(f"no hay un regulador {name!r}")
    return found

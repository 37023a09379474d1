"""The regulators compliance reports to, as central knows them: each one's name and how a
Spanish sentence names it.

``central`` does not import ``compliance`` (docs/ARQUITECTURA_MODULAR.md), yet its alert rules
filter by regulator and its alert texts name one. The app factory reads compliance's registry
(by module name) into :attr:`central.context.AppContext.regulators`, so a new regulator reaches
the alerts and the console without a line of central changing.
"""

from __future__ import annotations

from dataclasses import dataclass

UNNAMED = "el regulador"


@dataclass(frozen=True)
class RegulatorLabel:
    """``name``: the regulator's name in the API and the compliance tables; ``title``: as people
    read it (``DGA``); ``spoken``: as a sentence names it (``la DGA``)."""

    name: str
    title: str
    spoken: str
    secret_field: str = "password"  # the configuration's write-only password field (the console's form)


@dataclass(frozen=True)
class Regulators:
    """Every registered regulator, in the registry's order (none in a server without compliance)."""

    labels: tuple[RegulatorLabel, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(label.name for label in self.labels)

    def spoken(self, name: str | None) -> str:
        """How a sentence names the regulator ``name``; one no longer registered by its name."""
        for label in self.labels:
            if label.name == name:
                return label.spoken
        return UNNAMED if name is None else f"{UNNAMED} {name}"

"""Register maps of real meters, one YAML file per model, shipped with the package.

A site config names a profile instead of retyping a manual's register table; what differs per
installation (the unit set on the meter's display, a 4-20 mA range) is merged per variable
with :meth:`Profile.registers_with`. Some profiles cannot work without site data (a loop
converter does not know its sensor's range) and say so in ``requires``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocols.registers import RegisterSpec

RequiredField = Literal["loop", "unit", "scale", "offset"]


class UnknownProfileError(ValueError):
    """A profile name with no file behind it."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"perfil desconocido {name!r}; disponibles: {', '.join(available_profiles())}")


class ProfileOverrideError(ValueError):
    """Site overrides that do not fit the profile (unknown variable, missing required field)."""


class Profile(BaseModel):
    """One meter model's register map."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    model: str
    manufacturer: str
    notes: str = ""
    requires: list[RequiredField] = Field(default_factory=list)
    registers: list[RegisterSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_variables(self) -> Profile:
        variables = [spec.variable for spec in self.registers]
        if len(set(variables)) != len(variables):
            raise ValueError(f"el perfil {self.name!r} repite una variable: {variables}")
        return self

    @property
    def variables(self) -> list[str]:
        return [spec.variable for spec in self.registers]

    def registers_with(self, overrides: Mapping[str, Mapping[str, Any]]) -> list[RegisterSpec]:
        """The profile's registers with the site's per-variable changes applied and validated.

        ``overrides`` is keyed by the profile's variable name; a value may rename the variable
        (``{"level": {"variable": "pressure", "unit": "bar"}}``). Raises
        :class:`ProfileOverrideError` for an unknown variable or a missing required field and
        pydantic's ``ValidationError`` for an invalid value.
        """
        unknown = sorted(set(overrides) - set(self.variables))
        if unknown:
            raise ProfileOverrideError(
                f"el perfil {self.name!r} no tiene la variable {', '.join(unknown)}; tiene: {', '.join(self.variables)}"
            )
        return [self._merged(spec, overrides.get(spec.variable, {})) for spec in self.registers]

    def _merged(self, spec: RegisterSpec, override: Mapping[str, Any]) -> RegisterSpec:
        missing = [name for name in self.requires if name not in override]
        if missing:
            raise ProfileOverrideError(
                f"el perfil {self.name!r} necesita que la configuración indique {', '.join(missing)} para {spec.variable!r}"
            )
        if not override:
            return spec
        base = spec.model_dump(exclude_none=True)
        if "manual_address" in override:
            base.pop("address")
            base.pop("table")
        return RegisterSpec.model_validate({**base, **override})


def _profile_files() -> dict[str, Traversable]:
    folder = resources.files(__name__)
    return {entry.name.removesuffix(".yaml"): entry for entry in folder.iterdir() if entry.name.endswith(".yaml")}


def available_profiles() -> list[str]:
    """The names a site config may give as ``profile``."""
    return sorted(_profile_files())


@cache
def load_profile(name: str) -> Profile:
    """The profile called ``name`` (the file name without ``.yaml``)."""
    entry = _profile_files().get(name)
    if entry is None:
        raise UnknownProfileError(name)
    data = yaml.safe_load(entry.read_text(encoding="utf-8"))
    return Profile.model_validate({**data, "name": name})

"""What evaluation reads and writes: compact per-(rule, subject) state, inputs and signals.

:class:`RuleState` is what the db layer keeps in one JSON column per (rule, point) or
(rule, gateway); it stays small (a few timestamps and values; one entry per variable for
``constant_value``) so loading and saving it on every ingest is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from central.regulators import UNNAMED
from protocols.uplink import Quality

from .terms import Severity


class Run(BaseModel):
    """A variable repeating one value: since when, and the latest reading that repeated it."""

    model_config = ConfigDict(extra="forbid")

    value: float
    since: AwareDatetime
    last: AwareDatetime


class RuleState(BaseModel):
    """Evaluation memory for one (rule, subject). A fresh ``RuleState()`` means "nothing known"."""

    model_config = ConfigDict(extra="forbid")

    active: bool = False  # the condition is raised (an alert should be open)
    since: AwareDatetime | None = None  # start of the pending raise (inactive) or pending clear (active)
    last_ts: AwareDatetime | None = None  # newest reading evaluated; older ones are ignored
    ref: float | None = None  # last totalizer / dropped_total seen
    ref_since: AwareDatetime | None = None  # totalizer unchanged since / last decrease or drop
    flow_above_since: AwareDatetime | None = None  # flow above the cut-off since (frozen totalizer)
    runs: dict[str, Run] = Field(default_factory=dict)  # constant_value, per variable


@dataclass(slots=True)
class WorkRun:
    """A :class:`Run` while a batch is evaluated (a plain object: cheap to update per reading)."""

    value: float
    since: datetime
    last: datetime


@dataclass(slots=True)
class WorkState:
    """A :class:`RuleState` while a batch is evaluated.

    Evaluation updates a few fields per reading; doing that on the pydantic model (attribute
    sets, a deep copy per batch, a ``Run`` model per new value) was most of its cost, so the
    steps work on this plain copy and :meth:`freeze` validates the result once per batch.
    ``stuck`` is derived, never stored: the ``constant_value`` variables past the rule's span.
    """

    active: bool = False
    since: datetime | None = None
    last_ts: datetime | None = None
    ref: float | None = None
    ref_since: datetime | None = None
    flow_above_since: datetime | None = None
    runs: dict[str, WorkRun] = field(default_factory=dict)
    stuck: set[str] | None = None

    @classmethod
    def of(cls, state: RuleState) -> WorkState:
        runs = {name: WorkRun(run.value, run.since, run.last) for name, run in state.runs.items()}
        return cls(**{name: getattr(state, name) for name in _CARRIED}, runs=runs)

    def freeze(self) -> RuleState:
        runs = {name: Run(value=run.value, since=run.since, last=run.last) for name, run in self.runs.items()}
        return RuleState(**{name: getattr(self, name) for name in _CARRIED}, runs=runs)


_CARRIED = tuple(name for name in RuleState.model_fields if name != "runs")
"""The fields a :class:`WorkState` copies to and from a :class:`RuleState` as they are (its runs are
converted one by one): every stored field, so that a new one is carried without a change here."""


class SignalAction(StrEnum):
    RAISE = "raise"
    CLEAR = "clear"
    HOLD = "hold"  # the raised condition still holds: the live alert's last value and time follow it


class Signal(BaseModel):
    """The outcome of evaluation: the condition starts (raise), still holds (hold) or has ended (clear).

    ``message`` is plain Spanish for operators, without the point or gateway name (the
    notification adds it). ``severity`` is the rule's, or the escalation step reached.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: SignalAction
    ts: AwareDatetime
    severity: Severity
    value: float | None = None
    message: str


class Sample(Protocol):
    """One processed reading of one point; :class:`protocols.uplink.Reading` fits."""

    @property
    def ts(self) -> datetime: ...

    @property
    def variable(self) -> str: ...

    @property
    def value(self) -> float | None: ...

    @property
    def quality(self) -> Quality: ...


class Heartbeat(BaseModel):
    """What one upload (or empty heartbeat) says about its gateway, stamped with the server time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ts: AwareDatetime  # server time the upload arrived
    clock_offset_s: float | None = None  # gateway clock minus server clock (sent_at - arrival)
    dropped_total: int | None = Field(default=None, ge=0)  # AgentStatus.dropped_total


class SubmissionSnapshot(BaseModel):
    """The regulator ledger of one point, summarised for the submission rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    regulator: str  # its name (central/regulators.py)
    spoken: str = UNNAMED  # as the alert's text names it ("la DGA")
    oldest_pending_due: AwareDatetime | None = None  # oldest slot due and not yet accepted
    failing_since: AwareDatetime | None = None  # first failed attempt of the current failure streak
    last_error: str | None = None
    unrecoverable: int = Field(default=0, ge=0)  # submissions refused for good, not yet resolved

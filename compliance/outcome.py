"""What a regulator's answer means for the ledger, whichever regulator gave it (pure).

Each regulator classifies its own replies into an :class:`Outcome`; the ledger
(:mod:`compliance.ledger`) moves a submission on from that alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutcomeKind(StrEnum):
    ACCEPTED = "accepted"
    RETRY = "retry"
    UNRECOVERABLE = "unrecoverable"
    NEEDS_REVIEW = "needs_review"


@dataclass(frozen=True)
class Outcome:
    """The classification of a reply. ``answered`` distinguishes a refusal from silence."""

    kind: OutcomeKind
    comprobante: str | None = None
    answered: bool = True
    detail: str = ""

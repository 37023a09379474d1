"""The small set of errors outbound notification I/O is mapped to, and why a queued one is given up."""

from __future__ import annotations


class DeliveryFailed(Exception):
    """A notification did not reach its channel; ``reason`` is safe to log and show (no secrets).

    ``permanent`` means retrying cannot help (a refused destination, a receiver that
    rejects the payload, an invalid channel); otherwise the outbox retries later.
    """

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class DestinationRefused(DeliveryFailed):
    """A webhook or Apprise host resolves to an address the destination policy forbids."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, permanent=True)


class ChannelInvalid(ValueError):
    """A channel that can never deliver (bad Apprise URL, forbidden destination): refuse it up front."""


class PreferenceGone(ValueError):
    """The profile no longer asks for this notification (preference off, address removed, no SMS provider)."""


class SubjectHidden(ValueError):
    """The user may no longer see the point (or any point of the gateway) the alert is about."""

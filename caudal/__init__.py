"""Caudal: open-source telemetry for water extraction in Chile."""

__version__ = "0.1.0"

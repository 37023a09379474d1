"""Telemetry service: ingest, processing, queries, alerts."""

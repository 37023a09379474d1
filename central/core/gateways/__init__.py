"""Gateways, the points they report and their tokens (``models``, ``store``, ``service``, ``api``)."""

"""Catchment points and who may see them (``models``, ``store``, ``service``, ``api``)."""

"""The audit trail: who changed which configuration, when (``models``, ``store``, ``api``)."""

"""Gateway configurations managed from the central server (issue 18): numbered versions,
the published one, and what each agent reports it runs (``models``, ``store``, ``service``, ``api``)."""

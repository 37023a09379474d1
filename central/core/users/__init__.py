"""People who use the central server: accounts, profiles and passwords
(``models``, ``store``, ``service``, ``api``)."""

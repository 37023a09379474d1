"""Who is calling: sessions, personal tokens, gateway tokens and the login lockout
(``models``, ``store``, ``service``, ``lockout``, ``api``)."""

"""The SMA's online reporting (Res. Exenta SMA N° 254/2020): settings, payload, replies, client."""

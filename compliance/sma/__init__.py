"""The SMA's online reporting (Res. Exenta SMA N° 254/2020): settings, payload, replies, client."""

NAME = "sma"  # the ledger's and configurations' regulator column; the configuration route's last segment

"""The DGA's MEE web service: RUTs, work settings, slots, values, checks, payloads, replies, client.

Everything here is pure except :mod:`compliance.dga.client`, the one module that talks HTTP.
"""

NAME = "dga"  # the ledger's and configurations' regulator column; the configuration route's last segment

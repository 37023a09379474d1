"""Regulator reporting: DGA and SMA formats, clients, slots, ledger, stand-ins, reports."""

"""Local stand-ins for the regulators' web services (tests, demo, ``caudal sim dga|sma``).

They validate the way the real services do as far as the contracts in ``docs/`` describe
them, and inject faults on request. They bind to loopback by default and production
settings never point at them.
"""

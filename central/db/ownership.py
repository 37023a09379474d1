"""Which domain owns which table: the one place that says who may write SQL against it.

A domain's modules name only its own tables in SQL; what another domain needs it reads through
the owner's functions (``central/core/lookups.py``, ``central/telemetry/lookups.py``), so a
column renamed or a table split touches one domain. ``tests/central/test_table_ownership.py`` reads the
SQL text of every module and fails on a table named outside its owner. The console
(``central/ui``) owns no table and reads everything through functions.
"""

from __future__ import annotations

# domain -> the package folders whose modules belong to it (the longest prefix wins)
DOMAINS: dict[str, tuple[str, ...]] = {
    "core": ("central/core",),
    "telemetry": ("central/telemetry",),
    "alerts": ("central/telemetry/alerts",),
    "notify": ("central/notify",),
    "compliance": ("compliance",),
    "ui": ("central/ui",),
    "wiring": ("central",),  # the app factory, settings, CLI and database adapter: no table of anyone's
}

OWNERS: dict[str, str] = {
    # core: who may call, what exists (migrations 0001-0003)
    "users": "core",
    "api_tokens": "core",
    "login_attempts": "core",
    "points": "core",
    "user_points": "core",
    "gateways": "core",
    "gateway_points": "core",
    "gateway_configs": "core",
    "audit_log": "core",
    # telemetry: what the meters said (0100-0103)
    "readings": "telemetry",
    "readings_before_partitions": "telemetry",
    "latest_readings": "telemetry",
    "meter_changes": "telemetry",
    "readings_hourly": "telemetry",
    "rollup_pending": "telemetry",
    "hours_changed": "telemetry",
    "readings_compact": "telemetry",
    "readings_compaction": "telemetry",  # 0160
    # alerts (0104, 0200)
    "alert_pending": "alerts",
    "alert_rule_sets": "alerts",
    "alert_rules": "alerts",
    "alert_rule_states": "alerts",
    "alerts": "alerts",
    # notify (0210, 0220)
    "notify_channels": "notify",
    "notifications": "notify",
    "notification_attempts": "notify",
    # compliance (0300, 0301)
    "compliance_configs": "compliance",
    "compliance_submissions": "compliance",
    "compliance_attempts": "compliance",
    "compliance_events": "compliance",
    "compliance_facts": "compliance",
}

# Tables an owner publishes for others to read (never write), with who reads them. central does
# not import compliance, so compliance publishes what alerts need in ``compliance_facts``, written
# in the same transaction as its ledger (docs/ARQUITECTURA_MODULAR.md).
PUBLISHED: dict[str, frozenset[str]] = {
    "compliance_facts": frozenset({"alerts"}),
}


# Crossings kept on purpose, by module. Ingest reads the gateway's state (its points with each
# one's last totalizer count, its configuration) in one query and updates the gateway's contact
# in the upload's one transaction; bench_fleet measures that path, and going through core's
# functions would add statements and round trips to every batch.
CROSSINGS: dict[str, frozenset[str]] = {
    "central/telemetry/ingest.py": frozenset({"gateways"}),
    "central/telemetry/ingest_state.py": frozenset({"points", "gateway_points", "gateways"}),
}


def domain_of(path: str) -> str | None:
    """The domain a module (path relative to the repository, ``/``-separated) belongs to."""
    matches = [
        (len(prefix), name)
        for name, prefixes in DOMAINS.items()
        for prefix in prefixes
        if path == f"{prefix}.py" or path.startswith(f"{prefix}/")
    ]
    return max(matches)[1] if matches else None


def may_name(domain: str, table: str, module: str = "") -> bool:
    """Whether a module (path relative to the repository) of ``domain`` may name ``table`` in its SQL."""
    return (
        OWNERS.get(table) == domain
        or domain in PUBLISHED.get(table, frozenset())
        or table in CROSSINGS.get(module, frozenset())
    )

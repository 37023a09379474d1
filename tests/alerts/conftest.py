"""The alert tests' fixtures: the whole app with its seeded world and a real SMTP server
(defined in :mod:`tests.alerts.db_support`, shared with the notify and security tests)."""

from tests.alerts.db_support import migrated_template, pg_url, smtp, smtp_port, world, world_client

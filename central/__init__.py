"""The central server: app factory, settings, db, core, telemetry, notify, cli."""

"""Core service: users, auth, points, gateways."""

"""What gateways call on the central server: ingest and the points a gateway may report."""

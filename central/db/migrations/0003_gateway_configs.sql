-- Gateways managed from the central server (issue 18): each gateway's configuration (its buses
-- and devices, never its token or TLS material) stored as numbered versions, validated before
-- they are stored; one of them published. What the agent reports about it goes on the gateway.
CREATE TABLE gateway_configs (
    id {{ID}},
    gateway_id BIGINT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    document TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (gateway_id, version)
);

ALTER TABLE gateways ADD COLUMN config_published INTEGER;
ALTER TABLE gateways ADD COLUMN config_published_at TIMESTAMPTZ;
ALTER TABLE gateways ADD COLUMN config_source TEXT;
ALTER TABLE gateways ADD COLUMN config_running INTEGER;
ALTER TABLE gateways ADD COLUMN config_result TEXT;
ALTER TABLE gateways ADD COLUMN config_reported_at TIMESTAMPTZ;

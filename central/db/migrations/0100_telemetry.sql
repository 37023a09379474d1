-- Telemetry: readings, the latest reading per point and variable, and meter swaps.

-- One row per (point, time, variable). The key order puts one point's readings of one
-- period next to each other, which is what range queries and aggregates read; a
-- single-variable query filters a few neighbours. value NULL is a recorded gap (its
-- quality says why). raw_value is the value as the gateway sent it, kept only when
-- processing changed it (low-flow cut-off). flags: comma-separated processing notes
-- (cutoff, reset, derived). On SQLite the rows are stored in key order (WITHOUT ROWID).
CREATE TABLE readings (
    point_id BIGINT NOT NULL REFERENCES points(id),
    ts TIMESTAMPTZ NOT NULL,
    variable TEXT NOT NULL,
    value DOUBLE PRECISION,
    raw_value DOUBLE PRECISION,
    unit TEXT NOT NULL,
    quality TEXT NOT NULL,
    flags TEXT,
    gateway_id BIGINT,
    seq BIGINT,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (point_id, ts, variable)
) {{CLUSTERED}};

-- The newest reading of each point and variable, kept by ingest for GET /api/v1/latest.
CREATE TABLE latest_readings (
    point_id BIGINT NOT NULL REFERENCES points(id) ON DELETE CASCADE,
    variable TEXT NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    value DOUBLE PRECISION,
    unit TEXT NOT NULL,
    quality TEXT NOT NULL,
    flags TEXT,
    PRIMARY KEY (point_id, variable)
);

-- A flowmeter swap (or a re-based totalizer): readings from ts on belong to the new
-- meter, whose count starts at new_base_m3; old_final_m3 is the old meter's last count.
CREATE TABLE meter_changes (
    id {{ID}},
    point_id BIGINT NOT NULL REFERENCES points(id),
    ts TIMESTAMPTZ NOT NULL,
    old_final_m3 DOUBLE PRECISION,
    new_base_m3 DOUBLE PRECISION NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    UNIQUE (point_id, ts)
);

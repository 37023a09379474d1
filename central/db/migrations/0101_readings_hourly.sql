-- Hourly summaries of readings, refreshed for the hours batches touched (see 0102: ingest
-- marks them, the rollup worker and aggregate reads refresh them), so that
-- aggregates over months read one row per hour instead of every reading (a year of
-- one-minute data is 525,600 readings per variable, 8,760 hours).
CREATE TABLE readings_hourly (
    point_id BIGINT NOT NULL REFERENCES points(id) ON DELETE CASCADE,
    hour TIMESTAMPTZ NOT NULL,
    flow_min DOUBLE PRECISION,
    flow_max DOUBLE PRECISION,
    flow_sum DOUBLE PRECISION,
    flow_count BIGINT NOT NULL,
    level_min DOUBLE PRECISION,
    level_max DOUBLE PRECISION,
    water_table_min DOUBLE PRECISION,
    water_table_max DOUBLE PRECISION,
    readings BIGINT NOT NULL,
    -- bit m is set when minute m of the hour has a reading with a value
    minutes_mask BIGINT NOT NULL,
    -- the hour's totalizer: readings with a value, first and last count, increases between them
    total_count BIGINT NOT NULL,
    total_first DOUBLE PRECISION,
    total_last DOUBLE PRECISION,
    volume_inner DOUBLE PRECISION,
    PRIMARY KEY (point_id, hour)
);

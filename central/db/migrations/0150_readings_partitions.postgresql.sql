-- Monthly partitions of readings on PostgreSQL (issue 16): each month is a table of its own,
-- so its table and index stay a size VACUUM, backups and restores handle, and archiving or
-- retention can detach a whole month instead of deleting rows. Partitioned by ts, UTC months.
-- The rows stored before this migration stay where they are, in readings_before_partitions,
-- which becomes the partition of every time before the first day of next month (attaching
-- reads it once to check that); each later month gets its own partition, readings_YYYY_MM,
-- created ahead by the rollup worker (central/telemetry/partitions.py). Columns, key and
-- foreign key as in 0100.
ALTER TABLE readings RENAME TO readings_before_partitions;
ALTER TABLE readings_before_partitions RENAME CONSTRAINT readings_pkey TO readings_before_partitions_pkey;
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
) PARTITION BY RANGE (ts);
DO $$ BEGIN EXECUTE 'ALTER TABLE readings ATTACH PARTITION readings_before_partitions FOR VALUES FROM (MINVALUE) TO ('
    || quote_literal(CAST(date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month' AS text) || '+00') || ')'; END $$;

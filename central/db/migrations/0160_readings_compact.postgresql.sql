-- Compacted readings on PostgreSQL (issue 16): the readings of hours older than the
-- compaction age (CAUDAL_COMPACT_AFTER_DAYS) move from readings into one row per point, hour
-- and variable holding the hour's readings as arrays, ~20 bytes a reading instead of ~150
-- (central/telemetry/compaction.py moves them, central/telemetry/stored.py reads both as one).
-- offsets_us: microseconds from the hour's start, ascending; the other arrays follow it.
-- unit and quality hold the hour's one unit and quality; only when an hour mixes several they
-- are NULL and units/qualities hold one per reading. raw_values and flags are NULL when no
-- reading of the hour has one. Not kept: gateway_id, seq and received_at (who sent a reading
-- and when it arrived matter while uploads are checked and resent, not months later).
-- Monthly partitions by hour (readings_compact_YYYY_MM, created by the compaction as it
-- writes a month), so retention detaches a month of compacted data as it does raw readings.
CREATE TABLE readings_compact (
    point_id BIGINT NOT NULL REFERENCES points(id),
    hour TIMESTAMPTZ NOT NULL,
    variable TEXT NOT NULL,
    unit TEXT,
    quality TEXT,
    offsets_us BIGINT[] NOT NULL,
    vals DOUBLE PRECISION[] NOT NULL,
    raw_values DOUBLE PRECISION[],
    units TEXT[],
    qualities TEXT[],
    flags TEXT[],
    PRIMARY KEY (point_id, hour, variable)
) PARTITION BY RANGE (hour);

-- Where compaction stands (one row). done_before: every hour before it was compacted, but for
-- readings that arrived after their hour was (they stay in readings). reach: no compacted hour
-- starts at or after it, so a reading at or after it is in readings only and readers skip the
-- check for a compacted copy of it. swept_before: the monthly partitions of readings ending by
-- it were vacuumed and reindexed once compaction had emptied them (their files shrink then).
-- A compaction batch locks this row: batches take turns.
CREATE TABLE readings_compaction (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    done_before TIMESTAMPTZ,
    reach TIMESTAMPTZ,
    swept_before TIMESTAMPTZ
);

INSERT INTO readings_compaction (id) VALUES (1);

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

-- For SQL readers outside the server (Grafana's dashboards): a point's readings in [lo, hi)
-- from both tables, as central/telemetry/stored.py reads them (a reading in both is read once,
-- from the compacted row), and a point's last totalizer count before a time and first one from
-- a time, from both. Readers need SELECT on readings, readings_compact and readings_compaction.
CREATE FUNCTION readings_with_compacted(points BIGINT[], lo TIMESTAMPTZ, hi TIMESTAMPTZ)
RETURNS TABLE (point_id BIGINT, ts TIMESTAMPTZ, variable TEXT, value DOUBLE PRECISION, quality TEXT)
LANGUAGE sql STABLE AS $$
SELECT r.point_id, r.ts, r.variable, r.value, r.quality FROM readings r
WHERE r.point_id = ANY(points) AND r.ts >= lo AND r.ts < hi
  AND NOT (r.ts < COALESCE((SELECT reach FROM readings_compaction WHERE id = 1), '-infinity')
           AND EXISTS (SELECT 1 FROM readings_compact k WHERE k.point_id = r.point_id
                       AND k.hour = date_trunc('hour', r.ts) AND k.variable = r.variable
                       AND CAST(extract(epoch FROM r.ts - date_trunc('hour', r.ts)) * 1000000 AS BIGINT)
                           = ANY(k.offsets_us)))
UNION ALL
SELECT c.point_id, c.hour + x.offset_us * interval '1 microsecond', c.variable, x.value,
       COALESCE(c.quality, x.quality)
FROM readings_compact c CROSS JOIN LATERAL unnest(c.offsets_us, c.vals, c.qualities) AS x (offset_us, value, quality)
WHERE c.point_id = ANY(points) AND c.hour > lo - interval '1 hour' AND c.hour < hi
  AND c.hour + x.offset_us * interval '1 microsecond' >= lo AND c.hour + x.offset_us * interval '1 microsecond' < hi
$$;

CREATE FUNCTION totalizer_before(point BIGINT, t TIMESTAMPTZ)
RETURNS TABLE (ts TIMESTAMPTZ, value DOUBLE PRECISION)
LANGUAGE sql STABLE AS $$
SELECT both_tables.ts, both_tables.value FROM (
    (SELECT r.ts, r.value FROM readings r WHERE r.point_id = point AND r.variable = 'totalizer'
     AND r.value IS NOT NULL AND r.ts < t ORDER BY r.ts DESC LIMIT 1)
    UNION ALL
    (SELECT c.hour + x.offset_us * interval '1 microsecond', x.value
     FROM readings_compact c CROSS JOIN LATERAL unnest(c.offsets_us, c.vals) AS x (offset_us, value)
     WHERE c.point_id = point AND c.variable = 'totalizer' AND c.hour < t AND x.value IS NOT NULL
       AND c.hour + x.offset_us * interval '1 microsecond' < t ORDER BY c.hour DESC, 1 DESC LIMIT 1)
) both_tables ORDER BY both_tables.ts DESC LIMIT 1
$$;

CREATE FUNCTION totalizer_from(point BIGINT, t TIMESTAMPTZ)
RETURNS TABLE (ts TIMESTAMPTZ, value DOUBLE PRECISION)
LANGUAGE sql STABLE AS $$
SELECT both_tables.ts, both_tables.value FROM (
    (SELECT r.ts, r.value FROM readings r WHERE r.point_id = point AND r.variable = 'totalizer'
     AND r.value IS NOT NULL AND r.ts >= t ORDER BY r.ts LIMIT 1)
    UNION ALL
    (SELECT c.hour + x.offset_us * interval '1 microsecond', x.value
     FROM readings_compact c CROSS JOIN LATERAL unnest(c.offsets_us, c.vals) AS x (offset_us, value)
     WHERE c.point_id = point AND c.variable = 'totalizer' AND c.hour > t - interval '1 hour' AND x.value IS NOT NULL
       AND c.hour + x.offset_us * interval '1 microsecond' >= t ORDER BY c.hour, 1 LIMIT 1)
) both_tables ORDER BY both_tables.ts LIMIT 1
$$;

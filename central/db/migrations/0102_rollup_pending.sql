-- Hours of readings_hourly that are stale: ingest marks the hours its batch touched (one
-- row per run of consecutive hours of a point, [lo, hi), hour-aligned) instead of
-- recomputing them inside its transaction; the rollup worker refreshes the marked hours in
-- the background, and an aggregate that reads the summaries first refreshes the marks of
-- its point that could change its answer. Marks are never updated in place: each has its
-- own id, and a refresher deletes exactly the ids it read, so a mark written meanwhile by
-- a newer ingest stays for the next pass.
CREATE TABLE rollup_pending (
    id {{ID}},
    point_id BIGINT NOT NULL REFERENCES points(id) ON DELETE CASCADE,
    lo TIMESTAMPTZ NOT NULL,
    hi TIMESTAMPTZ NOT NULL
);

CREATE INDEX rollup_pending_point_lo ON rollup_pending (point_id, lo);

-- Runs of hours [lo, hi) of a point whose stored readings changed (new or late readings),
-- written by the hourly-summary refresher as it settles the rollup_pending marks, so the
-- ingest request pays nothing for it. Telemetry exposes them to other domains through
-- central.telemetry.rollup.take_changed: compliance takes them to evaluate again the slots
-- that had no data when readings arrive late (docs/dga.md, "Accumulated data"). Each row
-- has its own id and a consumer deletes exactly the ids it took, in its own transaction.
CREATE TABLE hours_changed (
    id {{ID}},
    point_id BIGINT NOT NULL REFERENCES points(id) ON DELETE CASCADE,
    lo TIMESTAMPTZ NOT NULL,
    hi TIMESTAMPTZ NOT NULL
);

-- Points with readings the alerts role has not evaluated yet (CAUDAL_ALERT_EVALUATION=role,
-- see central/telemetry/alerts/pending.py): after each batch the telemetry role marks each
-- point it wrote with the batch's earliest reading of that point; the alerts role takes
-- the marks (deleting exactly the ids it read, so a mark written meanwhile stays for the
-- next pass) and evaluates the point's readings from there on. Marks outlive a restart of
-- either process.
CREATE TABLE alert_pending (
    id {{ID}},
    point_id BIGINT NOT NULL REFERENCES points(id) ON DELETE CASCADE,
    from_ts TIMESTAMPTZ NOT NULL
);

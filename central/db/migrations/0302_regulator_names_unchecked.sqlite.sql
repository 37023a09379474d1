-- The regulator column names any registered regulator: compliance's registry validates the
-- name at the application edge (compliance/registry.py), so a new regulator is a new package
-- and a registry entry, without a migration to widen a CHECK (PostgreSQL drops the
-- constraints, 0302_regulator_names_unchecked.postgresql.sql).
--
-- SQLite cannot drop a CHECK: each table is rebuilt. compliance_configs has no table pointing
-- at it (new table, copy, drop, rename). compliance_attempts points at compliance_submissions,
-- and PRAGMA foreign_keys cannot be turned off inside the migration's transaction, so its
-- check is deferred to the commit: the rows wait in a copy while the table is dropped and made
-- again under its own name, and copying them back satisfies every attempt's reference again
-- before the commit checks it.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE compliance_configs_0302 (
    point_id BIGINT NOT NULL REFERENCES points(id) ON DELETE CASCADE,
    regulator TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('off', 'shadow', 'live')),
    config TEXT NOT NULL,
    secret TEXT NOT NULL,
    blocked BOOLEAN NOT NULL DEFAULT FALSE,
    blocked_reason TEXT,
    lease_by TEXT,
    lease_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (point_id, regulator)
);
INSERT INTO compliance_configs_0302 SELECT * FROM compliance_configs;
DROP TABLE compliance_configs;
ALTER TABLE compliance_configs_0302 RENAME TO compliance_configs;

CREATE TEMP TABLE compliance_submissions_0302 (
    id INTEGER PRIMARY KEY,
    point_id BIGINT NOT NULL,
    regulator TEXT NOT NULL,
    slot TIMESTAMPTZ NOT NULL,
    mode TEXT NOT NULL,
    state TEXT NOT NULL,
    values_json TEXT,
    measurement TEXT,
    reasons TEXT NOT NULL DEFAULT '[]',
    next_attempt_at TIMESTAMPTZ,
    comprobante TEXT,
    note TEXT NOT NULL DEFAULT '',
    attempt_count INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT,
    claimed_until TIMESTAMPTZ,
    last_attempt_at TIMESTAMPTZ,
    accepted_at TIMESTAMPTZ,
    check_result TEXT,
    checked_at TIMESTAMPTZ,
    corrected_values TEXT,
    reviewed_by TEXT,
    review_reason TEXT,
    reviewed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (point_id, regulator, slot)
);
INSERT INTO compliance_submissions_0302 SELECT * FROM compliance_submissions;
DROP TABLE compliance_submissions;
CREATE TABLE compliance_submissions (
    id {{ID}},
    point_id BIGINT NOT NULL REFERENCES points(id),
    regulator TEXT NOT NULL,
    slot TIMESTAMPTZ NOT NULL,
    mode TEXT NOT NULL,
    state TEXT NOT NULL,
    values_json TEXT,
    measurement TEXT,
    reasons TEXT NOT NULL DEFAULT '[]',
    next_attempt_at TIMESTAMPTZ,
    comprobante TEXT,
    note TEXT NOT NULL DEFAULT '',
    attempt_count INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT,
    claimed_until TIMESTAMPTZ,
    last_attempt_at TIMESTAMPTZ,
    accepted_at TIMESTAMPTZ,
    check_result TEXT,
    checked_at TIMESTAMPTZ,
    corrected_values TEXT,
    reviewed_by TEXT,
    review_reason TEXT,
    reviewed_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (point_id, regulator, slot)
);
INSERT INTO compliance_submissions SELECT * FROM compliance_submissions_0302;
DROP TABLE compliance_submissions_0302;
CREATE INDEX compliance_submissions_due ON compliance_submissions (regulator, state, next_attempt_at);
CREATE INDEX compliance_submissions_slot ON compliance_submissions (slot);

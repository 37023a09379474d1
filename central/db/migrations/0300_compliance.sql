-- Compliance: regulator configurations, the submission ledger, its attempts, the compliance log.

-- One DGA or SMA configuration per point. config is the validated model as JSON WITHOUT the
-- password; secret is the password encrypted with CAUDAL_SECRET_KEY. blocked stops every send
-- of the work (the DGA said the informant is not registered) until a person fixes credentials.
-- lease_by/lease_until: the replica processing the work right now (one per work, so the
-- backlog spacing holds across replicas).
CREATE TABLE compliance_configs (
    point_id BIGINT NOT NULL REFERENCES points(id) ON DELETE CASCADE,
    regulator TEXT NOT NULL CHECK (regulator IN ('dga', 'sma')),
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

-- The ledger: one row per (point, regulator, slot). values_json holds the computed values
-- (decimal text), measurement the formatted strings that go (or went) to the regulator.
-- claimed_by/claimed_until: the worker sending it now; a claim that ran out while the row is
-- 'sending' means the sender died between sending and recording.
CREATE TABLE compliance_submissions (
    id {{ID}},
    point_id BIGINT NOT NULL REFERENCES points(id),
    regulator TEXT NOT NULL CHECK (regulator IN ('dga', 'sma')),
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
CREATE INDEX compliance_submissions_due ON compliance_submissions (regulator, state, next_attempt_at);
CREATE INDEX compliance_submissions_slot ON compliance_submissions (slot);

-- Every exchange with a regulator: the row is written and committed BEFORE the request
-- leaves (request with the password redacted) and completed after the reply.
CREATE TABLE compliance_attempts (
    id {{ID}},
    submission_id BIGINT NOT NULL REFERENCES compliance_submissions(id),
    kind TEXT NOT NULL CHECK (kind IN ('send', 'check')),
    worker TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    request TEXT NOT NULL,
    finished_at TIMESTAMPTZ,
    http_status INTEGER,
    regulator_status TEXT,
    message TEXT,
    comprobante TEXT,
    outcome TEXT,
    duration_s DOUBLE PRECISION,
    error TEXT
);
CREATE INDEX compliance_attempts_submission ON compliance_attempts (submission_id, id);

-- The compliance log: configuration changes, submissions, reviews, errors. Rows with
-- alert TRUE need a person (the alerts module picks them up).
CREATE TABLE compliance_events (
    id {{ID}},
    at TIMESTAMPTZ NOT NULL,
    point_id BIGINT REFERENCES points(id) ON DELETE CASCADE,
    regulator TEXT,
    submission_id BIGINT,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    alert BOOLEAN NOT NULL DEFAULT FALSE,
    actor TEXT NOT NULL,
    message TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX compliance_events_point ON compliance_events (point_id, id);
CREATE INDEX compliance_events_alert ON compliance_events (alert, id);

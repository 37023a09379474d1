-- Alerts: rules per point and per gateway, their evaluation state, and the alerts raised.

-- Which points and gateways already got their default rules (once: a person may delete them all).
CREATE TABLE alert_rule_sets (
    scope TEXT NOT NULL CHECK (scope IN ('point', 'gateway')),
    subject_id BIGINT NOT NULL,
    seeded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, subject_id)
);

-- One rule of one point or one gateway. config is the validated rule (the union in
-- central/telemetry/alerts/rules.py) as JSON; kind is repeated for filtering.
CREATE TABLE alert_rules (
    id {{ID}},
    scope TEXT NOT NULL CHECK (scope IN ('point', 'gateway')),
    point_id BIGINT REFERENCES points(id) ON DELETE CASCADE,
    gateway_id BIGINT REFERENCES gateways(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL,
    CHECK ((scope = 'point' AND point_id IS NOT NULL AND gateway_id IS NULL)
        OR (scope = 'gateway' AND gateway_id IS NOT NULL AND point_id IS NULL))
);
CREATE INDEX alert_rules_point ON alert_rules (point_id);
CREATE INDEX alert_rules_gateway ON alert_rules (gateway_id);

-- Evaluation memory of one rule (RuleState as JSON); locked while a batch is evaluated.
CREATE TABLE alert_rule_states (
    rule_id BIGINT PRIMARY KEY REFERENCES alert_rules(id) ON DELETE CASCADE,
    state TEXT NOT NULL DEFAULT '{}',
    updated_at TIMESTAMPTZ NOT NULL
);

-- Every alert ever raised (cleared ones are the history). id is the lifecycle's UUID.
-- rule_id becomes NULL when its rule is deleted; the alert itself stays.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    rule_id BIGINT REFERENCES alert_rules(id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    point_id BIGINT REFERENCES points(id) ON DELETE CASCADE,
    gateway_id BIGINT REFERENCES gateways(id) ON DELETE CASCADE,
    severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'cleared')),
    message TEXT NOT NULL,
    opened_at TIMESTAMPTZ NOT NULL,
    first_value DOUBLE PRECISION,
    last_value DOUBLE PRECISION,
    last_seen_at TIMESTAMPTZ NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at TIMESTAMPTZ,
    ack_comment TEXT,
    cleared_at TIMESTAMPTZ,
    clear_message TEXT
);
-- At most one live (open or acknowledged) alert per rule and subject: a replica that races
-- another to open the same alert fails here, and its whole transaction (with the
-- notifications it queued) rolls back.
CREATE UNIQUE INDEX alerts_one_live ON alerts (rule_id, subject) WHERE status <> 'cleared';
CREATE INDEX alerts_opened ON alerts (opened_at);
CREATE INDEX alerts_point ON alerts (point_id, opened_at);
CREATE INDEX alerts_gateway ON alerts (gateway_id, opened_at);

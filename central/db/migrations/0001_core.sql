-- Core: users and their tokens, catchment points, gateways, and the audit trail.

CREATE TABLE users (
    id {{ID}},
    username TEXT NOT NULL UNIQUE,
    email TEXT,
    phone TEXT,
    password_hash TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    notify_email BOOLEAN NOT NULL DEFAULT TRUE,
    notify_sms BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL
);

-- Login sessions and personal API tokens; only the SHA-256 of a token is stored.
CREATE TABLE api_tokens (
    id {{ID}},
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('session', 'personal')),
    name TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Failed logins per username (known or not), to slow down password guessing.
CREATE TABLE login_failures (
    username TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failed_at TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ
);
CREATE INDEX login_failures_last ON login_failures (last_failed_at);

CREATE TABLE points (
    id {{ID}},
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('subterranea', 'superficial', 'superficial_flujometro', 'other')),
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    water_right_lps DOUBLE PRECISION,
    sensor_depth_m DOUBLE PRECISION,
    flow_cutoff_lps DOUBLE PRECISION NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'maintenance')),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Which non-admin users see which points (admins see all).
CREATE TABLE user_points (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    point_id BIGINT NOT NULL REFERENCES points(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, point_id)
);

CREATE TABLE gateways (
    id {{ID}},
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    token_created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ,
    clock_offset_s DOUBLE PRECISION,
    agent_version TEXT,
    buffer_depth BIGINT,
    oldest_unsent_s DOUBLE PRECISION,
    dropped_total BIGINT,
    clock_synced BOOLEAN
);

CREATE TABLE gateway_points (
    gateway_id BIGINT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    point_id BIGINT NOT NULL REFERENCES points(id) ON DELETE CASCADE,
    PRIMARY KEY (gateway_id, point_id)
);
CREATE UNIQUE INDEX gateway_points_point ON gateway_points (point_id);

-- Who changed what: configuration changes, token rotations, acknowledgements.
CREATE TABLE audit_log (
    id {{ID}},
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_subject ON audit_log (subject, id);

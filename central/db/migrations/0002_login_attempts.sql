-- Login attempts per username and per client address, counted before the password is
-- checked (central.core.auth.lockout); replaces the per-username failure counts.
DROP TABLE login_failures;

CREATE TABLE login_attempts (
    scope TEXT NOT NULL CHECK (scope IN ('user', 'address')),
    subject TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_attempt_at TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ,
    PRIMARY KEY (scope, subject)
);
CREATE INDEX login_attempts_last ON login_attempts (last_attempt_at);

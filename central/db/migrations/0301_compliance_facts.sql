-- Compliance facts: what alerts need to know, published by compliance in the transaction
-- that changed the ledger, so the alert code reads this table alone (it never derives ledger
-- states). One row per fact. kind is either the compliance log's event kind of an event a
-- person must act on (submission.held, submission.check_mismatch, work.blocked, ...) or a
-- ledger fact about one submission: ledger.unsettled (not accepted, discarded, shadowed nor
-- a gap: lateness counts from its slot), ledger.refused (refused for good), ledger.failing
-- (refused or unanswered, retried: raised_at is its first send, message the newest error,
-- updated_at that attempt's start). cleared_at is set by compliance when the condition ends;
-- a fact about no submission holds until expires_at. deadline: a held slot's (its alert
-- rises to critical as it nears).
CREATE TABLE compliance_facts (
    id {{ID}},
    point_id BIGINT NOT NULL REFERENCES points(id) ON DELETE CASCADE,
    regulator TEXT,
    kind TEXT NOT NULL,
    submission_id BIGINT,
    slot TIMESTAMPTZ,
    message TEXT,
    deadline TIMESTAMPTZ,
    raised_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ,
    expires_at TIMESTAMPTZ,
    cleared_at TIMESTAMPTZ
);
CREATE INDEX compliance_facts_open ON compliance_facts (cleared_at, point_id);
CREATE INDEX compliance_facts_submission ON compliance_facts (submission_id);

-- The alert-flagged events logged before this table existed, as open facts; the compliance
-- worker's next pass clears those whose condition already ended.
INSERT INTO compliance_facts (point_id, regulator, kind, submission_id, message, raised_at, expires_at)
SELECT point_id, regulator, kind, submission_id, message, at, NULL
FROM compliance_events WHERE alert AND point_id IS NOT NULL;

INSERT INTO compliance_facts (point_id, regulator, kind, submission_id, slot, raised_at)
SELECT point_id, regulator, 'ledger.unsettled', id, slot, updated_at FROM compliance_submissions
WHERE state NOT IN ('accepted', 'discarded', 'shadowed', 'no_data');

INSERT INTO compliance_facts (point_id, regulator, kind, submission_id, slot, raised_at)
SELECT point_id, regulator, 'ledger.refused', id, slot, updated_at FROM compliance_submissions
WHERE state = 'unrecoverable';

INSERT INTO compliance_facts (point_id, regulator, kind, submission_id, slot, message, raised_at, updated_at)
SELECT s.point_id, s.regulator, 'ledger.failing', s.id, s.slot,
    (SELECT COALESCE(a.error, a.message) FROM compliance_attempts a WHERE a.submission_id = s.id AND a.kind = 'send'
     AND COALESCE(a.error, a.message) IS NOT NULL ORDER BY a.started_at DESC, a.id DESC LIMIT 1),
    (SELECT MIN(a.started_at) FROM compliance_attempts a WHERE a.submission_id = s.id AND a.kind = 'send'),
    (SELECT MAX(a.started_at) FROM compliance_attempts a WHERE a.submission_id = s.id AND a.kind = 'send'
     AND COALESCE(a.error, a.message) IS NOT NULL)
FROM compliance_submissions s
WHERE s.state IN ('rejected', 'retry_scheduled')
  AND EXISTS (SELECT 1 FROM compliance_attempts a WHERE a.submission_id = s.id AND a.kind = 'send');

-- Capture jobs of the EPCIS 2.0 REST binding (`POST /epcis/2.0/capture` answers 202 with one):
-- the accepted document and who sent it, until a worker of any instance has captured it.
-- A worker claims a job with a lease (`lease_owner`, `lease_until_ms`); a job whose lease
-- lapsed (its instance died) is claimed again. `finished_at` set means done, `success` says how.
CREATE TABLE custody_capture_jobs (
    capture_id     BLOB PRIMARY KEY NOT NULL,
    org_id         BLOB NOT NULL,
    org_name       TEXT NOT NULL,
    role           TEXT NOT NULL,
    key_id         BLOB NOT NULL,
    behaviour      TEXT NOT NULL,          -- rollback | proceed
    document       TEXT NOT NULL,          -- the EPCISDocument as received
    created_at     TEXT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    lease_owner    TEXT,
    lease_until_ms INTEGER NOT NULL DEFAULT 0,
    finished_at    TEXT,
    success        BOOLEAN,
    errors         TEXT,                   -- JSON array of the job's errors, once finished
    report         TEXT                    -- JSON capture report, when something was captured
);

CREATE INDEX custody_capture_jobs_open ON custody_capture_jobs (lease_until_ms, created_at)
    WHERE finished_at IS NULL;
CREATE INDEX custody_capture_jobs_org ON custody_capture_jobs (org_id, created_at);

-- Capture jobs of the EPCIS 2.0 REST binding (`POST /epcis/2.0/capture` answers 202 with one):
-- the accepted document and who sent it, until a worker of any instance has captured it.
-- A worker claims a job with a lease (`lease_owner`, `lease_until_ms`); a job whose lease
-- lapsed (its instance died) is claimed again. `finished_at` set means done, `success` says how.
CREATE TABLE custody_capture_jobs (
    capture_id     uuid PRIMARY KEY NOT NULL,
    org_id         uuid NOT NULL,
    org_name       text NOT NULL,
    role           text NOT NULL,
    key_id         uuid NOT NULL,
    behaviour      text NOT NULL,          -- rollback | proceed
    document       text NOT NULL,          -- the EPCISDocument as received
    created_at     timestamptz NOT NULL,
    attempts       bigint NOT NULL DEFAULT 0,
    lease_owner    text,
    lease_until_ms bigint NOT NULL DEFAULT 0,
    finished_at    timestamptz,
    success        boolean,
    errors         text,                   -- JSON array of the job's errors, once finished
    report         text                    -- JSON capture report, when something was captured
);

CREATE INDEX custody_capture_jobs_open ON custody_capture_jobs (lease_until_ms, created_at)
    WHERE finished_at IS NULL;
CREATE INDEX custody_capture_jobs_org ON custody_capture_jobs (org_id, created_at);

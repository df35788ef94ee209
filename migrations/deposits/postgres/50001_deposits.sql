-- Residue deposits: one row per deposit (who records it, whether it was withdrawn) and one
-- per version of its record, none ever replaced. A version keeps the record as checked (JSON),
-- the signed credential issued for it, and where its revocation bit lives.
CREATE TABLE deposits (
    deposit_id  uuid PRIMARY KEY,
    org_id      uuid NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX deposits_org ON deposits (org_id);

CREATE TABLE deposit_versions (
    deposit_id       uuid NOT NULL REFERENCES deposits (deposit_id),
    version          bigint NOT NULL,
    credential_id    uuid NOT NULL UNIQUE,
    name             text NOT NULL,
    deposit_type     text NOT NULL,
    status           text NOT NULL,
    country          text NOT NULL,
    record           text NOT NULL,     -- JSON: the record as received, checked
    credential       text NOT NULL,     -- the credential with its Data Integrity proof
    revocation_list  text NOT NULL,
    revocation_index bigint NOT NULL,
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (deposit_id, version)
);
CREATE INDEX deposit_versions_country ON deposit_versions (country, deposit_type);

-- Answers to POSTs with an Idempotency-Key, kept in the transaction of the write they answer so
-- that a retry replays the first answer (pruned after `idempotency_retention_hours`).
CREATE TABLE deposit_idempotency (
    org_id       uuid NOT NULL,
    key          text NOT NULL,
    fingerprint  bytea NOT NULL,
    status       bigint NOT NULL,
    content_type text NOT NULL,
    body         text NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (org_id, key)
);
CREATE INDEX deposit_idempotency_created_at ON deposit_idempotency (created_at);

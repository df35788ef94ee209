-- Residue deposits: one row per deposit (who records it, whether it was withdrawn) and one
-- per version of its record, none ever replaced. A version keeps the record as checked (JSON),
-- the signed credential issued for it, and where its revocation bit lives.
CREATE TABLE deposits (
    deposit_id  BLOB PRIMARY KEY,
    org_id      BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX deposits_org ON deposits (org_id);

CREATE TABLE deposit_versions (
    deposit_id       BLOB NOT NULL REFERENCES deposits (deposit_id),
    version          INTEGER NOT NULL,
    credential_id    BLOB NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    deposit_type     TEXT NOT NULL,
    status           TEXT NOT NULL,
    country          TEXT NOT NULL,
    record           TEXT NOT NULL,     -- JSON: the record as received, checked
    credential       TEXT NOT NULL,     -- the credential with its Data Integrity proof
    revocation_list  TEXT NOT NULL,
    revocation_index INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (deposit_id, version)
);
CREATE INDEX deposit_versions_country ON deposit_versions (country, deposit_type);

-- Answers to POSTs with an Idempotency-Key, kept in the transaction of the write they answer so
-- that a retry replays the first answer (pruned after `idempotency_retention_hours`).
CREATE TABLE deposit_idempotency (
    org_id       BLOB NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  BLOB NOT NULL,
    status       INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (org_id, key)
);
CREATE INDEX deposit_idempotency_created_at ON deposit_idempotency (created_at);

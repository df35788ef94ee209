-- The passport service: signing keys, status lists, passports and their versions, the feed,
-- idempotent replies.

CREATE TABLE signing_keys (
    id            TEXT PRIMARY KEY NOT NULL,      -- the Multikey publicKeyMultibase (z6Mk...)
    org_id        BLOB NOT NULL,
    public_key    BLOB NOT NULL,
    sealed_secret BLOB NOT NULL,                  -- XChaCha20-Poly1305 under the master key
    created_at    TEXT NOT NULL,
    retired_at    TEXT,                          -- stopped signing; still verifies
    revoked_at    TEXT                           -- withdrawn: no longer asserts anything
);
CREATE INDEX signing_keys_org ON signing_keys (org_id, created_at);

CREATE TABLE status_lists (
    id         TEXT PRIMARY KEY NOT NULL,
    org_id     BLOB NOT NULL,
    purpose    TEXT NOT NULL CHECK (purpose IN ('revocation', 'suspension', 'message')),
    size       INTEGER NOT NULL,
    allocated  INTEGER NOT NULL,
    used       BLOB NOT NULL,                     -- which indexes are handed out
    bits       BLOB NOT NULL,                     -- the status bits themselves
    credential TEXT,                              -- the signed list credential; NULL when stale
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX status_lists_org ON status_lists (org_id, purpose, allocated);

CREATE TABLE passports (
    id               BLOB PRIMARY KEY NOT NULL,
    org_id           BLOB NOT NULL,
    version          INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    status_reason    TEXT,
    granularity      TEXT NOT NULL CHECK (granularity IN ('model', 'batch', 'item')),
    gtin             TEXT,
    serial           TEXT,
    lot              TEXT,
    category         TEXT NOT NULL,
    country          TEXT NOT NULL,
    placed_on_market TEXT NOT NULL,
    model_passport   BLOB,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX passports_gs1_item ON passports (gtin, serial) WHERE gtin IS NOT NULL AND serial IS NOT NULL;
CREATE UNIQUE INDEX passports_gs1_batch ON passports (gtin, lot) WHERE gtin IS NOT NULL AND granularity = 'batch';
CREATE UNIQUE INDEX passports_gs1_model ON passports (gtin) WHERE granularity = 'model';
CREATE UNIQUE INDEX passports_own_serial ON passports (org_id, serial) WHERE gtin IS NULL AND serial IS NOT NULL;
CREATE UNIQUE INDEX passports_own_lot ON passports (org_id, lot) WHERE gtin IS NULL AND granularity = 'batch';
CREATE INDEX passports_org ON passports (org_id, id);
CREATE INDEX passports_category ON passports (category, id);
CREATE INDEX passports_country ON passports (country, id);

CREATE TABLE passport_versions (
    passport_id       BLOB NOT NULL REFERENCES passports (id),
    version           INTEGER NOT NULL,
    credential_id     BLOB NOT NULL UNIQUE,
    credential        TEXT NOT NULL,               -- the exact signed bytes, served unchanged
    component_details TEXT NOT NULL,               -- the exact bytes the subject's digest covers
    confidential      TEXT,
    key_id            TEXT NOT NULL,
    revocation_list   TEXT NOT NULL,
    revocation_index  INTEGER NOT NULL,
    suspension_list   TEXT NOT NULL,
    suspension_index  INTEGER NOT NULL,
    message_list      TEXT NOT NULL,
    message_index     INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    superseded_at     TEXT,
    PRIMARY KEY (passport_id, version)
);

-- The passport feed: gap-free, in commit order (seq comes from passport_feed_head, whose row
-- lock every writer holds until it commits).
CREATE TABLE passport_feed (
    seq         INTEGER PRIMARY KEY NOT NULL,
    event_id    BLOB NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    passport_id BLOB NOT NULL,
    version     INTEGER NOT NULL,
    org_id      BLOB NOT NULL,
    occurred_at TEXT NOT NULL,
    data        TEXT
);
CREATE TABLE passport_feed_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    head INTEGER NOT NULL
);
INSERT INTO passport_feed_head (id, head) VALUES (1, 0);

CREATE TABLE passport_idempotency (
    org_id      BLOB NOT NULL,
    key         TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    status      INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (org_id, key)
);

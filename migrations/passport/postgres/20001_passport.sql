-- The passport service: signing keys, status lists, passports and their versions, the feed,
-- idempotent replies.

CREATE TABLE signing_keys (
    id            text PRIMARY KEY,               -- the Multikey publicKeyMultibase (z6Mk...)
    org_id        uuid NOT NULL,
    public_key    bytea NOT NULL,
    sealed_secret bytea NOT NULL,                 -- XChaCha20-Poly1305 under the master key
    created_at    timestamptz NOT NULL,
    retired_at    timestamptz,                          -- stopped signing; still verifies
    revoked_at    timestamptz                           -- withdrawn: no longer asserts anything
);
CREATE INDEX signing_keys_org ON signing_keys (org_id, created_at);

CREATE TABLE status_lists (
    id         text PRIMARY KEY,
    org_id     uuid NOT NULL,
    purpose    text NOT NULL CHECK (purpose IN ('revocation', 'suspension', 'message')),
    size       bigint NOT NULL,
    allocated  bigint NOT NULL,
    used       bytea NOT NULL,                    -- which indexes are handed out
    bits       bytea NOT NULL,                    -- the status bits themselves
    credential text,                              -- the signed list credential; NULL when stale
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX status_lists_org ON status_lists (org_id, purpose, allocated);

CREATE TABLE passports (
    id               uuid PRIMARY KEY,
    org_id           uuid NOT NULL,
    version          bigint NOT NULL,
    status           text NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    status_reason    text,
    granularity      text NOT NULL CHECK (granularity IN ('model', 'batch', 'item')),
    gtin             text,
    serial           text,
    lot              text,
    category         text NOT NULL,
    country          text NOT NULL,
    placed_on_market date NOT NULL,
    model_passport   uuid,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
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
    passport_id       uuid NOT NULL REFERENCES passports (id),
    version           bigint NOT NULL,
    credential_id     uuid NOT NULL UNIQUE,
    credential        text COMPRESSION lz4 NOT NULL, -- the exact signed bytes, served unchanged
    component_details text COMPRESSION lz4 NOT NULL, -- the exact bytes the subject's digest covers
    confidential      text,
    key_id            text NOT NULL,
    revocation_list   text NOT NULL,
    revocation_index  bigint NOT NULL,
    suspension_list   text NOT NULL,
    suspension_index  bigint NOT NULL,
    message_list      text NOT NULL,
    message_index     bigint NOT NULL,
    created_at        timestamptz NOT NULL,
    superseded_at     timestamptz,
    PRIMARY KEY (passport_id, version)
);

-- The passport feed: gap-free, in commit order (seq comes from passport_feed_head, whose row
-- lock every writer holds until it commits).
CREATE TABLE passport_feed (
    seq         bigint PRIMARY KEY,
    event_id    uuid NOT NULL UNIQUE,
    type        text NOT NULL,
    passport_id uuid NOT NULL,
    version     bigint NOT NULL,
    org_id      uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    data        text
);
CREATE TABLE passport_feed_head (
    id   integer PRIMARY KEY CHECK (id = 1),
    head bigint NOT NULL
);
INSERT INTO passport_feed_head (id, head) VALUES (1, 0);

CREATE TABLE passport_idempotency (
    org_id      uuid NOT NULL,
    key         text NOT NULL,
    fingerprint bytea NOT NULL,
    status      bigint NOT NULL,
    content_type text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (org_id, key)
);

-- Issuing (the kernel's): organisations' signing keys and status lists, for any service that
-- issues credentials. The passport service's first migration (20001) created these same tables
-- before they were the kernel's, so every statement here is IF NOT EXISTS: on a database that
-- has them it records itself and changes nothing; on one without them it creates them as 20001
-- did. 20001 itself has no IF NOT EXISTS, so where both sets apply, passport's goes first.

CREATE TABLE IF NOT EXISTS signing_keys (
    id            text PRIMARY KEY,               -- the Multikey publicKeyMultibase (z6Mk...)
    org_id        uuid NOT NULL,
    public_key    bytea NOT NULL,
    sealed_secret bytea NOT NULL,                 -- XChaCha20-Poly1305 under the master key
    created_at    timestamptz NOT NULL,
    retired_at    timestamptz,                          -- stopped signing; still verifies
    revoked_at    timestamptz                           -- withdrawn: no longer asserts anything
);
CREATE INDEX IF NOT EXISTS signing_keys_org ON signing_keys (org_id, created_at);

CREATE TABLE IF NOT EXISTS status_lists (
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
CREATE INDEX IF NOT EXISTS status_lists_org ON status_lists (org_id, purpose, allocated);

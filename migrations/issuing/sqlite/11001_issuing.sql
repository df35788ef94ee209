-- Issuing (the kernel's): organisations' signing keys and status lists, for any service that
-- issues credentials. The passport service's first migration (20001) created these same tables
-- before they were the kernel's, so every statement here is IF NOT EXISTS: on a database that
-- has them it records itself and changes nothing; on one without them it creates them as 20001
-- did. 20001 itself has no IF NOT EXISTS, so where both sets apply, passport's goes first.

CREATE TABLE IF NOT EXISTS signing_keys (
    id            TEXT PRIMARY KEY NOT NULL,      -- the Multikey publicKeyMultibase (z6Mk...)
    org_id        BLOB NOT NULL,
    public_key    BLOB NOT NULL,
    sealed_secret BLOB NOT NULL,                  -- XChaCha20-Poly1305 under the master key
    created_at    TEXT NOT NULL,
    retired_at    TEXT,                          -- stopped signing; still verifies
    revoked_at    TEXT                           -- withdrawn: no longer asserts anything
);
CREATE INDEX IF NOT EXISTS signing_keys_org ON signing_keys (org_id, created_at);

CREATE TABLE IF NOT EXISTS status_lists (
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
CREATE INDEX IF NOT EXISTS status_lists_org ON status_lists (org_id, purpose, allocated);

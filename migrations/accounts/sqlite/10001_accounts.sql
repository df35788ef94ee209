-- Organisations and their API keys (shared by every service for authentication).
CREATE TABLE orgs (
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role            TEXT NOT NULL CHECK (role IN ('manufacturer', 'recycler', 'regulator', 'admin', 'service')),
    operator_scheme TEXT,
    operator_id     TEXT,
    created_at      TEXT NOT NULL,
    CHECK ((operator_scheme IS NULL) = (operator_id IS NULL))
);
CREATE UNIQUE INDEX orgs_operator ON orgs (operator_scheme, operator_id) WHERE operator_id IS NOT NULL;

CREATE TABLE api_keys (
    id         BLOB PRIMARY KEY NOT NULL,
    org_id     BLOB NOT NULL REFERENCES orgs (id),
    prefix     TEXT NOT NULL UNIQUE,
    hash       BLOB NOT NULL,
    label      TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX api_keys_org ON api_keys (org_id);

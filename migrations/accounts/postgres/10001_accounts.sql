-- Organisations and their API keys (shared by every service for authentication).
CREATE TABLE orgs (
    id              uuid PRIMARY KEY,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role            text NOT NULL CHECK (role IN ('manufacturer', 'recycler', 'regulator', 'admin', 'service')),
    operator_scheme text,
    operator_id     text,
    created_at      timestamptz NOT NULL,
    CHECK ((operator_scheme IS NULL) = (operator_id IS NULL))
);
CREATE UNIQUE INDEX orgs_operator ON orgs (operator_scheme, operator_id) WHERE operator_id IS NOT NULL;

CREATE TABLE api_keys (
    id         uuid PRIMARY KEY,
    org_id     uuid NOT NULL REFERENCES orgs (id),
    prefix     text NOT NULL UNIQUE,
    hash       bytea NOT NULL,
    label      text,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX api_keys_org ON api_keys (org_id);

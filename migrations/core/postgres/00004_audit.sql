-- The audit trail: one row per request made with an authority's (regulator's) key, written
-- before the answer leaves. The key is named by its id and public prefix, never its secret.
-- Rows older than the retention (`audit_retention_days`, two years by default) are pruned.
CREATE TABLE audit_trail (
    id         uuid PRIMARY KEY,
    at         timestamptz NOT NULL,
    org_id     uuid NOT NULL,
    org_name   text NOT NULL,
    key_id     uuid NOT NULL,
    key_prefix text NOT NULL,
    method     text NOT NULL,
    route      text NOT NULL,
    path       text NOT NULL,
    query      text,
    status     integer NOT NULL
);
CREATE INDEX audit_trail_at ON audit_trail (at);
CREATE INDEX audit_trail_org ON audit_trail (org_id, id);
CREATE INDEX audit_trail_key ON audit_trail (key_id, id);

-- The audit trail: one row per request made with an authority's (regulator's) key, written
-- before the answer leaves. The key is named by its id and public prefix, never its secret.
-- Rows older than the retention (`audit_retention_days`, two years by default) are pruned.
CREATE TABLE audit_trail (
    id         BLOB PRIMARY KEY NOT NULL,
    at         TEXT NOT NULL,
    org_id     BLOB NOT NULL,
    org_name   TEXT NOT NULL,
    key_id     BLOB NOT NULL,
    key_prefix TEXT NOT NULL,
    method     TEXT NOT NULL,
    route      TEXT NOT NULL,
    path       TEXT NOT NULL,
    query      TEXT,
    status     INTEGER NOT NULL
);
CREATE INDEX audit_trail_at ON audit_trail (at);
CREATE INDEX audit_trail_org ON audit_trail (org_id, id);
CREATE INDEX audit_trail_key ON audit_trail (key_id, id);

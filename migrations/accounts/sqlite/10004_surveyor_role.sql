-- no-transaction
-- A sixth role, `surveyor` (records residue deposits). SQLite cannot change a CHECK in place:
-- the table is made again with the wider check and the rows copied (SQLite's "making other
-- kinds of table schema changes" procedure). Dropping the old table would trip the foreign
-- keys of the API keys and GS1 prefixes, which refer to `orgs` by name and follow the new
-- table, so the procedure runs in a transaction of its own with foreign keys off, turned on
-- again after it (the rows are copied whole, so every reference still finds its organisation;
-- core's `surveyor_role` test checks it on a database with organisations, keys and prefixes).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE orgs_with_surveyors (
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role            TEXT NOT NULL CHECK (role IN ('manufacturer', 'recycler', 'regulator', 'admin', 'service', 'surveyor')),
    operator_scheme TEXT,
    operator_id     TEXT,
    created_at      TEXT NOT NULL,
    CHECK ((operator_scheme IS NULL) = (operator_id IS NULL))
);
INSERT INTO orgs_with_surveyors (id, name, role, operator_scheme, operator_id, created_at)
    SELECT id, name, role, operator_scheme, operator_id, created_at FROM orgs;
DROP TABLE orgs;
ALTER TABLE orgs_with_surveyors RENAME TO orgs;
CREATE UNIQUE INDEX orgs_operator ON orgs (operator_scheme, operator_id) WHERE operator_id IS NOT NULL;
COMMIT;
PRAGMA foreign_keys = ON;

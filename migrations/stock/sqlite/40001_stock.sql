-- The stock service: its copy of the passports, the flow cells it maintains from the passport
-- and custody feeds, custody steps waiting for their passport, its feed cursors and inbox, and
-- the versioned model parameters.

-- One row per passport: what its current version says, and its status.
CREATE TABLE stock_passports (
    passport_id  BLOB PRIMARY KEY NOT NULL,
    org_id       BLOB NOT NULL,          -- the manufacturer
    version      INTEGER NOT NULL,
    granularity  TEXT NOT NULL,          -- model | batch | item
    category     TEXT NOT NULL,
    country      TEXT NOT NULL,          -- placed on the market in
    market_year  INTEGER NOT NULL,
    units        INTEGER NOT NULL,
    status       TEXT NOT NULL,          -- active | suspended | revoked
    use_type     TEXT,                   -- concentrated | dispersed
    content      TEXT NOT NULL,          -- REE per unit, JSON {"Nd": micrograms}
    recycled     TEXT NOT NULL,          -- recycled REE per unit, JSON {"Nd": micrograms}
    updated_at   TEXT NOT NULL
);

-- The flow cells, per contributing organisation: year x country x category x element x flow.
-- `records` counts the live contributions (passports, custody events); the organisation
-- contributes to the cell while it is positive. Maintained incrementally by the projections.
CREATE TABLE stock_cells (
    flow      TEXT NOT NULL,
    year      INTEGER NOT NULL,
    country   TEXT NOT NULL,
    category  TEXT NOT NULL,
    element   TEXT NOT NULL,
    org_id    BLOB NOT NULL,
    value_ug  INTEGER NOT NULL,
    records   INTEGER NOT NULL,
    PRIMARY KEY (flow, year, country, category, element, org_id)
) WITHOUT ROWID;
CREATE INDEX stock_cells_org ON stock_cells (org_id, flow, year);

-- One revision per (flow, year) table, bumped by every write that touches it: readers cache
-- a table until its revision moves.
CREATE TABLE stock_revisions (
    flow     TEXT NOT NULL,
    year     INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (flow, year)
);

-- Custody steps on products whose passport the stock service has not seen yet.
CREATE TABLE stock_parked (
    passport_id BLOB NOT NULL,
    event_id    TEXT NOT NULL,
    flow        TEXT NOT NULL,
    year        INTEGER NOT NULL,
    recorder    BLOB NOT NULL,
    elements    TEXT NOT NULL,          -- JSON {"Nd": micrograms}
    PRIMARY KEY (passport_id, event_id)
);

CREATE TABLE stock_cursors (
    stream   TEXT PRIMARY KEY NOT NULL,
    position INTEGER NOT NULL
);
CREATE TABLE stock_inbox (
    event_id TEXT PRIMARY KEY NOT NULL
) WITHOUT ROWID;

-- Serialises the projections' transactions (one row, updated first by each).
CREATE TABLE stock_writer (
    id      INTEGER PRIMARY KEY NOT NULL,
    applied INTEGER NOT NULL
);
INSERT INTO stock_writer (id, applied) VALUES (1, 0);

-- Model parameters; every modelled figure names the version it was made with.
CREATE TABLE stock_parameters (
    version    INTEGER PRIMARY KEY NOT NULL,
    parameters TEXT NOT NULL,           -- JSON
    created_by BLOB,
    created_at TEXT NOT NULL
);

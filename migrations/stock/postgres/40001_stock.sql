-- The stock service: its copy of the passports, the flow cells it maintains from the passport
-- and custody feeds, custody steps waiting for their passport, its feed cursors and inbox, and
-- the versioned model parameters.

-- One row per passport: what its current version says, and its status.
CREATE TABLE stock_passports (
    passport_id  uuid PRIMARY KEY,
    org_id       uuid NOT NULL,          -- the manufacturer
    version      bigint NOT NULL,
    granularity  text NOT NULL,          -- model | batch | item
    category     text NOT NULL,
    country      text NOT NULL,          -- placed on the market in
    market_year  integer NOT NULL,
    units        bigint NOT NULL,
    status       text NOT NULL,          -- active | suspended | revoked
    use_type     text,                   -- concentrated | dispersed
    content      text NOT NULL,          -- REE per unit, JSON {"Nd": micrograms}
    recycled     text NOT NULL,          -- recycled REE per unit, JSON {"Nd": micrograms}
    updated_at   timestamptz NOT NULL
);

-- The flow cells, per contributing organisation: year x country x category x element x flow.
-- `records` counts the live contributions (passports, custody events); the organisation
-- contributes to the cell while it is positive. Maintained incrementally by the projections.
CREATE TABLE stock_cells (
    flow      text NOT NULL,
    year      integer NOT NULL,
    country   text NOT NULL,
    category  text NOT NULL,
    element   text NOT NULL,
    org_id    uuid NOT NULL,
    value_ug  bigint NOT NULL,
    records   bigint NOT NULL,
    PRIMARY KEY (flow, year, country, category, element, org_id)
);
CREATE INDEX stock_cells_org ON stock_cells (org_id, flow, year);

-- One revision per (flow, year) table, bumped by every write that touches it: readers cache
-- a table until its revision moves.
CREATE TABLE stock_revisions (
    flow     text NOT NULL,
    year     integer NOT NULL,
    revision bigint NOT NULL,
    PRIMARY KEY (flow, year)
);

-- Custody steps on products whose passport the stock service has not seen yet.
CREATE TABLE stock_parked (
    passport_id uuid NOT NULL,
    event_id    text NOT NULL,
    flow        text NOT NULL,
    year        integer NOT NULL,
    recorder    uuid NOT NULL,
    elements    text NOT NULL,          -- JSON {"Nd": micrograms}
    PRIMARY KEY (passport_id, event_id)
);

CREATE TABLE stock_cursors (
    stream   text PRIMARY KEY,
    position bigint NOT NULL
);
CREATE TABLE stock_inbox (
    event_id text PRIMARY KEY
);

-- Serialises the projections' transactions (one row, updated first by each).
CREATE TABLE stock_writer (
    id      integer PRIMARY KEY,
    applied bigint NOT NULL
);
INSERT INTO stock_writer (id, applied) VALUES (1, 0);

-- Model parameters; every modelled figure names the version it was made with.
CREATE TABLE stock_parameters (
    version    bigint PRIMARY KEY,
    parameters text NOT NULL,           -- JSON
    created_by uuid,
    created_at timestamptz NOT NULL
);

-- The stock service's copy of the residue deposits (from the deposits feed): the newest version
-- of each, and its content per element in kg with the standard uncertainty, as the deposits
-- service computed them. Deposits are open data: no disclosure control applies to them. A
-- withdrawn deposit keeps its row (so an older event arriving late cannot bring it back) and
-- loses its content.
CREATE TABLE stock_deposits (
    deposit_id   BLOB PRIMARY KEY,
    version      INTEGER NOT NULL,
    org_id       BLOB NOT NULL,
    deposit_type text NOT NULL,
    status       text NOT NULL,
    country      text NOT NULL,
    nuts         text,
    illustrative INTEGER NOT NULL,
    tonnes       REAL NOT NULL,
    withdrawn    INTEGER NOT NULL
);
CREATE TABLE stock_deposit_content (
    deposit_id     BLOB NOT NULL REFERENCES stock_deposits (deposit_id),
    element        text NOT NULL,
    kg             REAL NOT NULL,
    uncertainty_kg REAL NOT NULL,
    PRIMARY KEY (deposit_id, element)
);

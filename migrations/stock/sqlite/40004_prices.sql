-- Element price series (with their exchange rates), to value rare-earth masses; every change is
-- a new version, none is ever replaced. Values name the version they were made with.
CREATE TABLE stock_prices (
    version    INTEGER PRIMARY KEY NOT NULL,
    prices     TEXT NOT NULL,           -- JSON
    created_by BLOB,
    created_at TEXT NOT NULL
);

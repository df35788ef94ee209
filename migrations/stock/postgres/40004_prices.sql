-- Element price series (with their exchange rates), to value rare-earth masses; every change is
-- a new version, none is ever replaced. Values name the version they were made with.
CREATE TABLE stock_prices (
    version    bigint PRIMARY KEY,
    prices     text NOT NULL,           -- JSON
    created_by uuid,
    created_at timestamptz NOT NULL
);

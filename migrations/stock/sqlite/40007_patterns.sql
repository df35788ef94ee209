-- The disclosure pattern each (flow, year) table was last protected with, and its basis: the
-- protection method, the rule and the revision of every table protected together with it. A
-- restart reuses the pattern of a table whose basis did not move instead of protecting it again
-- (protecting every table of a large instance takes long).
CREATE TABLE stock_patterns (
    flow     TEXT NOT NULL,
    year     INTEGER NOT NULL,
    basis    TEXT NOT NULL,
    cells    INTEGER NOT NULL,          -- the table's cells at all grains
    withheld TEXT NOT NULL,             -- the withheld cells, one country/category/element a line
    PRIMARY KEY (flow, year)
);

-- A cell's value in two 64-bit integers, value = value_hi * 10^18 + value_lo with value_lo in
-- [0, 10^18): sums of micrograms past 9.2 * 10^18 (9,200 t of an element in one cell) no longer
-- overflow, on both backends, with the same SQL (SQLite has no 128-bit integer, and its SUM()
-- fails on 64-bit overflow). Additions carry in the upsert itself; readers combine the halves
-- into an i128.
ALTER TABLE stock_cells ADD COLUMN value_hi BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stock_cells ADD COLUMN value_lo BIGINT NOT NULL DEFAULT 0;
UPDATE stock_cells SET
    value_hi = CASE WHEN value_ug < 0 AND value_ug % 1000000000000000000 <> 0
                    THEN value_ug / 1000000000000000000 - 1
                    ELSE value_ug / 1000000000000000000 END,
    value_lo = CASE WHEN value_ug < 0 AND value_ug % 1000000000000000000 <> 0
                    THEN value_ug % 1000000000000000000 + 1000000000000000000
                    ELSE value_ug % 1000000000000000000 END;
ALTER TABLE stock_cells DROP COLUMN value_ug;

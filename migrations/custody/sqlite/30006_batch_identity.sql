-- Batch passports by GS1 identity: a transformation's output lot may not take the GTIN and lot
-- number of a batch passport custody knows (one Digital Link, one thing).
CREATE INDEX custody_products_batch_identity ON custody_products (gtin, lot) WHERE granularity = 'batch';

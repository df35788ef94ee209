-- The answers to idempotent requests are pruned past their retention
-- (`idempotency_retention_hours`): an index on their age keeps the hourly prune cheap.
CREATE INDEX custody_idempotency_created_at ON custody_idempotency (created_at);

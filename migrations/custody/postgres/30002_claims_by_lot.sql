-- Every claim re-reads the claims on its lots under the lots' locks (the totals rule); find them
-- by lot rather than by scanning every claim.
CREATE INDEX custody_claims_lot ON custody_claims (lot_id);

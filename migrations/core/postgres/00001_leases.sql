-- Leases: which instance does a piece of background work (a feed consumer, the checkpoint
-- publisher) now. A lease lapses when its holder stops renewing it, so work never stalls when an
-- instance dies.
CREATE TABLE leases (
    name       text PRIMARY KEY,
    holder     text NOT NULL,
    expires_ms bigint NOT NULL
);

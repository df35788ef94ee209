-- The deposits feed: gap-free, in commit order (seq comes from deposit_feed_head, whose row lock
-- every writer holds until it commits). An event names a version (recorded, versioned) or a
-- deposit (withdrawn); its data is read from the version's record when the feed is read.
CREATE TABLE deposit_feed (
    seq         bigint PRIMARY KEY,
    event_id    uuid NOT NULL UNIQUE,
    type        text NOT NULL,
    deposit_id  uuid NOT NULL,
    version     bigint NOT NULL,
    org_id      uuid NOT NULL,
    occurred_at timestamptz NOT NULL
);
CREATE TABLE deposit_feed_head (
    id   integer PRIMARY KEY CHECK (id = 1),
    head bigint NOT NULL
);

-- Deposits recorded before the feed: one event per version in the order they were recorded,
-- then one per withdrawal.
INSERT INTO deposit_feed (seq, event_id, type, deposit_id, version, org_id, occurred_at)
SELECT ROW_NUMBER() OVER (ORDER BY v.created_at, v.deposit_id, v.version),
       gen_random_uuid(),
       CASE WHEN v.version = 1 THEN 'deposit.recorded' ELSE 'deposit.versioned' END,
       v.deposit_id, v.version, d.org_id, v.created_at
FROM deposit_versions v JOIN deposits d ON d.deposit_id = v.deposit_id;
INSERT INTO deposit_feed (seq, event_id, type, deposit_id, version, org_id, occurred_at)
SELECT (SELECT COUNT(*) FROM deposit_versions)
         + ROW_NUMBER() OVER (ORDER BY d.revoked_at, d.deposit_id),
       gen_random_uuid(), 'deposit.withdrawn', d.deposit_id,
       (SELECT MAX(m.version) FROM deposit_versions m WHERE m.deposit_id = d.deposit_id),
       d.org_id, d.revoked_at
FROM deposits d WHERE d.revoked_at IS NOT NULL;
INSERT INTO deposit_feed_head (id, head) SELECT 1, COUNT(*) FROM deposit_feed;

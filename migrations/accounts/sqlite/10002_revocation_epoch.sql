-- A counter every key revocation moves: each running instance reads it about once a second and
-- forgets the keys it cached when it changed, so a key revoked anywhere stops working everywhere
-- within a second (not within the key cache's lifetime).
CREATE TABLE key_revocation_epoch (
    id    INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO key_revocation_epoch (id, epoch) VALUES (1, 0);

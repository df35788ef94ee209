-- Feed events a consumer could not apply (their data cannot be projected: a value that does not
-- parse, a constraint it breaks). The consumer moves past them instead of retrying forever;
-- later events of the same subject wait here with them (they may depend on it); an admin
-- replays them, in feed order, after a fix.
CREATE TABLE feed_quarantine (
    consumer       TEXT NOT NULL,
    seq            BIGINT NOT NULL,
    stream         TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    subject        TEXT,
    event          TEXT NOT NULL,
    reason         TEXT NOT NULL,
    quarantined_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (consumer, seq)
);
CREATE INDEX feed_quarantine_subject ON feed_quarantine (consumer, subject);

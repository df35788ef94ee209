-- The instance's identity: the public base URL every DID, credential id, status list and custody
-- identifier it issues is named under, and its custody log's origin (the name of the log's key).
-- Recorded on the first start and changed only by `reetrace admin instance move`, so that a start
-- with another URL (a restored backup at another host, a changed --listen) is refused instead of
-- silently issuing under a second name.
CREATE TABLE instance_identity (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    public_base_url TEXT NOT NULL,
    log_origin      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    moved_at        TEXT
);
-- Base URLs the instance was moved away from: what was issued under them keeps resolving and
-- verifying here.
CREATE TABLE instance_aliases (
    base_url   TEXT PRIMARY KEY NOT NULL,
    retired_at TEXT NOT NULL
);

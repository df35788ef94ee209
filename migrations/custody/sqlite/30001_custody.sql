-- The custody service: its copy of the passports it needs (from the passport feed), custody
-- state of products and lots, EPCIS events, per-subject hash chains, the Merkle log and its
-- checkpoints, recycled-content claims, its feed cursor and inbox, idempotent replies.

-- What custody knows of each product, kept from the passport feed.
CREATE TABLE custody_products (
    passport_id      BLOB PRIMARY KEY NOT NULL,
    org_id           BLOB NOT NULL,
    version          INTEGER NOT NULL,
    passport_status  TEXT NOT NULL,
    granularity      TEXT NOT NULL,
    gtin             TEXT,
    serial           TEXT,
    lot              TEXT,
    units            INTEGER NOT NULL,
    name             TEXT NOT NULL,
    category         TEXT NOT NULL,
    country          TEXT NOT NULL,
    placed_on_market TEXT NOT NULL,
    net_mass_ug      INTEGER NOT NULL,
    epc              TEXT NOT NULL UNIQUE,   -- the EPCIS identifier (SGTIN/LGTIN Digital Link or /p/ URI)
    elements         TEXT NOT NULL,          -- REE per unit, JSON {"Nd": micrograms}
    state            TEXT NOT NULL,
    holder           BLOB,
    pending_to       BLOB,
    updated_at       TEXT NOT NULL
);

CREATE TABLE custody_lots (
    lot_id            BLOB PRIMARY KEY NOT NULL,
    epc               TEXT NOT NULL UNIQUE,  -- LGTIN class (with a GTIN) or our lot URI
    gtin              TEXT,
    lot_number        TEXT,
    kind              TEXT NOT NULL,
    material          TEXT NOT NULL,
    mass_ug           INTEGER NOT NULL,
    remaining_ug      INTEGER NOT NULL,
    elements          TEXT NOT NULL,         -- recovered into the lot, JSON {"Nd": micrograms}
    remaining         TEXT NOT NULL,         -- still in the lot
    claimed           TEXT NOT NULL,         -- claimed as recycled content by passports
    origin            TEXT NOT NULL,         -- JSON [{category, country, share_ppm}] of the products it came from
    state             TEXT NOT NULL,
    holder            BLOB NOT NULL,
    pending_to        BLOB,
    transformation_id BLOB NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX custody_lots_holder ON custody_lots (holder, lot_id);

CREATE TABLE custody_transformations (
    id         BLOB PRIMARY KEY NOT NULL,
    process    TEXT NOT NULL,
    org_id     BLOB NOT NULL,
    at         TEXT NOT NULL,
    inputs     TEXT NOT NULL,
    outputs    TEXT NOT NULL,
    losses     TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Every accepted event: a leaf of the Merkle log (leaf_index is also the custody feed's sequence).
CREATE TABLE custody_events (
    leaf_index   INTEGER PRIMARY KEY,
    event_id     TEXT NOT NULL UNIQUE,       -- EPCIS eventID
    event_hash   TEXT NOT NULL,              -- ni:///sha-256;...?ver=CBV2.0
    event_type   TEXT NOT NULL,
    action       TEXT NOT NULL,              -- ours (collect, dismantling...) or the EPCIS action
    biz_step     TEXT,
    biz_location TEXT,
    event_time   TEXT NOT NULL,
    org_id       BLOB NOT NULL,              -- who recorded it
    document     TEXT NOT NULL,              -- the exact stored EPCIS event
    data         TEXT NOT NULL,              -- what the custody feed says of it (subjects, element masses)
    leaf_hash    BLOB NOT NULL,
    recorded_at  TEXT NOT NULL
);
CREATE INDEX custody_events_time ON custody_events (event_time, leaf_index);
CREATE INDEX custody_events_step ON custody_events (biz_step, leaf_index);

-- Identifiers an event names, for EPCIS queries (MATCH_anyEPC, MATCH_epcClass).
CREATE TABLE custody_event_epcs (
    leaf_index INTEGER NOT NULL REFERENCES custody_events (leaf_index),
    epc        TEXT NOT NULL,
    role       TEXT NOT NULL,                -- epc, class, input, output, parent, child
    PRIMARY KEY (leaf_index, epc, role)
);
CREATE INDEX custody_event_epcs_epc ON custody_event_epcs (epc, leaf_index);

-- Each product's and lot's hash chain: link n = SHA-256(link n-1 || event digest).
CREATE TABLE custody_chain (
    subject_id BLOB NOT NULL,
    seq        INTEGER NOT NULL,
    leaf_index INTEGER NOT NULL REFERENCES custody_events (leaf_index),
    link       BLOB NOT NULL,
    PRIMARY KEY (subject_id, seq)
);
CREATE INDEX custody_chain_leaf ON custody_chain (leaf_index);

-- The Merkle log: hashes of every perfect subtree; level 0 are the leaves.
CREATE TABLE custody_log_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE custody_log_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL
);
INSERT INTO custody_log_head (id, size) VALUES (1, 0);

CREATE TABLE custody_checkpoints (
    size       INTEGER PRIMARY KEY,
    root       BLOB NOT NULL,
    note       TEXT NOT NULL,                -- the C2SP signed note
    created_at TEXT NOT NULL
);

-- The key the log signs its checkpoints with, sealed under the master key.
CREATE TABLE custody_log_keys (
    name          TEXT PRIMARY KEY NOT NULL,
    public_key    BLOB NOT NULL,
    sealed_secret BLOB NOT NULL,
    created_at    TEXT NOT NULL
);

-- Recycled content claimed from lots by passports (reserved until the passport is seen).
CREATE TABLE custody_claims (
    claim_id    BLOB NOT NULL,
    lot_id      BLOB NOT NULL REFERENCES custody_lots (lot_id),
    passport_id BLOB NOT NULL,
    org_id      BLOB NOT NULL,
    element     TEXT NOT NULL,
    mass_ug     INTEGER NOT NULL,
    status      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (claim_id, lot_id, element)
);
CREATE INDEX custody_claims_passport ON custody_claims (passport_id);

CREATE TABLE custody_cursors (
    stream   TEXT PRIMARY KEY NOT NULL,
    position INTEGER NOT NULL
);
CREATE TABLE custody_inbox (
    event_id TEXT PRIMARY KEY NOT NULL
);

CREATE TABLE custody_idempotency (
    org_id       BLOB NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  BLOB NOT NULL,
    status       INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (org_id, key)
);

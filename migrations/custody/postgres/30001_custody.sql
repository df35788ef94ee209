-- The custody service: its copy of the passports it needs (from the passport feed), custody
-- state of products and lots, EPCIS events, per-subject hash chains, the Merkle log and its
-- checkpoints, recycled-content claims, its feed cursor and inbox, idempotent replies.

-- What custody knows of each product, kept from the passport feed.
CREATE TABLE custody_products (
    passport_id      uuid PRIMARY KEY,
    org_id           uuid NOT NULL,
    version          bigint NOT NULL,
    passport_status  text NOT NULL,
    granularity      text NOT NULL,
    gtin             text,
    serial           text,
    lot              text,
    units            bigint NOT NULL,
    name             text NOT NULL,
    category         text NOT NULL,
    country          text NOT NULL,
    placed_on_market date NOT NULL,
    net_mass_ug      bigint NOT NULL,
    epc              text NOT NULL UNIQUE,   -- the EPCIS identifier (SGTIN/LGTIN Digital Link or /p/ URI)
    elements         text NOT NULL,          -- REE per unit, JSON {"Nd": micrograms}
    state            text NOT NULL,
    holder           uuid,
    pending_to       uuid,
    updated_at       timestamptz NOT NULL
);

CREATE TABLE custody_lots (
    lot_id            uuid PRIMARY KEY,
    epc               text NOT NULL UNIQUE,  -- LGTIN class (with a GTIN) or our lot URI
    gtin              text,
    lot_number        text,
    kind              text NOT NULL,
    material          text NOT NULL,
    mass_ug           bigint NOT NULL,
    remaining_ug      bigint NOT NULL,
    elements          text NOT NULL,         -- recovered into the lot, JSON {"Nd": micrograms}
    remaining         text NOT NULL,         -- still in the lot
    claimed           text NOT NULL,         -- claimed as recycled content by passports
    origin            text NOT NULL,         -- JSON [{category, country, share_ppm}] of the products it came from
    state             text NOT NULL,
    holder            uuid NOT NULL,
    pending_to        uuid,
    transformation_id uuid NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX custody_lots_holder ON custody_lots (holder, lot_id);

CREATE TABLE custody_transformations (
    id         uuid PRIMARY KEY,
    process    text NOT NULL,
    org_id     uuid NOT NULL,
    at         timestamptz NOT NULL,
    inputs     text NOT NULL,
    outputs    text NOT NULL,
    losses     text NOT NULL,
    event_id   text NOT NULL,
    created_at timestamptz NOT NULL
);

-- Every accepted event: a leaf of the Merkle log (leaf_index is also the custody feed's sequence).
CREATE TABLE custody_events (
    leaf_index   bigint PRIMARY KEY,
    event_id     text NOT NULL UNIQUE,       -- EPCIS eventID
    event_hash   text NOT NULL,              -- ni:///sha-256;...?ver=CBV2.0
    event_type   text NOT NULL,
    action       text NOT NULL,              -- ours (collect, dismantling...) or the EPCIS action
    biz_step     text,
    biz_location text,
    event_time   timestamptz NOT NULL,
    org_id       uuid NOT NULL,              -- who recorded it
    document     text NOT NULL,              -- the exact stored EPCIS event
    data         text NOT NULL,              -- what the custody feed says of it (subjects, element masses)
    leaf_hash    bytea NOT NULL,
    recorded_at  timestamptz NOT NULL
);
CREATE INDEX custody_events_time ON custody_events (event_time, leaf_index);
CREATE INDEX custody_events_step ON custody_events (biz_step, leaf_index);

-- Identifiers an event names, for EPCIS queries (MATCH_anyEPC, MATCH_epcClass).
CREATE TABLE custody_event_epcs (
    leaf_index bigint NOT NULL REFERENCES custody_events (leaf_index),
    epc        text NOT NULL,
    role       text NOT NULL,                -- epc, class, input, output, parent, child
    PRIMARY KEY (leaf_index, epc, role)
);
CREATE INDEX custody_event_epcs_epc ON custody_event_epcs (epc, leaf_index);

-- Each product's and lot's hash chain: link n = SHA-256(link n-1 || event digest).
CREATE TABLE custody_chain (
    subject_id uuid NOT NULL,
    seq        bigint NOT NULL,
    leaf_index bigint NOT NULL REFERENCES custody_events (leaf_index),
    link       bytea NOT NULL,
    PRIMARY KEY (subject_id, seq)
);
CREATE INDEX custody_chain_leaf ON custody_chain (leaf_index);

-- The Merkle log: hashes of every perfect subtree; level 0 are the leaves.
CREATE TABLE custody_log_nodes (
    level bigint NOT NULL,
    idx   bigint NOT NULL,
    hash  bytea NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE custody_log_head (
    id   integer PRIMARY KEY CHECK (id = 1),
    size bigint NOT NULL
);
INSERT INTO custody_log_head (id, size) VALUES (1, 0);

CREATE TABLE custody_checkpoints (
    size       bigint PRIMARY KEY,
    root       bytea NOT NULL,
    note       text NOT NULL,                -- the C2SP signed note
    created_at timestamptz NOT NULL
);

-- The key the log signs its checkpoints with, sealed under the master key.
CREATE TABLE custody_log_keys (
    name          text PRIMARY KEY,
    public_key    bytea NOT NULL,
    sealed_secret bytea NOT NULL,
    created_at    timestamptz NOT NULL
);

-- Recycled content claimed from lots by passports (reserved until the passport is seen).
CREATE TABLE custody_claims (
    claim_id    uuid NOT NULL,
    lot_id      uuid NOT NULL REFERENCES custody_lots (lot_id),
    passport_id uuid NOT NULL,
    org_id      uuid NOT NULL,
    element     text NOT NULL,
    mass_ug     bigint NOT NULL,
    status      text NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (claim_id, lot_id, element)
);
CREATE INDEX custody_claims_passport ON custody_claims (passport_id);

CREATE TABLE custody_cursors (
    stream   text PRIMARY KEY,
    position bigint NOT NULL
);
CREATE TABLE custody_inbox (
    event_id text PRIMARY KEY
);

CREATE TABLE custody_idempotency (
    org_id       uuid NOT NULL,
    key          text NOT NULL,
    fingerprint  bytea NOT NULL,
    status       bigint NOT NULL,
    content_type text NOT NULL,
    body         text NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (org_id, key)
);

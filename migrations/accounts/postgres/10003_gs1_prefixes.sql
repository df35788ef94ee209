-- The GS1 identities each organisation holds: company prefixes and single GTINs, by their
-- digits in the GTIN-13 form of the GTINs they cover (after a GTIN-14's indicator digit, without
-- the check digit; a U.P.C. prefix with its leading zero, a single GTIN as 12 digits). A GTIN
-- is under an entry when those digits start with it; entries of different organisations never
-- overlap (checked when one is added, under a table lock). `grandfathered` marks the GTINs
-- recorded from passports and lots registered before organisations held prefixes.
CREATE TABLE gs1_prefixes (
    prefix        text PRIMARY KEY CHECK (length(prefix) BETWEEN 4 AND 12),
    org_id        uuid NOT NULL REFERENCES orgs (id),
    kind          text NOT NULL CHECK (kind IN ('company_prefix', 'upc_company_prefix', 'gtin')),
    grandfathered boolean NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX gs1_prefixes_org ON gs1_prefixes (org_id, prefix);

-- GTINs registered before organisations held prefixes are grandfathered once, by the first start
-- after this migration (reetrace's `grandfather` module, after every service's migrations: the
-- passports and lots are other services' tables), which then deletes this row.
CREATE TABLE gs1_grandfathering (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1)
);
INSERT INTO gs1_grandfathering (id) VALUES (1);

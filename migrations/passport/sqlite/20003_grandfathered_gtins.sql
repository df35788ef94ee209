-- GTINs registered before organisations held GS1 prefixes (migrations/accounts, 10003): a
-- company prefix's length cannot be read off its GTINs, so each GTIN's first registrant (its
-- earliest passport) is recorded as holding that exact GTIN (its 12 digits after the indicator,
-- covering the GTIN-14s of its groupings too). A later registrant of the same GTIN (a squat)
-- gets nothing: its passports stay, but it registers no more under that GTIN. Admins add the
-- real prefixes through the API.
INSERT INTO gs1_prefixes (prefix, org_id, kind, grandfathered, created_at)
SELECT digits, org_id, 'gtin', TRUE, created_at FROM (
    SELECT substr(gtin, 2, 12) AS digits, org_id, created_at,
           row_number() OVER (PARTITION BY substr(gtin, 2, 12) ORDER BY created_at, id) AS n
    FROM passports
    WHERE gtin IS NOT NULL
) AS registrants
WHERE n = 1 AND org_id IN (SELECT id FROM orgs)
ON CONFLICT DO NOTHING;

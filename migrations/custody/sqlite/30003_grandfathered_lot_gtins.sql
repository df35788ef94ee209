-- GTINs recyclers gave their output lots before organisations held GS1 prefixes
-- (migrations/accounts, 10003): as for passports (migrations/passport, 20003), the first
-- organisation to use a GTIN (its earliest lot's transformation) is recorded as holding it,
-- unless an organisation holds it already (passports were recorded first).
INSERT INTO gs1_prefixes (prefix, org_id, kind, grandfathered, created_at)
SELECT digits, org_id, 'gtin', TRUE, created_at FROM (
    SELECT substr(l.gtin, 2, 12) AS digits, t.org_id, l.created_at,
           row_number() OVER (PARTITION BY substr(l.gtin, 2, 12) ORDER BY l.created_at, l.lot_id) AS n
    FROM custody_lots l JOIN custody_transformations t ON t.id = l.transformation_id
    WHERE l.gtin IS NOT NULL
) AS registrants
WHERE n = 1 AND org_id IN (SELECT id FROM orgs)
ON CONFLICT DO NOTHING;

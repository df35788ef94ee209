-- A sixth role, `surveyor` (records residue deposits).
ALTER TABLE orgs DROP CONSTRAINT orgs_role_check;
ALTER TABLE orgs ADD CONSTRAINT orgs_role_check
    CHECK (role IN ('manufacturer', 'recycler', 'regulator', 'admin', 'service', 'surveyor'));

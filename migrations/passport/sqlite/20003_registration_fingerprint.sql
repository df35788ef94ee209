-- What each version was made from: SHA-256 of the JCS bytes of its normalised registration, so
-- that a PUT with the same registration answers the current version instead of signing a new
-- one. NULL for versions issued before (their registration is not kept whole): they never match.
ALTER TABLE passport_versions ADD COLUMN registration_fingerprint BLOB;

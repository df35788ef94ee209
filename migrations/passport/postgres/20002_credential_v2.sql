-- The v2 passport credential (docs/credential.md): which form a version was issued in (NULL:
-- issued before forms were told apart, which is v1), the detached JWS of a v2 credential
-- (header and signature; the payload is the credential's JCS bytes), and the signed placement
-- declaration that carries the market facts a v2 credential leaves out.
ALTER TABLE passport_versions ADD COLUMN format bigint CHECK (format IN (1, 2));
ALTER TABLE passport_versions ADD COLUMN credential_jws text;
ALTER TABLE passport_versions ADD COLUMN placement text COMPRESSION lz4;

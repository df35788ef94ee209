-- The event hash version each event's hash was computed with. Events stored before it were
-- hashed with version 1 (they get it here); they keep that hash and their id, and capture
-- recognises them by it. NULL (a row restored from an archive made before this column) also
-- means version 1.
ALTER TABLE custody_events ADD COLUMN hash_version INTEGER DEFAULT 1;

-- A random salt per event that every new leaf commits to (through its record digest), so that a
-- leaf hash served to a key not involved in the event cannot be matched against guessed event
-- content. Events stored before it have none (their leaves do not commit to one).
ALTER TABLE custody_events ADD COLUMN salt BYTEA;

-- Profiles are keyed by an integer id; the name (≤ 64 characters, see settings.py) is stored
-- once, in `profile`. It was the key of every `resolved` row and of its index entries, so a
-- long name multiplied the size of the database by its length (a 1,000,000-character name:
-- 6.7 MB → 4.7 GB). Queries name a profile by `(SELECT id FROM profile WHERE name = ?)`.
--
-- The tables are made again under new names and renamed into place (SQLite cannot change a
-- key's type); the view and the trigger that name them go first and are made again after.
DROP VIEW IF EXISTS enabled_entry;
DROP TRIGGER IF EXISTS entry_ad_resolved;

CREATE TABLE profile_v12 (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    config      TEXT NOT NULL DEFAULT '{}',  -- the settings it was made from (JSON)
    config_hash TEXT NOT NULL DEFAULT ''
) STRICT;
INSERT INTO profile_v12 (name, config, config_hash)
SELECT id, config, config_hash FROM profile ORDER BY id;
-- Choices could be stored for a profile never saved (no foreign key): such a profile is the
-- user's, as every profile made before owners was.
INSERT INTO profile_v12 (name)
SELECT DISTINCT profile_id FROM profile_choice
WHERE profile_id NOT IN (SELECT name FROM profile_v12) ORDER BY profile_id;

CREATE TABLE profile_pack_v12 (
    profile_id INTEGER NOT NULL REFERENCES profile_v12(id) ON DELETE CASCADE,
    pack_id    TEXT NOT NULL,   -- may name a pack that is not installed (yet)
    priority   INTEGER NOT NULL,
    PRIMARY KEY (profile_id, pack_id)
) STRICT, WITHOUT ROWID;
INSERT INTO profile_pack_v12 (profile_id, pack_id, priority)
SELECT p.id, pp.pack_id, pp.priority FROM profile_pack pp JOIN profile_v12 p ON p.name = pp.profile_id;

CREATE TABLE profile_collection_v12 (
    profile_id INTEGER NOT NULL REFERENCES profile_v12(id) ON DELETE CASCADE,
    pack_id    TEXT NOT NULL,
    collection TEXT NOT NULL,
    priority   INTEGER NOT NULL,
    PRIMARY KEY (profile_id, pack_id, collection)
) STRICT, WITHOUT ROWID;
INSERT INTO profile_collection_v12 (profile_id, pack_id, collection, priority)
SELECT p.id, pc.pack_id, pc.collection, pc.priority
FROM profile_collection pc JOIN profile_v12 p ON p.name = pc.profile_id;

CREATE TABLE profile_choice_v12 (
    profile_id INTEGER NOT NULL REFERENCES profile_v12(id) ON DELETE CASCADE,
    pack_id    TEXT NOT NULL,
    collection TEXT NOT NULL DEFAULT '',
    enabled    INTEGER CHECK (enabled IN (0, 1)),
    priority   INTEGER,
    PRIMARY KEY (profile_id, pack_id, collection)
) STRICT, WITHOUT ROWID;
INSERT INTO profile_choice_v12 (profile_id, pack_id, collection, enabled, priority)
SELECT p.id, pc.pack_id, pc.collection, pc.enabled, pc.priority
FROM profile_choice pc JOIN profile_v12 p ON p.name = pc.profile_id;

CREATE TABLE resolved_v12 (
    profile_id INTEGER NOT NULL,
    entry_id   INTEGER NOT NULL,
    shadows    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (profile_id, entry_id)
) STRICT, WITHOUT ROWID;
INSERT INTO resolved_v12 (profile_id, entry_id, shadows)
SELECT p.id, r.entry_id, r.shadows FROM resolved r JOIN profile_v12 p ON p.name = r.profile_id;

-- Children first: dropping `profile` deletes its rows, and their cascade finds nothing left.
DROP TABLE resolved;
DROP TABLE profile_choice;
DROP TABLE profile_collection;
DROP TABLE profile_pack;
DROP TABLE profile;
ALTER TABLE profile_v12 RENAME TO profile;  -- the children's references follow the rename
ALTER TABLE profile_pack_v12 RENAME TO profile_pack;
ALTER TABLE profile_collection_v12 RENAME TO profile_collection;
ALTER TABLE profile_choice_v12 RENAME TO profile_choice;
ALTER TABLE resolved_v12 RENAME TO resolved;

-- As in 0002, with the profile's integer id.
CREATE VIEW enabled_entry AS
SELECT pp.profile_id, e.id AS entry_id, e.pack_id, e.collection, e.slug,
       coalesce(pc.priority, pp.priority) AS priority
FROM entry e
JOIN profile_pack pp ON pp.pack_id = e.pack_id
LEFT JOIN profile_collection pc
       ON pc.profile_id = pp.profile_id AND pc.pack_id = e.pack_id AND pc.collection = e.collection;

CREATE INDEX resolved_by_entry ON resolved (entry_id);
CREATE TRIGGER entry_ad_resolved AFTER DELETE ON entry BEGIN
    DELETE FROM resolved WHERE entry_id = old.id;
END;

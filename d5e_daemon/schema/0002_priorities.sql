-- Per-collection priorities ("my-brew wins over srd-2014 for monsters"), the choices made with
-- `d5e packs enable|disable|setPriority`, and resolution scoped to the refs an install changed.

-- A pack's priority for one collection in a profile, where it differs from the pack's priority.
CREATE TABLE IF NOT EXISTS profile_collection (
    profile_id TEXT NOT NULL REFERENCES profile(id) ON DELETE CASCADE,
    pack_id    TEXT NOT NULL,
    collection TEXT NOT NULL,
    priority   INTEGER NOT NULL,
    PRIMARY KEY (profile_id, pack_id, collection)
) STRICT, WITHOUT ROWID;

-- What the user chose with a command, per profile; NULL means "no choice made".
-- `collection` is '' for the whole pack. Settings files (d5e.toml, the editor's) override these.
CREATE TABLE IF NOT EXISTS profile_choice (
    profile_id TEXT NOT NULL,
    pack_id    TEXT NOT NULL,
    collection TEXT NOT NULL DEFAULT '',
    enabled    INTEGER CHECK (enabled IN (0, 1)),
    priority   INTEGER,
    PRIMARY KEY (profile_id, pack_id, collection)
) STRICT, WITHOUT ROWID;

-- Every enabled entry of every profile with its effective priority: the pack's priority for the
-- entry's collection if the profile sets one, else the pack's priority.
CREATE VIEW IF NOT EXISTS enabled_entry AS
SELECT pp.profile_id, e.id AS entry_id, e.pack_id, e.collection, e.slug,
       coalesce(pc.priority, pp.priority) AS priority
FROM entry e
JOIN profile_pack pp ON pp.pack_id = e.pack_id
LEFT JOIN profile_collection pc
       ON pc.profile_id = pp.profile_id AND pc.pack_id = e.pack_id AND pc.collection = e.collection;

-- A deleted entry leaves no winner behind (upgrades delete only the entries that went away).
CREATE INDEX IF NOT EXISTS resolved_by_entry ON resolved (entry_id);
CREATE TRIGGER IF NOT EXISTS entry_ad_resolved AFTER DELETE ON entry BEGIN
    DELETE FROM resolved WHERE entry_id = old.id;
END;

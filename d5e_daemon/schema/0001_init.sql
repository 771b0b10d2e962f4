-- Packs, their entries, the keyword and name indexes, and per-profile resolution.

CREATE TABLE IF NOT EXISTS pack (
    id               TEXT PRIMARY KEY,
    title            TEXT NOT NULL,
    version          TEXT NOT NULL DEFAULT '',
    edition          TEXT,
    license          TEXT NOT NULL DEFAULT '',
    attribution      TEXT NOT NULL DEFAULT '',
    meta             TEXT NOT NULL DEFAULT '{}',   -- JSON: authors, description, homepage
    origin           TEXT NOT NULL DEFAULT '',     -- plugin name, or the folder/zip it came from
    default_priority INTEGER NOT NULL DEFAULT 0,
    content_hash     TEXT NOT NULL DEFAULT '',
    installed_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
) STRICT;

CREATE TABLE IF NOT EXISTS entry (
    id           INTEGER PRIMARY KEY,
    pack_id      TEXT NOT NULL REFERENCES pack(id) ON DELETE CASCADE,
    collection   TEXT NOT NULL,
    slug         TEXT NOT NULL,
    name         TEXT NOT NULL,
    norm_name    TEXT NOT NULL,             -- lower case, no apostrophes or punctuation
    data         TEXT NOT NULL,             -- the record, a JSON object
    body         TEXT NOT NULL DEFAULT '',  -- the record's text values, for keyword search
    content_hash TEXT NOT NULL,
    extends      TEXT,                      -- qualified ref this entry was derived from
    source_path  TEXT,
    source_line  INTEGER,
    UNIQUE (pack_id, collection, slug)
) STRICT;

CREATE INDEX IF NOT EXISTS entry_by_ref ON entry (collection, slug);
CREATE INDEX IF NOT EXISTS entry_by_norm_name ON entry (norm_name);

-- Keyword search over names and text; names weigh more (see queries.py).
CREATE VIRTUAL TABLE IF NOT EXISTS entry_fts USING fts5(
    name, body, content = 'entry', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
-- Whole words of names, for word-prefix completion ("sword" finds "Mordenkainen's Sword").
CREATE VIRTUAL TABLE IF NOT EXISTS name_words USING fts5(
    norm_name, content = 'entry', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
-- Trigrams of names padded with a space at each end (so word edges count, as in pg_trgm), the
-- candidates of typo-tolerant matching. Contentless: the padded text lives only in the index.
CREATE VIRTUAL TABLE IF NOT EXISTS name_trigrams USING fts5(
    padded_name, content = '', contentless_delete = 1, tokenize = 'trigram'
);

CREATE TRIGGER IF NOT EXISTS entry_ai AFTER INSERT ON entry BEGIN
    INSERT INTO entry_fts (rowid, name, body) VALUES (new.id, new.name, new.body);
    INSERT INTO name_words (rowid, norm_name) VALUES (new.id, new.norm_name);
    INSERT INTO name_trigrams (rowid, padded_name) VALUES (new.id, ' ' || new.norm_name || ' ');
END;

CREATE TRIGGER IF NOT EXISTS entry_ad AFTER DELETE ON entry BEGIN
    INSERT INTO entry_fts (entry_fts, rowid, name, body) VALUES ('delete', old.id, old.name, old.body);
    INSERT INTO name_words (name_words, rowid, norm_name) VALUES ('delete', old.id, old.norm_name);
    DELETE FROM name_trigrams WHERE rowid = old.id;
END;

CREATE TRIGGER IF NOT EXISTS entry_au AFTER UPDATE OF name, norm_name, body ON entry BEGIN
    INSERT INTO entry_fts (entry_fts, rowid, name, body) VALUES ('delete', old.id, old.name, old.body);
    INSERT INTO name_words (name_words, rowid, norm_name) VALUES ('delete', old.id, old.norm_name);
    DELETE FROM name_trigrams WHERE rowid = old.id;
    INSERT INTO entry_fts (rowid, name, body) VALUES (new.id, new.name, new.body);
    INSERT INTO name_words (rowid, norm_name) VALUES (new.id, new.norm_name);
    INSERT INTO name_trigrams (rowid, padded_name) VALUES (new.id, ' ' || new.norm_name || ' ');
END;

-- A profile is one workspace's (campaign's) choice of packs and their priorities.
CREATE TABLE IF NOT EXISTS profile (
    id          TEXT PRIMARY KEY,
    config      TEXT NOT NULL DEFAULT '{}',  -- the settings it was made from (JSON)
    config_hash TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE IF NOT EXISTS profile_pack (
    profile_id TEXT NOT NULL REFERENCES profile(id) ON DELETE CASCADE,
    pack_id    TEXT NOT NULL,   -- may name a pack that is not installed (yet)
    priority   INTEGER NOT NULL,
    PRIMARY KEY (profile_id, pack_id)
) STRICT, WITHOUT ROWID;

-- The winner of every ref in a profile, rebuilt (one INSERT … SELECT with window functions) in the
-- same transaction as any change to packs or profiles. `shadows` counts the entries it hides.
CREATE TABLE IF NOT EXISTS resolved (
    profile_id TEXT NOT NULL,
    entry_id   INTEGER NOT NULL,
    shadows    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (profile_id, entry_id)
) STRICT, WITHOUT ROWID;

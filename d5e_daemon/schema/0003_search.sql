-- Semantic search: per-entry attributes for filters, passages with their vectors, index state.
-- Filled by d5e_daemon/index.py (never by packs); every row hangs off an entry and goes with it.

-- One row per value of a declared filter (d5e_daemon/filters.py): `level` 3, `school`
-- 'evocation', `class` 'wizard' (several rows for several classes), `cr` 0.25. Text values are
-- lower case so filters match case-insensitively; numbers and booleans (0/1) stay numbers.
CREATE TABLE IF NOT EXISTS entry_attr (
    entry_id INTEGER NOT NULL,
    name     TEXT NOT NULL,
    value    ANY NOT NULL,
    PRIMARY KEY (name, value, entry_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entry_attr_by_entry ON entry_attr (entry_id);

-- What an entry is searched by: its index text (render_text purpose "index") split into
-- passages that fit the model's window. `text_hash` keys the vector cache.
CREATE TABLE IF NOT EXISTS passage (
    id        INTEGER PRIMARY KEY,
    entry_id  INTEGER NOT NULL,
    ord       INTEGER NOT NULL,
    model     TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    text      TEXT NOT NULL,
    UNIQUE (entry_id, ord)
) STRICT;

-- The passages' vectors (rowid = passage.id), all-MiniLM-L6-v2: 384 dimensions, cosine.
CREATE VIRTUAL TABLE IF NOT EXISTS passage_vec USING vec0(
    embedding float[384] distance_metric=cosine
);

-- How far each entry is indexed: `attrs` and `vectors` hold the key of the work done (content
-- hash + what produced it: filter declarations, renderers, model), so a changed entry, a new
-- d5e or another model is indexed again and an interrupted run resumes where it stopped.
CREATE TABLE IF NOT EXISTS entry_index (
    entry_id INTEGER PRIMARY KEY,
    attrs    TEXT,
    vectors  TEXT
) STRICT;

CREATE TRIGGER IF NOT EXISTS entry_ad_search AFTER DELETE ON entry BEGIN
    DELETE FROM passage_vec WHERE rowid IN (SELECT id FROM passage WHERE entry_id = old.id);
    DELETE FROM passage WHERE entry_id = old.id;
    DELETE FROM entry_attr WHERE entry_id = old.id;
    DELETE FROM entry_index WHERE entry_id = old.id;
END;

-- Which words of a query each entry contains (one row per term occurrence): hybrid search
-- rewards entries that contain more of the query's words (see features/search.py).
CREATE VIRTUAL TABLE IF NOT EXISTS entry_terms USING fts5vocab(entry_fts, 'instance');

-- Browsing by attributes lists winners by name: `resolved` by profile, then entries by name.
CREATE INDEX IF NOT EXISTS entry_by_collection_name ON entry (collection, norm_name);

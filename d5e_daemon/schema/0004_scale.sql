-- What keeps name matching quick with 100,000 entries (see features/complete.py).

-- Names by first letter, then length, then name: the shortest names with a common prefix
-- ("s", "dr") are read in order and the scan stops at the limit, instead of sorting the
-- thousands of names in the prefix's range.
CREATE INDEX IF NOT EXISTS entry_by_initial_length
    ON entry (substr(norm_name, 1, 1), length(norm_name), norm_name, collection);

-- How many names hold each trigram: the fuzzy tier asks the trigram index only for the
-- query's rarer trigrams (ranking every name that shares " th" or "of " is what cost time).
CREATE VIRTUAL TABLE IF NOT EXISTS name_trigram_terms USING fts5vocab(name_trigrams, 'row');

-- Index state by key alone: `entry_index.attrs` / `.vectors` hold the key of the work done for
-- the entry's current content, or NULL when there is work to do. Triggers forget the work done
-- when an entry is added or its content changes, so what is left is found through an index
-- (`attrs IS NULL`) instead of comparing every entry's content hash (seconds at 100,000).
INSERT OR IGNORE INTO entry_index (entry_id) SELECT id FROM entry;
UPDATE entry_index SET
    attrs = CASE
        WHEN instr(attrs, ':') = 0 THEN attrs
        WHEN substr(attrs, instr(attrs, ':') + 1)
             = (SELECT content_hash FROM entry WHERE id = entry_index.entry_id)
        THEN substr(attrs, 1, instr(attrs, ':') - 1)
    END,
    vectors = CASE
        WHEN instr(vectors, ':') = 0 THEN vectors
        WHEN substr(vectors, instr(vectors, ':') + 1)
             = (SELECT content_hash FROM entry WHERE id = entry_index.entry_id)
        THEN substr(vectors, 1, instr(vectors, ':') - 1)
    END;
CREATE INDEX IF NOT EXISTS entry_index_by_attrs ON entry_index (attrs);
CREATE INDEX IF NOT EXISTS entry_index_by_vectors ON entry_index (vectors);

CREATE TRIGGER IF NOT EXISTS entry_ai_index AFTER INSERT ON entry BEGIN
    INSERT INTO entry_index (entry_id) VALUES (new.id)
        ON CONFLICT (entry_id) DO UPDATE SET attrs = NULL, vectors = NULL;
END;
CREATE TRIGGER IF NOT EXISTS entry_au_index AFTER UPDATE OF content_hash ON entry
WHEN new.content_hash IS NOT old.content_hash BEGIN
    UPDATE entry_index SET attrs = NULL, vectors = NULL WHERE entry_id = new.id;
END;

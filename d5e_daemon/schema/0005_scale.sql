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

-- How many entries hold each word: keyword search leaves out the words that more than half of
-- all entries hold (their BM25 weight is nil, yet reading their lists cost most of the time).
CREATE VIRTUAL TABLE IF NOT EXISTS entry_text_rows USING fts5vocab(entry_text, 'row');

-- Passage vectors for 100,000 entries (270,000 passages). sqlite-vec's KNN costs grow with
-- vectors x k (its top-k is a selection pass per wanted row): 100 nearest of 270,000 float
-- vectors took 170 ms, of bit vectors 35 ms. So (see retrieval.py and docs/benchmarks.md):
-- each passage has a 384-bit code (the sign of each dimension), scanned in memory with
-- numpy, and the best candidates are scored exactly against their float32 vector here.
CREATE TABLE IF NOT EXISTS passage_vector (
    id        INTEGER PRIMARY KEY,   -- passage.id
    embedding BLOB NOT NULL          -- float32[384], little-endian, unit length
) STRICT;
CREATE TABLE IF NOT EXISTS passage_code (
    id   INTEGER PRIMARY KEY,        -- passage.id
    bits BLOB NOT NULL               -- vec_quantize_binary(embedding): 48 bytes
) STRICT;
INSERT OR IGNORE INTO passage_vector (id, embedding) SELECT rowid, embedding FROM passage_vec;
INSERT OR IGNORE INTO passage_code (id, bits)
    SELECT id, vec_quantize_binary(embedding) FROM passage_vector;
-- The vec0 table is no longer read or written; it stays, empty, because the delete trigger of
-- 0003 names it (dropping and creating it again frees its storage and keeps this idempotent).
DROP TABLE IF EXISTS passage_vec;
CREATE VIRTUAL TABLE IF NOT EXISTS passage_vec USING vec0(
    embedding float[384] distance_metric=cosine
);
CREATE TRIGGER IF NOT EXISTS passage_ad_vector AFTER DELETE ON passage BEGIN
    DELETE FROM passage_vector WHERE id = old.id;
    DELETE FROM passage_code WHERE id = old.id;
END;

-- Keyword search scores rows itself (search/postings.py) instead of asking FTS5's bm25, which
-- reads each matching row's positions (~0.5 µs a row: 10,000-160,000 rows a query at 100,000
-- entries) and walks each query word's whole list again for its idf in every statement. What
-- bm25 needs of a row is kept here, beside `entry_text`, by the code that writes it
-- (queries/postings.py, called by save_keyword_texts, delete_pack, delete_entries): for each
-- term and each block of 4,096 entry ids, the rows holding the term with how often it occurs in
-- the name column and in the others; for each block, every row's size in tokens. The scores are
-- FTS5's own to the bit (docs/search.md); `keyword_state.built` = 0 while they are not kept
-- (before a first build, or while many texts are rewritten), and search then asks FTS5.
CREATE TABLE IF NOT EXISTS keyword_posting (
    id    INTEGER PRIMARY KEY,
    term  TEXT NOT NULL,
    chunk INTEGER NOT NULL,   -- entry id >> 12
    ids   BLOB NOT NULL,      -- uint16 little-endian: entry id & 4095, ascending
    freqs BLOB NOT NULL,      -- uint16 (or uint32) little-endian: the name counts, then the others'
    UNIQUE (term, chunk)
) STRICT;
CREATE INDEX IF NOT EXISTS keyword_posting_by_chunk ON keyword_posting (chunk);

CREATE TABLE IF NOT EXISTS keyword_size (
    chunk INTEGER PRIMARY KEY, -- entry id >> 12
    sizes BLOB NOT NULL        -- uint32 little-endian [4096]: tokens of each row (0: no row)
) STRICT;

CREATE TABLE IF NOT EXISTS keyword_state (
    built  INTEGER NOT NULL,   -- 1: every row of entry_text is kept here
    rows   INTEGER NOT NULL,   -- rows and tokens kept: FTS5's totals when in step
    tokens INTEGER NOT NULL
) STRICT;
INSERT INTO keyword_state (built, rows, tokens)
    SELECT NOT EXISTS (SELECT 1 FROM entry_text), 0, 0
    WHERE NOT EXISTS (SELECT 1 FROM keyword_state);

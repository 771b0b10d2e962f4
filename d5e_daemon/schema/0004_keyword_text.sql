-- Keyword search reads what vector search reads: each entry's index text (render_text purpose
-- "index": what it is and does, in the words players use), not the flattened record with its
-- stat-block numbers. Filled by d5e_daemon/index.py with the filter attributes (phase 1, before
-- any search), for every entry; `aliases` holds other ways players write the text's values
-- (`d6` for `3d6`), searched but never shown. The tokenizer is entry_fts's (queries.py).
CREATE VIRTUAL TABLE IF NOT EXISTS entry_text USING fts5(
    name, text, aliases,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

-- Which words of a query each entry contains: hybrid search rewards entries that contain more
-- of them (see features/search.py).
CREATE VIRTUAL TABLE IF NOT EXISTS entry_text_terms USING fts5vocab(entry_text, 'instance');

CREATE TRIGGER IF NOT EXISTS entry_ad_text AFTER DELETE ON entry BEGIN
    DELETE FROM entry_text WHERE rowid = old.id;
END;

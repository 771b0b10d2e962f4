-- The other names an entry is found by (d5e_daemon/names.py): declared `aliases` (homebrew,
-- 5etools' `alias`, the SRD's product names) and the natural order of inverted names
-- ("Ghoul, Darakhul" → "Darakhul Ghoul", "Darakhul"). Derived from the entries by
-- queries.refresh_aliases whenever a pack is written; matched after the names themselves.
CREATE TABLE IF NOT EXISTS entry_alias (
    id        INTEGER PRIMARY KEY,
    entry_id  INTEGER NOT NULL,
    name      TEXT NOT NULL,
    norm_name TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('alias', 'inverted'))
) STRICT;
CREATE INDEX IF NOT EXISTS entry_alias_by_norm_name ON entry_alias (norm_name);
CREATE INDEX IF NOT EXISTS entry_alias_by_entry ON entry_alias (entry_id);

-- Whole words of aliases, for word-prefix completion ("sword" finds "Mordenkainen's Sword").
CREATE VIRTUAL TABLE IF NOT EXISTS alias_words USING fts5(
    norm_name, content = 'entry_alias', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);

CREATE TRIGGER IF NOT EXISTS entry_alias_ai AFTER INSERT ON entry_alias BEGIN
    INSERT INTO alias_words (rowid, norm_name) VALUES (new.id, new.norm_name);
END;
CREATE TRIGGER IF NOT EXISTS entry_alias_ad AFTER DELETE ON entry_alias BEGIN
    INSERT INTO alias_words (alias_words, rowid, norm_name) VALUES ('delete', old.id, old.norm_name);
END;
CREATE TRIGGER IF NOT EXISTS entry_ad_alias AFTER DELETE ON entry BEGIN
    DELETE FROM entry_alias WHERE entry_id = old.id;
END;

-- The entries already installed get theirs (the same statements as queries.refresh_aliases).
INSERT INTO entry_alias (entry_id, name, norm_name, kind)
SELECT DISTINCT e.id, trim(a.value), d5e_norm(a.value), 'alias'
FROM entry e, json_each(e.data, '$.aliases') a
WHERE json_type(e.data, '$.aliases') = 'array' AND a.type = 'text'
  AND d5e_norm(a.value) NOT IN ('', e.norm_name);
INSERT INTO entry_alias (entry_id, name, norm_name, kind)
SELECT DISTINCT e.id, f.value, d5e_norm(f.value), 'inverted'
FROM entry e, json_each(d5e_inverted(e.name, e.collection)) f
WHERE e.name LIKE '%,%' AND d5e_norm(f.value) != e.norm_name
  AND NOT EXISTS (SELECT 1 FROM entry_alias x
                  WHERE x.entry_id = e.id AND x.norm_name = d5e_norm(f.value));

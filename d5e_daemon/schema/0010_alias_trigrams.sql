-- Typo-tolerant matching of aliases (matching.py's fuzzy tier): "mordenkainen swrod" finds the
-- SRD's Arcane Sword by its alias "Mordenkainen's Sword", as "arcane swrod" finds it by name.
-- The same shape as name_trigrams: the padded normalised alias, trigram-tokenised, contentless.
CREATE VIRTUAL TABLE IF NOT EXISTS alias_trigrams USING fts5(
    padded_name, content = '', contentless_delete = 1, tokenize = 'trigram'
);
CREATE VIRTUAL TABLE IF NOT EXISTS alias_trigram_terms USING fts5vocab(alias_trigrams, 'row');

CREATE TRIGGER IF NOT EXISTS entry_alias_ai_trigrams AFTER INSERT ON entry_alias BEGIN
    INSERT INTO alias_trigrams (rowid, padded_name) VALUES (new.id, ' ' || new.norm_name || ' ');
END;
CREATE TRIGGER IF NOT EXISTS entry_alias_ad_trigrams AFTER DELETE ON entry_alias BEGIN
    DELETE FROM alias_trigrams WHERE rowid = old.id;
END;

INSERT INTO alias_trigrams (rowid, padded_name) SELECT id, ' ' || norm_name || ' ' FROM entry_alias;

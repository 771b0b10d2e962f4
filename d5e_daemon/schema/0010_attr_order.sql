-- Listings by filter ("monsters resistant to cold", by name, 20 a page) read the entries having a
-- value in the order they are listed and stop at the page, whatever the number of matches: each
-- attribute row carries its entry's listing order, `norm_name`, `collection` and `pack_id`
-- joined by char(1) (so a name sorts before the longer names it begins), kept by save_attrs and by
-- the trigger below when an entry is renamed in place.
ALTER TABLE entry_attr ADD COLUMN sort_key TEXT NOT NULL DEFAULT '';

UPDATE entry_attr SET sort_key = (
    SELECT e.norm_name || char(1) || e.collection || char(1) || e.pack_id
    FROM entry e WHERE e.id = entry_attr.entry_id);

CREATE INDEX IF NOT EXISTS entry_attr_in_order ON entry_attr (name, value, sort_key);

CREATE TRIGGER IF NOT EXISTS entry_au_attr_order AFTER UPDATE OF norm_name ON entry
WHEN old.norm_name IS NOT new.norm_name BEGIN
    UPDATE entry_attr
    SET sort_key = new.norm_name || char(1) || new.collection || char(1) || new.pack_id
    WHERE entry_id = new.id;
END;

-- Listings by filter ("monsters resistant to cold", by name, 20 a page) read the entries having a
-- value in the order they are listed and stop at the page, whatever the number of matches:
-- `entry_attr_order` holds every attribute row with its entry's listing order, `norm_name`,
-- `collection` and `pack_id` joined by char(1) (so a name sorts before the longer names it
-- begins). Kept by triggers: as attributes are written and removed, and when an entry is renamed
-- in place.
CREATE TABLE IF NOT EXISTS entry_attr_order (
    name     TEXT NOT NULL,
    value    ANY NOT NULL,
    sort_key TEXT NOT NULL,
    entry_id INTEGER NOT NULL,
    PRIMARY KEY (name, value, sort_key, entry_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entry_attr_order_by_entry ON entry_attr_order (entry_id);

INSERT OR IGNORE INTO entry_attr_order (name, value, sort_key, entry_id)
SELECT a.name, a.value, e.norm_name || char(1) || e.collection || char(1) || e.pack_id, a.entry_id
FROM entry_attr a JOIN entry e ON e.id = a.entry_id;

CREATE TRIGGER IF NOT EXISTS entry_attr_ai_order AFTER INSERT ON entry_attr BEGIN
    INSERT OR IGNORE INTO entry_attr_order (name, value, sort_key, entry_id)
    SELECT new.name, new.value, e.norm_name || char(1) || e.collection || char(1) || e.pack_id,
           new.entry_id
    FROM entry e WHERE e.id = new.entry_id;
END;

CREATE TRIGGER IF NOT EXISTS entry_attr_ad_order AFTER DELETE ON entry_attr BEGIN
    DELETE FROM entry_attr_order
    WHERE entry_id = old.entry_id AND name = old.name AND value = old.value;
END;

CREATE TRIGGER IF NOT EXISTS entry_au_attr_order AFTER UPDATE OF norm_name ON entry
WHEN old.norm_name IS NOT new.norm_name BEGIN
    UPDATE entry_attr_order
    SET sort_key = new.norm_name || char(1) || new.collection || char(1) || new.pack_id
    WHERE entry_id = new.id;
END;

-- A passage id is never given twice. Without this, SQLite gives a new row the largest id plus
-- one, so when the passages with the largest ids are deleted (their entry indexed again, their
-- pack removed) the next ones take the same ids, and a reader that holds the passages' vectors
-- in memory by id (search/passages.py: new passages are those above the last id it read) keeps
-- the old vectors. `passage_last_id` is the largest id ever given; queries.save_passages gives
-- the next.
CREATE TABLE IF NOT EXISTS passage_last_id (
    id INTEGER NOT NULL
) STRICT;
INSERT INTO passage_last_id (id)
    SELECT coalesce((SELECT max(id) FROM passage), 0)
    WHERE NOT EXISTS (SELECT 1 FROM passage_last_id);
CREATE TRIGGER IF NOT EXISTS passage_ai_last_id AFTER INSERT ON passage BEGIN
    UPDATE passage_last_id SET id = max(id, new.id);
END;

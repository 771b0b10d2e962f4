-- Packs whose install read entries of another pack besides the bases they extend: a loader's
-- `derive` reads them through `find` (5etools' monster templates). When the pack read changes
-- or goes, the reader is read again, as a pack extending it is (queries.packs_extending).
CREATE TABLE IF NOT EXISTS pack_read (
    pack_id   TEXT NOT NULL REFERENCES pack (id) ON DELETE CASCADE,
    read_pack TEXT NOT NULL,
    PRIMARY KEY (pack_id, read_pack)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pack_read_by_read ON pack_read (read_pack);

-- Names with letters no Unicode decomposition takes apart (Æ, Œ, Ø, ß, Ð, Đ, Þ, Ł, ı) are matched
-- as English writes them: "Ætherfang" is "aetherfang", no longer "therfang" (text.normalize).
-- The names installed before are normalised again; ASCII names are unchanged. An entry's update
-- keeps its word and trigram indexes (entry_au); an alias is written anew (its indexes follow
-- inserts and deletes only).
UPDATE entry SET norm_name = d5e_norm(name)
WHERE name GLOB '*[^ -~]*' AND norm_name != d5e_norm(name);
CREATE TEMP TABLE stale_alias AS
SELECT id FROM entry_alias WHERE name GLOB '*[^ -~]*' AND norm_name != d5e_norm(name);
INSERT INTO entry_alias (entry_id, name, norm_name, kind)
SELECT entry_id, name, d5e_norm(name), kind FROM entry_alias WHERE id IN stale_alias;
DELETE FROM entry_alias WHERE id IN stale_alias;
DROP TABLE stale_alias;

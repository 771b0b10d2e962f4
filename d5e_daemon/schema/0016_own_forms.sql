-- A creature split into forms is called by its bare name in its own form: "Vampire" is
-- "Vampire, Vampire Form", "Werewolf" is "Werewolf, Human Form" (names.inverted_forms). The
-- entries already installed get the inverted forms they lack (the statement of
-- queries.refresh_aliases, over every pack); the forms they had are unchanged.
INSERT INTO entry_alias (entry_id, name, norm_name, kind)
SELECT DISTINCT e.id, f.value, d5e_norm(f.value), 'inverted'
FROM entry e, json_each(d5e_inverted(e.name, e.collection)) f
WHERE e.name LIKE '%,%' AND d5e_norm(f.value) != e.norm_name
  AND NOT EXISTS (SELECT 1 FROM entry_alias x
                  WHERE x.entry_id = e.id AND x.norm_name = d5e_norm(f.value))
  AND NOT EXISTS (SELECT 1 FROM entry o INDEXED BY entry_by_collection_name
                  WHERE o.collection = e.collection AND o.norm_name = d5e_norm(f.value));

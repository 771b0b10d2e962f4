-- The second part of a creature's inverted name alone is a derived name only when it is a name
-- of its own ("Ghoul, Darakhul": "Darakhul"), not a part that only qualifies the first ("Imp,
-- enhanced" and "Lemure, enhanced" were both "enhanced", "Rat, Giant" "Giant"): names.derived_forms,
-- which d5e_inverted now returns. The entries installed lose the derived names it no longer gives.
DELETE FROM entry_alias
WHERE kind = 'inverted'
  AND entry_id IN (SELECT id FROM entry WHERE name LIKE '%,%')
  AND norm_name NOT IN (
      SELECT d5e_norm(f.value)
      FROM entry e, json_each(d5e_inverted(e.name, e.collection)) f
      WHERE e.id = entry_alias.entry_id);

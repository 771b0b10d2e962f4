-- The other names a creature's own name holds (names.derived_forms, which d5e_inverted now
-- returns): what its bracket holds when it is a name, not a qualifier ("Koralk (Harvester
-- Devil)" is "Harvester Devil", "Deep Gnome (Svirfneblin)" "Svirfneblin"; not "Giant Rat
-- (Diseased)", "Vampire (Variant)", "Zombie (XMM)"), a name inverted twice ("Devil, Infernal
-- Tutor, Lesser" is "Lesser Infernal Tutor"), and no longer an adjective or "Deep" alone
-- ("Ghoul, Imperial", "Gnome, Deep"). The entries installed get the derived names they lack and
-- lose those no longer derived (as 0021).
DELETE FROM entry_alias
WHERE kind = 'inverted'
  AND entry_id IN (SELECT id FROM entry WHERE name LIKE '%,%' OR name LIKE '%)')
  AND norm_name NOT IN (
      SELECT d5e_norm(f.value)
      FROM entry e, json_each(d5e_inverted(e.name, e.collection)) f
      WHERE e.id = entry_alias.entry_id);
INSERT INTO entry_alias (entry_id, name, norm_name, kind)
SELECT DISTINCT e.id, f.value, d5e_norm(f.value), 'inverted'
FROM entry e, json_each(d5e_inverted(e.name, e.collection)) f
WHERE (e.name LIKE '%,%' OR e.name LIKE '%)')
  AND d5e_norm(f.value) != e.norm_name
  AND NOT EXISTS (SELECT 1 FROM entry_alias x
                  WHERE x.entry_id = e.id AND x.norm_name = d5e_norm(f.value));

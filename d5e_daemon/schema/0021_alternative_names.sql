-- The names people and 5etools write for the SRD's ("Rope, hempen (50 feet)" is 5etools'
-- "Hempen Rope (50 feet)", "Flask or tankard" its "Flask"): names.derived_forms, which
-- d5e_inverted now returns, keeps a bracketed qualifier at the end of an inverted name ("hempen
-- Rope (50 feet)", was "hempen (50 feet) Rope") and reads a name of two alternatives as each.
-- The entries installed get the derived names they lack and lose those no longer derived.
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
WHERE (e.name LIKE '%,%' OR e.name LIKE '%)' OR e.name LIKE '% or %')
  AND d5e_norm(f.value) != e.norm_name
  AND NOT EXISTS (SELECT 1 FROM entry_alias x
                  WHERE x.entry_id = e.id AND x.norm_name = d5e_norm(f.value));

-- An alternative alone, as a name without its bracketed qualifier, never takes a winner's own
-- name, whatever the priorities: the SRD 2014's "Flask or tankard" leaves "flask" to the SRD
-- 2024's Flask (0020 otherwise).
DROP VIEW IF EXISTS name_contest;
CREATE VIEW name_contest AS
SELECT ra.profile_id, a.norm_name, a.id AS alias_id, x.id AS derived_id, o.id AS named_id,
       px.priority > po.priority AND x.name NOT LIKE '%)' AND x.name NOT LIKE '% or %'
           AS derived_wins
FROM entry_alias a INDEXED BY entry_alias_inverted
CROSS JOIN entry x ON x.id = a.entry_id
CROSS JOIN resolved ra ON ra.entry_id = x.id
CROSS JOIN entry o INDEXED BY entry_by_collection_name
    ON o.collection = x.collection AND o.norm_name = a.norm_name
CROSS JOIN resolved ro ON ro.entry_id = o.id AND ro.profile_id = ra.profile_id
CROSS JOIN enabled_entry px ON px.profile_id = ra.profile_id AND px.entry_id = x.id
CROSS JOIN enabled_entry po ON po.profile_id = ra.profile_id AND po.entry_id = o.id
WHERE a.kind = 'inverted';

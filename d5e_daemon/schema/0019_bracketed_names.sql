-- A name that ends in a qualifier in brackets is also found without it ("Holy water (flask)" is
-- "Holy water", a homebrew "Gutripper (Vampire)" "Gutripper"): names.derived_forms, which
-- d5e_inverted now returns. The entries installed get the derived names they lack; which entry
-- such a name means in a profile is decided as for the others (name_contest, 0018).
INSERT INTO entry_alias (entry_id, name, norm_name, kind)
SELECT DISTINCT e.id, f.value, d5e_norm(f.value), 'inverted'
FROM entry e, json_each(d5e_inverted(e.name, e.collection)) f
WHERE e.name LIKE '%)' AND d5e_norm(f.value) != e.norm_name
  AND NOT EXISTS (SELECT 1 FROM entry_alias x
                  WHERE x.entry_id = e.id AND x.norm_name = d5e_norm(f.value));

-- A name without its bracketed qualifier never takes a winner's own name, whatever the
-- priorities: "Zombie (Minion)" is a kind of zombie, so "zombie" stays the Zombie's (an inverted
-- form still goes by priority, as in 0018: a homebrew "Vampire" at 50 takes "vampire").
DROP VIEW IF EXISTS name_contest;
CREATE VIEW name_contest AS
SELECT ra.profile_id, a.norm_name, a.id AS alias_id, x.id AS derived_id, o.id AS named_id,
       px.priority > po.priority AND x.name NOT LIKE '%)' AS derived_wins
FROM entry_alias a INDEXED BY entry_alias_inverted
CROSS JOIN entry x ON x.id = a.entry_id
CROSS JOIN resolved ra ON ra.entry_id = x.id
CROSS JOIN entry o INDEXED BY entry_by_collection_name
    ON o.collection = x.collection AND o.norm_name = a.norm_name
CROSS JOIN resolved ro ON ro.entry_id = o.id AND ro.profile_id = ra.profile_id
CROSS JOIN enabled_entry px ON px.profile_id = ra.profile_id AND px.entry_id = x.id
CROSS JOIN enabled_entry po ON po.profile_id = ra.profile_id AND po.entry_id = o.id
WHERE a.kind = 'inverted';

-- A derived name (an inverted form: "Darakhul" of "Ghoul, Darakhul", "Vampire" of "Vampire,
-- Vampire Form") is stored whatever else is installed, so that it depends on the entry alone,
-- not on the order packs were installed in (0007 and 0016 left out a form that some installed
-- entry was named: once that entry's pack went, the form was missing until its own pack was
-- installed again). The entries installed get the forms they lack.
INSERT INTO entry_alias (entry_id, name, norm_name, kind)
SELECT DISTINCT e.id, f.value, d5e_norm(f.value), 'inverted'
FROM entry e, json_each(d5e_inverted(e.name, e.collection)) f
WHERE e.name LIKE '%,%' AND d5e_norm(f.value) != e.norm_name
  AND NOT EXISTS (SELECT 1 FROM entry_alias x
                  WHERE x.entry_id = e.id AND x.norm_name = d5e_norm(f.value));
CREATE INDEX IF NOT EXISTS entry_alias_inverted ON entry_alias (norm_name) WHERE kind = 'inverted';

-- Which entry such a name means is asked in a profile, when it is read: a derived name that is
-- also a winner's own name in the same collection ("Vampire" of a homebrew pack) goes to the
-- pack of higher priority in that profile, and at equal priority to the entry named so. One row
-- per such pair of winners: the derived name (`alias_id`, of entry `derived_id`), the entry
-- named so (`named_id`), and whether the derived name wins. The aliases drive (CROSS JOIN):
-- those of a name are found through `entry_alias_inverted`, and all of them are few.
CREATE VIEW IF NOT EXISTS name_contest AS
SELECT ra.profile_id, a.norm_name, a.id AS alias_id, x.id AS derived_id, o.id AS named_id,
       px.priority > po.priority AS derived_wins
FROM entry_alias a INDEXED BY entry_alias_inverted
CROSS JOIN entry x ON x.id = a.entry_id
CROSS JOIN resolved ra ON ra.entry_id = x.id
CROSS JOIN entry o INDEXED BY entry_by_collection_name
    ON o.collection = x.collection AND o.norm_name = a.norm_name
CROSS JOIN resolved ro ON ro.entry_id = o.id AND ro.profile_id = ra.profile_id
CROSS JOIN enabled_entry px ON px.profile_id = ra.profile_id AND px.entry_id = x.id
CROSS JOIN enabled_entry po ON po.profile_id = ra.profile_id AND po.entry_id = o.id
WHERE a.kind = 'inverted';

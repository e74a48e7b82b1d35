-- A rule's place in its tenant's policy (issue 19, item 2): rules are
-- evaluated by `position`, no longer by number, so a move changes where a
-- rule is and never its number (which the audit, the API's URLs and the
-- routers' rule descriptions name). Set from the numbers' order, so every
-- existing policy keeps its order and compiles to the same configuration.
-- Only rules have one; a rule written without one (a bulk load) sorts after
-- those that have, by number, until the next change to the tenant's rules
-- numbers them all.
ALTER TABLE objects ADD COLUMN position integer;

UPDATE objects o SET position = r.pos
  FROM (SELECT id, (row_number() OVER (PARTITION BY tenant_id
                                       ORDER BY (spec->>'id')::bigint) - 1)::integer AS pos
          FROM objects WHERE kind = 'rule') r
 WHERE o.id = r.id;

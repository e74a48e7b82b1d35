-- Intent revisions (issue 16): every write to a tenant's intent (its row or
-- its objects) gives that tenant a new number from one sequence, and every
-- write to the platform's intent gives the platform one. The worker's
-- compile engine keeps the intent in memory and, per job, reloads and
-- recompiles only the tenants whose number moved (a platform number that
-- moved means a full compile). Triggers, so that no write path can forget.

CREATE SEQUENCE intent_rev;

ALTER TABLE tenants ADD COLUMN intent_rev bigint NOT NULL DEFAULT nextval('intent_rev');

CREATE TABLE platform_intent (
    id         int PRIMARY KEY CHECK (id = 1),
    intent_rev bigint NOT NULL
);
INSERT INTO platform_intent (id, intent_rev) VALUES (1, nextval('intent_rev'));

-- A tenant row's own fields (name, default action) are its intent too.
CREATE FUNCTION tenant_intent_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.slug, NEW.name, NEW.default_action) IS DISTINCT FROM (OLD.slug, OLD.name, OLD.default_action) THEN
        NEW.intent_rev := nextval('intent_rev');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tenants_intent_rev BEFORE UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION tenant_intent_changed();

-- Objects: once per statement (bulk loads write thousands of rows).
CREATE FUNCTION objects_intent_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE tenants SET intent_rev = nextval('intent_rev')
            WHERE id IN (SELECT DISTINCT tenant_id FROM new_rows WHERE tenant_id IS NOT NULL);
        IF EXISTS (SELECT 1 FROM new_rows WHERE tenant_id IS NULL) THEN
            UPDATE platform_intent SET intent_rev = nextval('intent_rev') WHERE id = 1;
        END IF;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE tenants SET intent_rev = nextval('intent_rev')
            WHERE id IN (SELECT DISTINCT tenant_id FROM old_rows WHERE tenant_id IS NOT NULL);
        IF EXISTS (SELECT 1 FROM old_rows WHERE tenant_id IS NULL) THEN
            UPDATE platform_intent SET intent_rev = nextval('intent_rev') WHERE id = 1;
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER objects_intent_rev_ins AFTER INSERT ON objects
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION objects_intent_changed();
CREATE TRIGGER objects_intent_rev_upd AFTER UPDATE ON objects
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION objects_intent_changed();
CREATE TRIGGER objects_intent_rev_del AFTER DELETE ON objects
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION objects_intent_changed();

-- The platform's settings row.
CREATE FUNCTION platform_intent_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE platform_intent SET intent_rev = nextval('intent_rev') WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER platform_intent_rev AFTER INSERT OR UPDATE OR DELETE ON platform
    FOR EACH STATEMENT EXECUTE FUNCTION platform_intent_changed();

-- The worker loads changed tenants' objects by tenant.
CREATE INDEX objects_tenant ON objects (tenant_id);

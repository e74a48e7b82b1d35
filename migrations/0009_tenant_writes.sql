-- Writes that don't queue behind each other (issue 16): a tenant's write
-- loads, checks and allocates that tenant alone, so what spans tenants is
-- kept where the database can guard it.

-- Each tenant's allocation (the compiler's TenantAlloc) in its own row: a
-- write reads and writes its tenant's row, not the whole platform's. The
-- tenant number (route target, VRF table, L3 VNI) is unique across rows;
-- deferred, so that a full allocation may move numbers within one commit.
CREATE TABLE tenant_allocations (
    tenant_id  uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    doc        jsonb NOT NULL,
    number     int GENERATED ALWAYS AS ((doc->>'id')::int) STORED,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenant_allocations_number UNIQUE (number) DEFERRABLE INITIALLY DEFERRED
);
INSERT INTO tenant_allocations (tenant_id, doc)
    SELECT t.id, a.doc->'tenants'->t.slug FROM tenants t, allocation a
    WHERE a.id = 1 AND a.doc->'tenants' ? t.slug;
UPDATE allocation SET doc = jsonb_set(doc, '{tenants}', '{}'::jsonb) WHERE id = 1;

-- Hypervisor ports claimed by networks, one owner each: two tenants
-- writing at once cannot both attach the same port (the primary key
-- refuses the second). Kept by a trigger from the objects themselves.
CREATE TABLE port_claims (
    hypervisor text NOT NULL,
    port       text NOT NULL,
    object_id  uuid NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    tenant_id  uuid NOT NULL,
    PRIMARY KEY (hypervisor, port)
);
CREATE INDEX port_claims_object ON port_claims (object_id);

CREATE FUNCTION network_ports_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM port_claims WHERE object_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.kind = 'network' AND NEW.tenant_id IS NOT NULL THEN
        INSERT INTO port_claims (hypervisor, port, object_id, tenant_id)
            SELECT DISTINCT p->>'hypervisor', p->>'name', NEW.id, NEW.tenant_id
            FROM jsonb_array_elements(COALESCE(NEW.spec->'ports', '[]'::jsonb)) p;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER objects_port_claims AFTER INSERT OR UPDATE OR DELETE ON objects
    FOR EACH ROW EXECUTE FUNCTION network_ports_changed();

-- Claims of the networks already stored (a clash stored before the checks
-- existed keeps its first owner; the compiler still reports it).
INSERT INTO port_claims (hypervisor, port, object_id, tenant_id)
    SELECT DISTINCT ON (p->>'hypervisor', p->>'name') p->>'hypervisor', p->>'name', o.id, o.tenant_id
    FROM objects o, jsonb_array_elements(COALESCE(o.spec->'ports', '[]'::jsonb)) p
    WHERE o.kind = 'network' AND o.tenant_id IS NOT NULL
    ORDER BY p->>'hypervisor', p->>'name', o.created_at;

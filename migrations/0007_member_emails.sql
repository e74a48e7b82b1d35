-- Adding a member must not tell a tenant admin whether an email has an
-- account in another tenant (issue 14). An email may now be on several
-- tenants' member lists, but only one row per email signs in: the account
-- that had it first. A tenant admin who adds an email that signs in
-- elsewhere gets a member row of their own (`signs_in = false`), answered
-- exactly like a new account, and never linked to the other one.
ALTER TABLE users ADD COLUMN signs_in boolean NOT NULL DEFAULT true;
ALTER TABLE users DROP CONSTRAINT users_email_key;
CREATE UNIQUE INDEX users_email_signs_in ON users (email) WHERE signs_in;
ALTER TABLE users ADD CONSTRAINT users_email_tenant UNIQUE NULLS NOT DISTINCT (email, tenant_id);

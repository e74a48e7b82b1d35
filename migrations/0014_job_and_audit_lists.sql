-- Changes a tenant can follow and lists an operator can work with (issue
-- 19, items 3 and 4).

-- The job an audited change queued (its page is linked from the entry).
-- Covered by the entry's hash when set (`store::audit::row_hash`), so rows
-- written before keep their hashes.
ALTER TABLE audit_log ADD COLUMN job_id bigint;
CREATE INDEX audit_job ON audit_log (job_id) WHERE job_id IS NOT NULL;

-- The lists' filters, each newest first (by id) under a limit: the console's
-- jobs by state (and tenant), the audit log by action (and tenant), and
-- both by time range.
CREATE INDEX jobs_status ON jobs (status, id);
CREATE INDEX jobs_tenant_status ON jobs (tenant_id, status, id);
CREATE INDEX jobs_created_at ON jobs (created_at);
CREATE INDEX audit_action ON audit_log (action, id);
CREATE INDEX audit_tenant_action ON audit_log (tenant_id, action, id);
CREATE INDEX audit_at ON audit_log (at);

-- Whether a tenant's members may add their own WireGuard clients (and
-- revoke or re-key those they added); off unless the tenant's admins turn
-- it on.
ALTER TABLE tenants ADD COLUMN members_add_clients boolean NOT NULL DEFAULT false;
-- Who created an object (the user whose authority the caller carried):
-- a member may change only the clients they created. Unknown for objects
-- created before, and once that user is deleted.
ALTER TABLE objects ADD COLUMN created_by uuid REFERENCES users (id) ON DELETE SET NULL;

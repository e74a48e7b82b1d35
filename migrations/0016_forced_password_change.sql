-- An account an admin created (with a password the admin chose) must get
-- a password of its user's own choosing before its portal session can do
-- anything else; cleared when the password is changed.
ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;

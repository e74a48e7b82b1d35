-- Revoking access (issue 14). Access tokens are JWTs that live 15 minutes;
-- each carries its user's token generation, and every request checks it
-- (with the role and tenant) against this row, so bumping it ends all of
-- the user's access tokens at once: a password change does, and so does
-- any change of role or tenant (the trigger below, whoever makes it).
ALTER TABLE users ADD COLUMN token_generation bigint NOT NULL DEFAULT 0;

CREATE FUNCTION users_bump_token_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.token_generation := OLD.token_generation + 1;
    RETURN NEW;
END $$;
CREATE TRIGGER users_role_change BEFORE UPDATE OF role, tenant_id ON users
    FOR EACH ROW
    WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION users_bump_token_generation();

-- Deleting a user revokes the API tokens they made (server/src/api/users.rs);
-- tokens whose maker was deleted before this existed are revoked here.
CREATE INDEX api_tokens_created_by ON api_tokens (created_by);
UPDATE api_tokens a SET revoked_at = now()
WHERE a.revoked_at IS NULL AND a.created_by IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = a.created_by);

-- Secrets at rest (issue 17, item 3): every secret vxguard keeps is sealed
-- (envelope encryption, keystore/ and store/src/sealed.rs): a random data
-- key per record encrypts it (XChaCha20-Poly1305) and is stored wrapped by
-- the master key, which never enters the database. Both carry the record's
-- `sealed_secrets/<scope>/<name>` as associated data, so a record copied
-- onto another row does not open.
--   scope 'router', 'hypervisor': a device's keys (name: the device)
--   scope 'settings': the token-signing secret (name 'jwt_secret')
--   scope 'check': a known value, opened at every start to tell a wrong
--     master key from a right one (name 'master_key')
--   scope 'bridge': during a master key rotation, the new master key sealed
--     under the previous one (name: the new key's id), so processes still
--     running with the previous key keep working; removed by the first
--     `serve` or `worker` started with the new key.
CREATE TABLE sealed_secrets (
    scope       text NOT NULL CHECK (scope IN ('router', 'hypervisor', 'settings', 'check', 'bridge')),
    name        text NOT NULL,
    -- The id of the master key the data key is wrapped under (not secret).
    master_key  text NOT NULL,
    wrapped_key bytea NOT NULL,
    nonce       bytea NOT NULL,
    ciphertext  bytea NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, name)
);

-- The master key every data key is wrapped under now (its id); set by the
-- first start with a master key, changed by `vxguard keys rewrap`. Writers
-- of secrets read it FOR SHARE, a rewrap holds it FOR UPDATE.
CREATE TABLE master_key (
    id      int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    current text NOT NULL,
    since   timestamptz NOT NULL DEFAULT now()
);

-- What was stored in plain text before: sealed by the first start with a
-- master key, which then drops this table and deletes the `jwt_secret`
-- row of `settings` (store/src/sealed.rs, `upgrade`).
ALTER TABLE device_secrets RENAME TO unsealed_device_secrets;

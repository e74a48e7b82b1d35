-- Browser sessions of the portal (server/src/portal/session.rs): the cookie
-- holds a random token, stored here only hashed. Each session belongs to one
-- login's refresh-token family, so revoking that login (logout anywhere,
-- refresh-token reuse) ends the browser session too.
CREATE TABLE web_sessions (
    id           uuid PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family       uuid NOT NULL,
    csrf         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX web_sessions_family ON web_sessions (family);

-- The worker asks every round for the clients whose `expires_at` has passed
-- (store::objects::expired_clients); without an index that reads every
-- object of every tenant. Few clients expire: the index holds only those
-- with an expiry. Keyed by the text, not the time: a text-to-timestamptz
-- cast depends on the session's time zone, so it cannot be indexed; the
-- query still filters and sorts by the time, on these rows alone.
CREATE INDEX objects_client_expiry ON objects ((spec->>'expires_at'))
    WHERE kind = 'client' AND spec ? 'expires_at';

-- Each attempt of the apply driver (server/src/driver) to bring a device to
-- a revision: when, what was sent (secrets redacted), what came of it, and
-- the device's own answers (VyOS's status and envelope per /configure call;
-- /retrieve answers are not kept: they hold the whole configuration and its
-- keys). Self-contained: another migration may be renumbered around it.
CREATE TABLE device_applies (
    id           bigserial PRIMARY KEY,
    device_kind  text NOT NULL CHECK (device_kind IN ('router', 'hypervisor')),
    device       text NOT NULL,
    revision_id  bigint REFERENCES revisions (id) ON DELETE SET NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    -- NULL while running; a crashed driver leaves NULL with no finished_at.
    outcome      text CHECK (outcome IN
                   ('applied', 'unchanged', 'failed', 'reverted', 'rolled_back', 'rollback_failed')),
    commands     text NOT NULL DEFAULT '',
    attempts     int NOT NULL DEFAULT 0,
    answers      jsonb NOT NULL DEFAULT '[]',
    error        text,
    CHECK ((outcome IS NULL) = (finished_at IS NULL))
);
CREATE INDEX device_applies_device ON device_applies (device_kind, device, started_at DESC);

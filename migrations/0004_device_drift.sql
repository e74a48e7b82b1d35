-- Drift of applied devices (server/src/driver/drift.rs): the last check of a
-- device's running configuration against the revision it last applied.
-- One row per device; a matching check or a successful apply deletes it.
-- Self-contained: another migration may be renumbered around it.
CREATE TABLE device_drift (
    device_kind text NOT NULL CHECK (device_kind IN ('router', 'hypervisor')),
    device      text NOT NULL,
    -- The applied revision the device was compared with.
    revision_id bigint REFERENCES revisions (id) ON DELETE CASCADE,
    checked_at  timestamptz NOT NULL DEFAULT now(),
    -- `-` lines the device lacks, `+` lines it runs beyond the revision
    -- (keys redacted); '' when the check could not read the device.
    drift       text NOT NULL DEFAULT '',
    -- Why the device could not be read, if so.
    error       text,
    PRIMARY KEY (device_kind, device)
);

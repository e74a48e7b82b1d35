-- Revisions without secrets (issue 17, item 8): a revision now names each
-- key by a placeholder (compiler/src/sealed.rs) and the drivers put the
-- real key back as they send. Revisions stored before hold the real keys:
-- every device that has some is listed here, and the first start with a
-- master key rewrites its revisions with placeholders (configurations,
-- edit scripts, digests and diffs; store/src/revisions.rs, `seal_stored`)
-- and removes it from the list, one device per transaction.
CREATE TABLE revisions_to_seal (
    device_kind text NOT NULL,
    device      text NOT NULL,
    PRIMARY KEY (device_kind, device)
);
INSERT INTO revisions_to_seal (device_kind, device)
    SELECT DISTINCT device_kind, device FROM revisions;

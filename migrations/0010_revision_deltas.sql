-- Revisions that grow with the change, not with the device (issue 16): a
-- revision stores an edit script from the one before it (`delta`, see
-- store/src/delta.rs) and, now and then, the whole configuration again
-- (`config`), so that any revision is rebuilt from the snapshot before it
-- and the scripts since. `digest` (SHA-256 of the whole configuration,
-- hex) tells a rebuilt configuration is exact, and lets the worker see
-- "unchanged" without reading one.
ALTER TABLE revisions ALTER COLUMN config DROP NOT NULL;
ALTER TABLE revisions ADD COLUMN delta text;
ALTER TABLE revisions ADD COLUMN digest text;
UPDATE revisions SET digest = encode(sha256(convert_to(config, 'UTF8')), 'hex');
ALTER TABLE revisions ALTER COLUMN digest SET NOT NULL;

-- A whole configuration written without its digest (by hand, by a tool)
-- gets one; the worker always writes its own.
CREATE FUNCTION revision_digest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.config IS NOT NULL AND (
        (TG_OP = 'INSERT' AND NEW.digest IS NULL) OR
        (TG_OP = 'UPDATE' AND NEW.config IS DISTINCT FROM OLD.config
                          AND NEW.digest IS NOT DISTINCT FROM OLD.digest)) THEN
        NEW.digest := encode(sha256(convert_to(NEW.config, 'UTF8')), 'hex');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER revisions_digest BEFORE INSERT OR UPDATE ON revisions
    FOR EACH ROW EXECUTE FUNCTION revision_digest();
ALTER TABLE revisions ADD CONSTRAINT revisions_config_or_delta
    CHECK (config IS NOT NULL OR (delta IS NOT NULL AND seq > 1));

//! Every PostgreSQL advisory lock of the project, in one place, so two
//! subsystems never pick the same key by accident and a reader sees at a
//! glance what is serialised against what. All are transaction-scoped
//! (`pg_advisory_xact_lock`): released by commit, rollback or a lost
//! connection, so a crashed process never leaves one held.
//!
//! The values are ASCII tags ("xgcompil", …) and must not change: processes
//! of different versions share a database during a rolling upgrade.

use sqlx::PgConnection;

/// Compiles: one worker at a time turns the intent into revisions, so
/// revision numbers never fork. `lab up` takes it too while it generates
/// the routers' API keys (same secrets table as the compile).
pub const COMPILE: i64 = 0x7867_636f_6d70_696c; // "xgcompil"

/// Writes of declared state. A platform-wide write (sites, routers,
/// tenants created or removed) takes it exclusively; a tenant's write takes
/// it shared, with its [`TENANT_WRITE`] lock, so tenants write side by side
/// and a platform write waits for them all.
#[allow(clippy::unusual_byte_groupings)] // grouped by the tag's letters, as it always was
pub const WRITE: i64 = 0x7867_7772_6974_65; // "xgwrite"

/// Rollouts: one worker at a time walks the platform's devices to their
/// latest revisions (one key: the whole platform).
pub const ROLLOUT: i64 = 0x7867_726f_6c6c_6f75; // "xgrollou"

/// New shared numbers (tenant ids, VNIs): a tenant's write that needs one
/// holds it from reading the numbers taken to its commit. Rare: a write
/// that keeps its tenant's numbers never takes it.
#[allow(clippy::unusual_byte_groupings)] // grouped by the tag's letters
pub const ALLOC: i64 = 0x7867_616c_6c6f_63; // "xgalloc"

/// Audit appends: one at a time, so the hash chain has no forks.
#[allow(clippy::unusual_byte_groupings)] // grouped by the tag's letters, as it always was
pub const CHAIN: i64 = 0x7867_6175_6469_74; // "xgaudit"

/// Class of router applies (two-key lock: this class and the router's name
/// hashed): one apply per router across all workers.
pub const APPLY_VYOS: i32 = 0x7867_6170; // "xgap"

/// Class of hypervisor applies (two-key lock: this class and the
/// hypervisor's name hashed): one apply per hypervisor across all workers.
pub const APPLY_OVS: i32 = 0x7867_6168; // "xgah"

/// Class of one tenant's writes (two-key lock: this class and the tenant's
/// id hashed): one write per tenant at a time, any number of tenants.
pub const TENANT_WRITE: i32 = 0x7867_7477; // "xgtw"

/// Health collection: one collector round at a time across workers.
pub const HEALTH: i64 = 0x7867_6865_616c_7468; // "xghealth"

/// Every single-key lock, with its name (for tests and diagnostics).
pub const SINGLE: [(&str, i64); 6] = [
    ("compile", COMPILE),
    ("write", WRITE),
    ("allocation", ALLOC),
    ("rollout", ROLLOUT),
    ("audit chain", CHAIN),
    ("health", HEALTH),
];

/// Every two-key lock class, with its name.
pub const CLASSES: [(&str, i32); 3] = [
    ("apply vyos", APPLY_VYOS),
    ("apply ovs", APPLY_OVS),
    ("tenant write", TENANT_WRITE),
];

/// Takes the single-key lock `key` until the transaction on `conn` ends.
pub async fn xact_lock(conn: &mut PgConnection, key: i64) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes the single-key lock `key` shared (any number of holders, none
/// while it is held exclusively) until the transaction on `conn` ends.
pub async fn xact_lock_shared(conn: &mut PgConnection, key: i64) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes the single-key lock `key` if no one holds it, without waiting;
/// false when someone does.
pub async fn try_xact_lock(conn: &mut PgConnection, key: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(key)
        .fetch_one(conn)
        .await
}

/// Takes [`COMPILE`] until the transaction on `conn` ends: a worker's
/// compile, or `lab up` generating the routers' keys.
pub async fn compile(conn: &mut PgConnection) -> sqlx::Result<()> {
    xact_lock(conn, COMPILE).await
}

/// Takes the lock of `class` for `name` (hashed by PostgreSQL's
/// `hashtext`) until the transaction on `conn` ends.
pub async fn xact_lock_named(conn: &mut PgConnection, class: i32, name: &str) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(class)
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn keys_are_distinct() {
        let singles: HashSet<i64> = SINGLE.iter().map(|(_, k)| *k).collect();
        assert_eq!(singles.len(), SINGLE.len());
        let classes: HashSet<i32> = CLASSES.iter().map(|(_, k)| *k).collect();
        assert_eq!(classes.len(), CLASSES.len());
    }

    #[test]
    fn keys_spell_their_tags() {
        let tag = |k: i64| String::from_utf8(k.to_be_bytes().to_vec()).unwrap();
        assert_eq!(tag(COMPILE), "xgcompil");
        assert_eq!(tag(ROLLOUT), "xgrollou");
        assert_eq!(tag(WRITE).trim_start_matches('\0'), "xgwrite");
        assert_eq!(tag(CHAIN).trim_start_matches('\0'), "xgaudit");
        assert_eq!(&APPLY_VYOS.to_be_bytes(), b"xgap");
        assert_eq!(&APPLY_OVS.to_be_bytes(), b"xgah");
    }
}

//! Secrets at rest (issue 17, item 3): every secret the store keeps is a
//! row of `sealed_secrets` (migration 0011), sealed with
//! `vxguard-keystore`: a random data key per record encrypts it, the
//! master key wraps the data key, and `sealed_secrets/<scope>/<name>` is
//! the associated data of both, so a record copied onto another row does
//! not open. Sealed: each device's keys (scope `router`/`hypervisor`: the
//! compiler's `RouterSecrets`/`HypervisorSecrets` as JSON) and the
//! token-signing secret (`settings`/`jwt_secret`). The store seals on
//! write and opens on read, so its callers get plaintext in memory as
//! before and never see a master key.
//!
//! The master key is the process's: [`open`] checks a key against the
//! database once at start (the command line does it: `vxguard serve`,
//! `worker`, `demo`, `vxguard-lab up`, the test harnesses) and adds it to
//! the process's [`keyring`]; reads then find the key by the id each
//! record carries. One keyring per process, not a handle in [`Store`]:
//! secrets are read and written by free functions over a connection (the
//! worker's `reconcile_secrets(tx, ...)`), and a process may work on
//! several databases (the tests), each sealed under its own key.
//!
//! **Rotation** ([`rewrap`], `vxguard keys rewrap`): in one transaction
//! every data key is unwrapped with the current master key and wrapped
//! under the new one, and `master_key.current` names the new one. Running
//! processes keep working without the new file: the rewrap also stores a
//! *bridge*, the new master key sealed under the previous one, through
//! which a process that holds only the previous key learns the new one the
//! first time it meets a record wrapped under it ([`resolve`]). Writers
//! read `master_key.current` FOR SHARE and the rewrap holds it FOR UPDATE,
//! so no record is written under the previous key after the rewrap. The
//! first `serve` or `worker` started with the new key removes the bridges
//! (`open(.., remove_bridges: true)`): from then on the previous key opens
//! nothing, and processes still running with it must be restarted. Only a
//! file master key can be bridged (its bytes are what is sealed); a source
//! whose key never leaves it (a KMS) rotates by key versions of its own.
//!
//! **Upgrade**: a database from before kept the device keys in
//! `device_secrets` (renamed `unsealed_device_secrets` by the migration)
//! and the signing secret in `settings`; the first [`open`] seals them and
//! drops the plain text, once ([`Opened`] counts what it sealed). It also
//! rewrites the revisions stored before they named keys by placeholder
//! ([`crate::revisions::seal_stored`]).

use crate::error::{Result, StoreError};
use sqlx::{PgConnection, PgPool};
use std::sync::{Arc, LazyLock};
use vxguard_compiler::model::{HypervisorSecrets, RouterSecrets, Secrets};
use vxguard_keystore::{FileMasterKey, Key, Keyring, MasterKey, Sealed, Zeroizing};

static KEYRING: LazyLock<Keyring> = LazyLock::new(Keyring::default);

/// The master keys this process holds (those [`open`] checked, and those
/// learnt through a rotation's bridge).
pub fn keyring() -> &'static Keyring {
    &KEYRING
}

const ROUTER: &str = "router";
const HYPERVISOR: &str = "hypervisor";
const SETTINGS: &str = "settings";
const JWT: &str = "jwt_secret";
const CHECK: &str = "check";
const CHECK_NAME: &str = "master_key";
/// What the check record holds: opening it proves the master key right.
const CHECK_TEXT: &[u8] = b"vxguard master key check v1";
const BRIDGE: &str = "bridge";

/// A record's context: the associated data that binds it to its row.
fn context(scope: &str, name: &str) -> String {
    format!("sealed_secrets/{scope}/{name}")
}

type RowTuple = (String, String, String, Vec<u8>, Vec<u8>, Vec<u8>);

fn sealed_of(r: RowTuple) -> (String, String, Sealed) {
    let (scope, name, master_key, wrapped_key, nonce, ciphertext) = r;
    (
        scope,
        name,
        Sealed {
            master_key,
            wrapped_key,
            nonce,
            ciphertext,
        },
    )
}

const COLUMNS: &str = "scope, name, master_key, wrapped_key, nonce, ciphertext";

async fn fetch(conn: &mut PgConnection, scope: &str, name: &str) -> Result<Option<Sealed>> {
    let row: Option<RowTuple> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM sealed_secrets WHERE scope = $1 AND name = $2"
    ))
    .bind(scope)
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| sealed_of(r).2))
}

/// Stores a sealed record (replacing the row's, unless `keep`: then a row
/// already there wins).
async fn put(
    conn: &mut PgConnection,
    scope: &str,
    name: &str,
    s: &Sealed,
    keep: bool,
) -> Result<()> {
    let on_conflict = if keep {
        "DO NOTHING"
    } else {
        "DO UPDATE SET master_key = EXCLUDED.master_key, wrapped_key = EXCLUDED.wrapped_key,
            nonce = EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext, updated_at = now()"
    };
    sqlx::query(&format!(
        "INSERT INTO sealed_secrets ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (scope, name) {on_conflict}"
    ))
    .bind(scope)
    .bind(name)
    .bind(&s.master_key)
    .bind(&s.wrapped_key)
    .bind(&s.nonce)
    .bind(&s.ciphertext)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The master key with id `id`: from `ring`, or learnt through the
/// rotation bridges stored in the database (the new key sealed under the
/// previous one, possibly several rotations in a row), then kept in `ring`.
async fn resolve(conn: &mut PgConnection, ring: &Keyring, id: &str) -> Result<Arc<dyn MasterKey>> {
    if let Some(k) = ring.get(id) {
        return Ok(k);
    }
    let mut chain: Vec<(String, Sealed)> = Vec::new();
    let mut want = id.to_string();
    while ring.get(&want).is_none() {
        let bridge = if chain.len() < 32 && !chain.iter().any(|(w, _)| *w == want) {
            fetch(conn, BRIDGE, &want).await?
        } else {
            None
        };
        let Some(s) = bridge else {
            let held = ring.ids();
            return Err(StoreError::NoMasterKey {
                id: id.into(),
                held: if held.is_empty() {
                    "none".into()
                } else {
                    held.join(", ")
                },
            });
        };
        let under = s.master_key.clone();
        chain.push((want, s));
        want = under;
    }
    for (to, s) in chain.into_iter().rev() {
        let bytes = ring.open(&context(BRIDGE, &to), &s)?;
        let key = Key::from_slice(&bytes).ok_or_else(|| StoreError::Corrupt {
            what: format!("the rotation bridge to master key {to} holds no key"),
        })?;
        let k = FileMasterKey::from_key(
            key,
            format!("master key {to}, learnt through the rotation bridge"),
        );
        if k.id() != to {
            return Err(StoreError::Corrupt {
                what: format!("the rotation bridge to master key {to} holds another key"),
            });
        }
        ring.add(Arc::new(k));
    }
    ring.get(id).ok_or_else(|| StoreError::NoMasterKey {
        id: id.into(),
        held: ring.ids().join(", "),
    })
}

/// Opens one record with whichever key of `ring` (or its bridges) wrapped it.
async fn open_record(
    conn: &mut PgConnection,
    ring: &Keyring,
    scope: &str,
    name: &str,
    s: &Sealed,
) -> Result<Zeroizing<Vec<u8>>> {
    resolve(conn, ring, &s.master_key).await?;
    Ok(ring.open(&context(scope, name), s)?)
}

/// The master key new records are sealed under (the database's current
/// one), read FOR SHARE: a rotation waits for this transaction.
async fn key_for_writing(conn: &mut PgConnection, ring: &Keyring) -> Result<Arc<dyn MasterKey>> {
    let current: Option<String> =
        sqlx::query_scalar("SELECT current FROM master_key WHERE id = 1 FOR SHARE")
            .fetch_optional(&mut *conn)
            .await?;
    let current = current.ok_or(StoreError::NotSealed)?;
    resolve(conn, ring, &current).await
}

/// The database's master key (its id), `None` before the first start with
/// one (a fresh database, or one from before secrets were sealed).
pub async fn current(db: &PgPool) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT current FROM master_key WHERE id = 1")
            .fetch_optional(db)
            .await?,
    )
}

/// What [`open`] found and did (no secret in it: ids and counts).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Opened {
    /// The id of the database's master key.
    pub master_key: String,
    /// The database had no master key: the one given is now its key.
    pub first: bool,
    /// Devices whose keys were stored in plain text, now sealed (the
    /// one-time upgrade of a database from before).
    pub sealed_devices: usize,
    /// The token-signing secret was stored in plain text, now sealed.
    pub sealed_signing_secret: bool,
    /// Devices whose revisions held real keys, rewritten with
    /// placeholders (the one-time upgrade of migration 0012).
    pub sealed_revisions: usize,
    /// The key given is a previous one: the database was rotated to
    /// `master_key` and this process opens it through the bridge.
    pub through_bridge: bool,
    /// Rotation bridges removed (a start with the current key).
    pub bridges_removed: u64,
}

/// Checks `key` against the database and makes it this process's: it must
/// be the database's master key (or a previous one with a rotation's
/// bridge to it), proved by opening the check record. On a database
/// without a master key, `key` becomes its master key. Seals what a
/// database from before kept in plain text. With `remove_bridges` (the
/// long-running `serve` and `worker`), a start with the current key
/// removes the rotation bridges, so previous keys open nothing any more.
pub async fn open(db: &PgPool, key: Arc<dyn MasterKey>, remove_bridges: bool) -> Result<Opened> {
    let mut tx = db.begin().await?;
    let first =
        sqlx::query("INSERT INTO master_key (id, current) VALUES (1, $1) ON CONFLICT DO NOTHING")
            .bind(key.id())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
    let current: String =
        sqlx::query_scalar("SELECT current FROM master_key WHERE id = 1 FOR UPDATE")
            .fetch_one(&mut *tx)
            .await?;
    let ring = Keyring::default();
    ring.add(key.clone());
    let mut opened = Opened {
        master_key: current.clone(),
        first,
        ..Default::default()
    };
    if current != key.id() {
        match resolve(&mut tx, &ring, &current).await {
            Ok(_) => opened.through_bridge = true,
            Err(StoreError::NoMasterKey { .. }) => {
                return Err(StoreError::WrongMasterKey {
                    origin: key.source(),
                    given: key.id().into(),
                    expected: current,
                })
            }
            Err(e) => return Err(e),
        }
    }
    match fetch(&mut tx, CHECK, CHECK_NAME).await? {
        Some(s) => {
            let v = open_record(&mut tx, &ring, CHECK, CHECK_NAME, &s).await?;
            if v.as_slice() != CHECK_TEXT {
                return Err(StoreError::Corrupt {
                    what: "the master key's check record".into(),
                });
            }
        }
        None => {
            let s = ring.seal(&current, &context(CHECK, CHECK_NAME), CHECK_TEXT)?;
            put(&mut tx, CHECK, CHECK_NAME, &s, false).await?;
        }
    }
    let k = resolve(&mut tx, &ring, &current).await?;
    upgrade(&mut tx, &*k, &mut opened).await?;
    if remove_bridges && !opened.through_bridge {
        opened.bridges_removed = sqlx::query("DELETE FROM sealed_secrets WHERE scope = $1")
            .bind(BRIDGE)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    tx.commit().await?;
    for id in ring.ids() {
        if let Some(k) = ring.get(&id) {
            KEYRING.add(k);
        }
    }
    // After the commit: it takes the compile lock, which a worker holds
    // while it reads `master_key` (no lock order to get wrong).
    opened.sealed_revisions = crate::revisions::seal_stored(db).await?;
    Ok(opened)
}

/// Seals what a database from before kept in plain text, and drops it.
async fn upgrade(conn: &mut PgConnection, key: &dyn MasterKey, o: &mut Opened) -> Result<()> {
    let plain_table: bool =
        sqlx::query_scalar("SELECT to_regclass('unsealed_device_secrets') IS NOT NULL")
            .fetch_one(&mut *conn)
            .await?;
    if plain_table {
        let doc: Option<serde_json::Value> =
            sqlx::query_scalar("SELECT doc FROM unsealed_device_secrets WHERE id = 1")
                .fetch_optional(&mut *conn)
                .await?;
        if let Some(d) = doc {
            let s: Secrets = serde_json::from_value(d).map_err(|e| StoreError::Corrupt {
                what: format!("the device secrets stored in plain text: {e}"),
            })?;
            write_devices(conn, key, &Secrets::default(), &s).await?;
            o.sealed_devices = s.routers.len() + s.hypervisors.len();
        }
        sqlx::query("DROP TABLE unsealed_device_secrets")
            .execute(&mut *conn)
            .await?;
    }
    let jwt: Option<String> =
        sqlx::query_scalar("SELECT value FROM settings WHERE key = 'jwt_secret'")
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(j) = jwt {
        let j = Zeroizing::new(j);
        let s = vxguard_keystore::seal(key, &context(SETTINGS, JWT), j.as_bytes())?;
        put(conn, SETTINGS, JWT, &s, true).await?;
        sqlx::query("DELETE FROM settings WHERE key = 'jwt_secret'")
            .execute(&mut *conn)
            .await?;
        o.sealed_signing_secret = true;
    }
    Ok(())
}

/// Every device's key material, opened.
pub async fn devices(conn: &mut PgConnection) -> Result<Secrets> {
    let rows: Vec<RowTuple> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM sealed_secrets WHERE scope IN ('router', 'hypervisor')"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Secrets::default();
    for r in rows {
        let (scope, name, s) = sealed_of(r);
        let plain = open_record(conn, keyring(), &scope, &name, &s).await?;
        let bad = |e: serde_json::Error| StoreError::Corrupt {
            what: format!("the sealed keys of {scope} {name}: {e}"),
        };
        if scope == ROUTER {
            let v: RouterSecrets = serde_json::from_slice(&plain).map_err(bad)?;
            out.routers.insert(name, v);
        } else {
            let v: HypervisorSecrets = serde_json::from_slice(&plain).map_err(bad)?;
            out.hypervisors.insert(name, v);
        }
    }
    Ok(out)
}

/// Stores `after` where it differs from `before`: changed and new devices
/// sealed under the database's current master key, removed ones deleted.
pub async fn store_devices(
    conn: &mut PgConnection,
    before: &Secrets,
    after: &Secrets,
) -> Result<()> {
    if before == after {
        return Ok(());
    }
    let key = key_for_writing(conn, keyring()).await?;
    write_devices(conn, &*key, before, after).await
}

async fn write_devices(
    conn: &mut PgConnection,
    key: &dyn MasterKey,
    before: &Secrets,
    after: &Secrets,
) -> Result<()> {
    let mut changed: Vec<(&str, &String, Zeroizing<Vec<u8>>)> = Vec::new();
    for (name, v) in &after.routers {
        if before.routers.get(name) != Some(v) {
            changed.push((ROUTER, name, Zeroizing::new(serde_json::to_vec(v)?)));
        }
    }
    for (name, v) in &after.hypervisors {
        if before.hypervisors.get(name) != Some(v) {
            changed.push((HYPERVISOR, name, Zeroizing::new(serde_json::to_vec(v)?)));
        }
    }
    for (scope, name, plain) in changed {
        let s = vxguard_keystore::seal(key, &context(scope, name), &plain)?;
        put(conn, scope, name, &s, false).await?;
    }
    let gone_routers: Vec<String> = before
        .routers
        .keys()
        .filter(|n| !after.routers.contains_key(*n))
        .cloned()
        .collect();
    let gone_hvs: Vec<String> = before
        .hypervisors
        .keys()
        .filter(|n| !after.hypervisors.contains_key(*n))
        .cloned()
        .collect();
    for (scope, names) in [(ROUTER, gone_routers), (HYPERVISOR, gone_hvs)] {
        if !names.is_empty() {
            sqlx::query("DELETE FROM sealed_secrets WHERE scope = $1 AND name = ANY($2)")
                .bind(scope)
                .bind(names)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// The token-signing secret: `fresh` is sealed and stored the first time,
/// so every API process agrees on whichever came first.
pub async fn signing_secret(db: &PgPool, fresh: &str) -> Result<Vec<u8>> {
    let mut tx = db.begin().await?;
    if fetch(&mut tx, SETTINGS, JWT).await?.is_none() {
        let key = key_for_writing(&mut tx, keyring()).await?;
        let s = vxguard_keystore::seal(&*key, &context(SETTINGS, JWT), fresh.as_bytes())?;
        put(&mut tx, SETTINGS, JWT, &s, true).await?;
    }
    let s = fetch(&mut tx, SETTINGS, JWT)
        .await?
        .expect("stored in this transaction or before");
    let v = open_record(&mut tx, keyring(), SETTINGS, JWT, &s).await?;
    tx.commit().await?;
    Ok(v.to_vec())
}

/// Every secret vxguard holds, opened, each with a name that says whose
/// and which (never the value): every device's WireGuard private keys (a
/// mesh rotation's previous one and a router's client-facing one too),
/// every router's API keys (a rotation's next and retired ones too) and the
/// token-signing secret. For looking for them where they must not be
/// (`vxguard keys scan`); the caller keeps them in memory only.
pub async fn every_secret(db: &PgPool) -> Result<Vec<(String, String)>> {
    let mut conn = db.acquire().await?;
    let d = devices(&mut conn).await?;
    let mut out = Vec::new();
    for (name, r) in d.routers {
        out.push((
            format!("router {name} WireGuard private key"),
            r.wireguard_private_key,
        ));
        out.push((format!("router {name} API key"), r.api_key));
        if let Some(k) = r.api_key_next {
            out.push((format!("router {name} next API key"), k));
        }
        if let Some(k) = r.api_key_retired {
            out.push((format!("router {name} retired API key"), k));
        }
        if let Some(k) = r.wireguard_previous {
            out.push((
                format!("router {name} previous WireGuard private key"),
                k.private_key,
            ));
        }
        if let Some(k) = r.client_key {
            out.push((
                format!("router {name} client-facing WireGuard private key"),
                k.private_key,
            ));
        }
        for (tenant, e) in r.client_epochs {
            out.push((
                format!("router {name} client-facing WireGuard private key of {tenant}"),
                e.key.private_key,
            ));
        }
        for (tenant, e) in r.client_rotation.into_iter().flat_map(|c| c.tenants) {
            out.push((
                format!("router {name} next client-facing WireGuard private key of {tenant}"),
                e.key.private_key,
            ));
        }
    }
    for (name, h) in d.hypervisors {
        out.push((
            format!("hypervisor {name} WireGuard private key"),
            h.wireguard_private_key,
        ));
        if let Some(k) = h.wireguard_previous {
            out.push((
                format!("hypervisor {name} previous WireGuard private key"),
                k.private_key,
            ));
        }
    }
    if let Some(s) = fetch(&mut conn, SETTINGS, JWT).await? {
        let v = open_record(&mut conn, keyring(), SETTINGS, JWT, &s).await?;
        out.push((
            "token-signing secret".into(),
            String::from_utf8_lossy(&v).into_owned(),
        ));
    }
    Ok(out)
}

/// What [`rewrap`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewrapped {
    pub from: String,
    pub to: String,
    /// Records whose data key is now wrapped under `to`.
    pub records: usize,
    /// Whether a bridge lets processes running with `from` keep working.
    pub bridged: bool,
}

/// Rotates the master key: every data key is unwrapped (with the current
/// master key, which this process must hold) and wrapped under `new`, and
/// `new` becomes the database's master key, in one transaction. With
/// `bridge` (the new key's bytes: a file master key), the new key is also
/// stored sealed under the previous one, so that running processes keep
/// working until they are restarted with the new key (see the module).
pub async fn rewrap(
    db: &PgPool,
    new: Arc<dyn MasterKey>,
    bridge: Option<&Key>,
) -> Result<Rewrapped> {
    let mut tx = db.begin().await?;
    let current: Option<String> =
        sqlx::query_scalar("SELECT current FROM master_key WHERE id = 1 FOR UPDATE")
            .fetch_optional(&mut *tx)
            .await?;
    let current = current.ok_or(StoreError::NotSealed)?;
    if current == new.id() {
        return Err(StoreError::SameMasterKey { id: current });
    }
    let from = resolve(&mut tx, keyring(), &current).await?;
    let rows: Vec<RowTuple> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM sealed_secrets WHERE scope <> 'bridge' ORDER BY scope, name FOR UPDATE"
    ))
    .fetch_all(&mut *tx)
    .await?;
    let records = rows.len();
    for r in rows {
        let (scope, name, s) = sealed_of(r);
        let under = resolve(&mut tx, keyring(), &s.master_key).await?;
        let moved = vxguard_keystore::rewrap(&*under, &*new, &context(&scope, &name), &s)?;
        put(&mut tx, &scope, &name, &moved, false).await?;
    }
    if let Some(k) = bridge {
        let s = vxguard_keystore::seal(&*from, &context(BRIDGE, new.id()), k.as_bytes())?;
        put(&mut tx, BRIDGE, new.id(), &s, false).await?;
    }
    sqlx::query("UPDATE master_key SET current = $1, since = now() WHERE id = 1")
        .bind(new.id())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    KEYRING.add(new.clone());
    Ok(Rewrapped {
        from: current,
        to: new.id().into(),
        records,
        bridged: bridge.is_some(),
    })
}

/// How the database's secrets stand (`vxguard keys status`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The database's master key, `None` before the first start with one.
    pub master_key: Option<String>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Sealed records by master key id (bridges apart).
    pub records: Vec<(String, i64)>,
    /// Rotation bridges still stored (the keys they lead to).
    pub bridges: Vec<String>,
    /// Whether plain text from before is still waiting for its first start.
    pub unsealed_left: bool,
}

pub async fn status(db: &PgPool) -> Result<Status> {
    let row: Option<(String, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT current, since FROM master_key WHERE id = 1")
            .fetch_optional(db)
            .await?;
    let records: Vec<(String, i64)> = sqlx::query_as(
        "SELECT master_key, count(*) FROM sealed_secrets WHERE scope <> 'bridge'
         GROUP BY master_key ORDER BY master_key",
    )
    .fetch_all(db)
    .await?;
    let bridges: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sealed_secrets WHERE scope = 'bridge' ORDER BY name")
            .fetch_all(db)
            .await?;
    let plain_table: bool =
        sqlx::query_scalar("SELECT to_regclass('unsealed_device_secrets') IS NOT NULL")
            .fetch_one(db)
            .await?;
    let plain_rows: bool = plain_table
        && sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM unsealed_device_secrets)")
            .fetch_one(db)
            .await?;
    let plain_jwt: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM settings WHERE key = 'jwt_secret')")
            .fetch_one(db)
            .await?;
    let unsealed_left = plain_rows || plain_jwt;
    Ok(Status {
        master_key: row.as_ref().map(|r| r.0.clone()),
        since: row.map(|r| r.1),
        records,
        bridges,
        unsealed_left,
    })
}

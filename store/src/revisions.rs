//! Device revisions (what the worker compiled for each router and
//! hypervisor): stored as edit scripts with a whole configuration now and
//! then (migration 0010, [`crate::delta`]), rebuilt exactly on reading.

use crate::error::{Result, StoreError};
use sqlx::{PgConnection, PgPool};

/// The latest revision number of every device: `(kind, device, seq)`.
pub async fn latest(db: &PgPool) -> Result<Vec<(String, String, i32)>> {
    Ok(sqlx::query_as(
        "SELECT device_kind, device, max(seq) FROM revisions GROUP BY device_kind, device",
    )
    .fetch_all(db)
    .await?)
}

/// The id of a device's latest revision.
pub async fn latest_id(db: &PgPool, kind: &str, device: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM revisions WHERE device_kind = $1 AND device = $2 ORDER BY seq DESC LIMIT 1",
    )
    .bind(kind)
    .bind(device)
    .fetch_optional(db)
    .await?)
}

/// Scripts a revision may sit behind before one stores the whole
/// configuration again: rebuilding reads at most this many.
pub const MAX_CHAIN: i64 = 500;

/// SHA-256 of a configuration, hex: what `revisions.digest` holds.
pub fn digest(config: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(config.as_bytes()))
}

/// A device's latest revision: its number and digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: i32,
    pub digest: String,
}

pub async fn head(conn: &mut PgConnection, kind: &str, device: &str) -> Result<Option<Head>> {
    let row: Option<(i32, String)> = sqlx::query_as(
        "SELECT seq, digest FROM revisions WHERE device_kind = $1 AND device = $2
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(kind)
    .bind(device)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(seq, digest)| Head { seq, digest }))
}

/// The latest revision of each of `devices` (of one kind) that has one,
/// in one query: a job that changed tens of devices asks once, not once
/// per device.
pub async fn heads(
    conn: &mut PgConnection,
    kind: &str,
    devices: &[&str],
) -> Result<std::collections::HashMap<String, Head>> {
    let rows: Vec<(String, i32, String)> = sqlx::query_as(
        "SELECT d.device, r.seq, r.digest FROM unnest($2::text[]) AS d(device)
         CROSS JOIN LATERAL (
             SELECT seq, digest FROM revisions
             WHERE device_kind = $1 AND device = d.device
             ORDER BY seq DESC LIMIT 1) r",
    )
    .bind(kind)
    .bind(devices)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(d, seq, digest)| (d, Head { seq, digest }))
        .collect())
}

/// One revision a job stores.
pub struct NewRevision<'a> {
    pub device: &'a str,
    pub seq: i32,
    pub config: &'a str,
    /// [`digest`]`(config)`.
    pub digest: &'a str,
    /// Revision `seq - 1`'s configuration, and where the two differ when
    /// the caller knows.
    pub previous: Option<(&'a str, Option<Pieces<'a>>)>,
    pub diff: &'a str,
}

/// Stores the revisions of several devices of one kind (each as
/// [`insert`] says), in two round trips whatever their number: their
/// chains since the last whole configuration, then the rows.
pub async fn insert_all(
    conn: &mut PgConnection,
    kind: &str,
    job: i64,
    revs: &[NewRevision<'_>],
) -> Result<()> {
    if revs.is_empty() {
        return Ok(());
    }
    let chained: Vec<&str> = revs
        .iter()
        .filter(|r| r.seq > 1 && r.previous.is_some())
        .map(|r| r.device)
        .collect();
    let chains: std::collections::HashMap<String, (i64, i64)> = if chained.is_empty() {
        Default::default()
    } else {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT d.device, c.n, c.bytes FROM unnest($2::text[]) AS d(device)
             CROSS JOIN LATERAL (
                 SELECT count(*) AS n, COALESCE(sum(length(delta)), 0)::bigint AS bytes
                 FROM revisions
                 WHERE device_kind = $1 AND device = d.device AND seq > (
                     SELECT COALESCE(max(seq), 0) FROM revisions
                     WHERE device_kind = $1 AND device = d.device AND config IS NOT NULL)) c",
        )
        .bind(kind)
        .bind(&chained)
        .fetch_all(&mut *conn)
        .await?;
        rows.into_iter().map(|(d, n, b)| (d, (n, b))).collect()
    };
    let n = revs.len();
    let (mut devices, mut seqs, mut jobs) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut configs, mut deltas) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut digests, mut diffs) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for r in revs {
        let script = match (r.previous, chains.get(r.device)) {
            (Some((p, pieces)), Some(&(count, bytes))) if r.seq > 1 => {
                script_if_short(p, r.config, pieces, count, bytes)
            }
            _ => None,
        };
        configs.push(script.is_none().then_some(r.config));
        deltas.push(script);
        devices.push(r.device);
        seqs.push(r.seq);
        jobs.push(job);
        digests.push(r.digest);
        diffs.push(r.diff);
    }
    sqlx::query(
        "INSERT INTO revisions (device_kind, device, seq, job_id, config, delta, digest, diff)
         SELECT $1, * FROM unnest($2::text[], $3::int4[], $4::int8[], $5::text[], $6::text[], $7::text[], $8::text[])",
    )
    .bind(kind)
    .bind(&devices)
    .bind(&seqs)
    .bind(&jobs)
    .bind(&configs)
    .bind(&deltas)
    .bind(&digests)
    .bind(&diffs)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The edit script from `previous` to `config`, unless the chain since the
/// last whole configuration (`count` scripts of `bytes`) would then be too
/// long ([`MAX_CHAIN`]) or outweigh a whole configuration.
fn script_if_short(
    previous: &str,
    config: &str,
    pieces: Option<Pieces<'_>>,
    count: i64,
    bytes: i64,
) -> Option<String> {
    let s = pieces
        .and_then(|(b, a)| crate::delta::encode_pieces(previous, config, b, a))
        .unwrap_or_else(|| crate::delta::encode(previous, config));
    let short = count < MAX_CHAIN && bytes + (s.len() as i64) < config.len() as i64;
    short.then_some(s)
}

/// Stores revision `seq` of a device. `previous` is revision `seq - 1`'s
/// configuration (when there is one): the revision then holds the script
/// from it, unless the chain since the last whole configuration is long
/// ([`MAX_CHAIN`]) or its scripts outweigh a whole configuration, when it
/// holds the whole configuration again. `config_digest` is
/// [`digest`]`(config)`, which the caller has already computed (hashing a
/// large router's text is not free); reading a revision back checks it.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    conn: &mut PgConnection,
    kind: &str,
    device: &str,
    seq: i32,
    config: &str,
    config_digest: &str,
    previous: Option<&str>,
    diff: &str,
    job: i64,
) -> Result<()> {
    insert_all(
        conn,
        kind,
        job,
        &[NewRevision {
            device,
            seq,
            config,
            digest: config_digest,
            previous: previous.map(|p| (p, None)),
            diff,
        }],
    )
    .await
}

/// Where a revision's text differs from the previous one's: ranges of the
/// previous text and what each became in the new one, in text order, the
/// bytes between unchanged ([`delta::encode_pieces`]).
pub type Pieces<'a> = (&'a [std::ops::Range<usize>], &'a [std::ops::Range<usize>]);

/// A device's configuration at revision `seq`, rebuilt from the last whole
/// configuration at or before it and the scripts since, and checked
/// against the revision's digest. `None`: no such revision.
pub async fn config_at(
    conn: &mut PgConnection,
    kind: &str,
    device: &str,
    seq: i32,
) -> Result<Option<String>> {
    let rows: Vec<(i32, Option<String>, Option<String>, String)> = sqlx::query_as(
        "SELECT seq, config, delta, digest FROM revisions
         WHERE device_kind = $1 AND device = $2 AND seq <= $3 AND seq >= (
             SELECT COALESCE(max(seq), 0) FROM revisions
             WHERE device_kind = $1 AND device = $2 AND seq <= $3 AND config IS NOT NULL)
         ORDER BY seq",
    )
    .bind(kind)
    .bind(device)
    .bind(seq)
    .fetch_all(&mut *conn)
    .await?;
    let Some(last) = rows.last() else {
        return Ok(None);
    };
    if last.0 != seq {
        return Ok(None);
    }
    let corrupt = |why: String| StoreError::Corrupt {
        what: format!("revision {seq} of {kind} {device}: {why}"),
    };
    let Some(base) = rows[0].1.as_deref() else {
        return Err(corrupt("no whole configuration before it".into()));
    };
    let scripts = rows[1..].iter().map(|r| r.2.as_deref().unwrap_or_default());
    let text = crate::delta::apply_all(base, scripts).map_err(|e| corrupt(e.to_string()))?;
    if digest(&text) != last.3 {
        return Err(corrupt(
            "the rebuilt configuration does not match its digest".into(),
        ));
    }
    Ok(Some(text))
}

/// A device's latest revision: its number and configuration.
pub async fn latest_config(
    conn: &mut PgConnection,
    kind: &str,
    device: &str,
) -> Result<Option<(i32, String)>> {
    let Some(h) = head(conn, kind, device).await? else {
        return Ok(None);
    };
    Ok(config_at(conn, kind, device, h.seq)
        .await?
        .map(|c| (h.seq, c)))
}

/// The revision with id `id` if it is `device`'s: its number and
/// configuration.
pub async fn config_by_id(
    conn: &mut PgConnection,
    id: i64,
    kind: &str,
    device: &str,
) -> Result<Option<(i32, String)>> {
    let seq: Option<i32> = sqlx::query_scalar(
        "SELECT seq FROM revisions WHERE id = $1 AND device_kind = $2 AND device = $3",
    )
    .bind(id)
    .bind(kind)
    .bind(device)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(seq) = seq else { return Ok(None) };
    Ok(config_at(conn, kind, device, seq).await?.map(|c| (seq, c)))
}

/// A revision as listed: what the worker compiled and the diff it showed,
/// without the configuration (rebuilding it costs a chain of scripts; ask
/// [`config_at`] for the one revision that needs it).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Summary {
    pub device_kind: String,
    pub device: String,
    pub seq: i32,
    pub job_id: Option<i64>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub diff: String,
}

const SUMMARY_COLS: &str = "device_kind, device, seq, job_id, created_at, diff";

/// A device's revisions, newest first, those before `before` (a keyset
/// cursor: the last `seq` of the previous page) when given, at most
/// `limit`.
pub async fn list(
    db: &PgPool,
    kind: &str,
    device: &str,
    before: Option<i32>,
    limit: i64,
) -> Result<Vec<Summary>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {SUMMARY_COLS} FROM revisions
         WHERE device_kind = $1 AND device = $2 AND ($3::int IS NULL OR seq < $3)
         ORDER BY seq DESC LIMIT $4"
    ))
    .bind(kind)
    .bind(device)
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Revision `seq` of a device, without its configuration.
pub async fn get_summary(
    db: &PgPool,
    kind: &str,
    device: &str,
    seq: i32,
) -> Result<Option<Summary>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {SUMMARY_COLS} FROM revisions WHERE device_kind = $1 AND device = $2 AND seq = $3"
    ))
    .bind(kind)
    .bind(device)
    .bind(seq)
    .fetch_optional(db)
    .await?)
}

/// The number of the device's last revision before `seq` (what a
/// revision's line diff compares against), if any: asked of the table
/// rather than assumed to be `seq - 1`.
pub async fn seq_before(db: &PgPool, kind: &str, device: &str, seq: i32) -> Result<Option<i32>> {
    Ok(sqlx::query_scalar(
        "SELECT seq FROM revisions WHERE device_kind = $1 AND device = $2 AND seq < $3
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(kind)
    .bind(device)
    .bind(seq)
    .fetch_optional(db)
    .await?)
}

/// [`config_at`] on a connection of the pool: for readers that hold no
/// transaction (the API and the portal showing one revision).
pub async fn config(db: &PgPool, kind: &str, device: &str, seq: i32) -> Result<Option<String>> {
    let mut conn = db.acquire().await?;
    config_at(&mut conn, kind, device, seq).await
}

/// Rewrites the revisions stored before placeholders (issue 17, item 8;
/// migration 0012 lists their devices): each device's configurations,
/// edit scripts, digests and diffs get placeholders in place of keys
/// (`vxguard_compiler::sealed::seal_text`, the same names the worker now
/// compiles with, so the next compile finds nothing changed). One device
/// per transaction under the compile lock, so no revision is inserted
/// against a text being rewritten; a start that finds the list empty
/// does nothing. Returns the devices rewritten.
pub async fn seal_stored(db: &PgPool) -> Result<usize> {
    let mut done = 0;
    loop {
        let mut tx = db.begin().await?;
        crate::locks::xact_lock(&mut tx, crate::locks::COMPILE).await?;
        let next: Option<(String, String)> = sqlx::query_as(
            "SELECT device_kind, device FROM revisions_to_seal
             ORDER BY device_kind, device LIMIT 1 FOR UPDATE",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some((kind, device)) = next else {
            tx.commit().await?;
            return Ok(done);
        };
        seal_device(&mut tx, &kind, &device).await?;
        sqlx::query("DELETE FROM revisions_to_seal WHERE device_kind = $1 AND device = $2")
            .bind(&kind)
            .bind(&device)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        done += 1;
    }
}

type StoredRow = (i64, i32, Option<String>, Option<String>, String);

/// One device's revisions rewritten with placeholders, keeping each row's
/// shape (a whole configuration stays whole, a script a script).
async fn seal_device(conn: &mut PgConnection, kind: &str, device: &str) -> Result<()> {
    use vxguard_compiler::sealed::{seal_text, Vault};
    let rows: Vec<StoredRow> = sqlx::query_as(
        "SELECT id, seq, config, delta, diff FROM revisions
         WHERE device_kind = $1 AND device = $2 ORDER BY seq FOR UPDATE",
    )
    .bind(kind)
    .bind(device)
    .fetch_all(&mut *conn)
    .await?;
    let mut prev: Option<(String, String)> = None; // (as stored, sealed)
    for (id, seq, config, delta, diff) in rows {
        let corrupt = |why: String| StoreError::Corrupt {
            what: format!("revision {seq} of {kind} {device}: {why}"),
        };
        let text = match (&config, &delta, &prev) {
            (Some(c), _, _) => c.clone(),
            (None, Some(d), Some((p, _))) => {
                crate::delta::apply_all(p, [d.as_str()]).map_err(|e| corrupt(e.to_string()))?
            }
            _ => return Err(corrupt("no whole configuration before it".into())),
        };
        let mut vault = Vault::default();
        let sealed = seal_text(&text, &mut vault);
        let new_diff = seal_text(&diff, &mut vault);
        let new_config = config.as_ref().map(|_| sealed.clone());
        let new_delta = match (&delta, &prev) {
            (Some(_), Some((_, p))) if config.is_none() => Some(crate::delta::encode(p, &sealed)),
            _ => delta.clone(),
        };
        if new_config != config || new_delta != delta || new_diff != diff {
            sqlx::query(
                "UPDATE revisions SET config = $2, delta = $3, digest = $4, diff = $5
                 WHERE id = $1",
            )
            .bind(id)
            .bind(&new_config)
            .bind(&new_delta)
            .bind(digest(&sealed))
            .bind(&new_diff)
            .execute(&mut *conn)
            .await?;
        }
        prev = Some((text, sealed));
    }
    Ok(())
}

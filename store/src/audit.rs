//! The audit log: who did what, to which object, when, from where, with the
//! before and after. Append-only (a trigger refuses UPDATE and DELETE) and
//! hash-chained: each row's hash covers the previous hash and the row's
//! canonical form, so editing or removing a row breaks `vxguard audit verify`.

use crate::error::Result;
use crate::locks;
use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

/// Whoever acts: what the audit log records of a caller. The server's
/// principal implements it, so the store needs no notion of requests.
pub trait Actor {
    /// `user:alice@example.com`, `token:ci`, `system:worker`…
    fn subject(&self) -> &str;
    /// Where the call came from (an address, `local`).
    fn source(&self) -> &str;
}

impl<T: Actor + ?Sized> Actor for &T {
    fn subject(&self) -> &str {
        (**self).subject()
    }
    fn source(&self) -> &str {
        (**self).source()
    }
}

pub struct Entry<'a> {
    pub actor: &'a str,
    pub tenant_id: Option<Uuid>,
    pub action: &'a str,
    pub object: &'a str,
    pub source: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// The job the change queued (linked from the entry).
    pub job: Option<i64>,
}

impl<'a> Entry<'a> {
    /// What a caller did: the actor and source come from the caller.
    pub fn by<A: Actor>(
        who: &'a A,
        tenant_id: Option<Uuid>,
        action: &'a str,
        object: &'a str,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Self {
        Entry {
            actor: who.subject(),
            tenant_id,
            action,
            object,
            source: who.source(),
            before,
            after,
            job: None,
        }
    }

    /// The same entry, naming the job its change queued.
    pub fn queued(self, job: i64) -> Self {
        Entry {
            job: Some(job),
            ..self
        }
    }
}

/// JSON with object keys sorted at every level: the form that is hashed, so
/// the hash does not depend on how PostgreSQL's jsonb orders keys.
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let body: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&m[*k])))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

#[allow(clippy::too_many_arguments)]
fn row_hash(
    prev: &[u8],
    at: &DateTime<Utc>,
    actor: &str,
    tenant: Option<Uuid>,
    action: &str,
    object: &str,
    source: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    job: Option<i64>,
) -> Vec<u8> {
    let mut doc = serde_json::json!({
        "at": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "actor": actor,
        "tenant": tenant,
        "action": action,
        "object": object,
        "source": source,
        "before": before,
        "after": after,
    });
    // Only when set, so entries written before the column keep their hash.
    if let Some(j) = job {
        doc["job"] = j.into();
    }
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical(&doc).as_bytes());
    h.finalize().to_vec()
}

/// Appends one entry inside the caller's transaction: it lands only if the
/// change it describes does.
pub async fn append(conn: &mut PgConnection, e: Entry<'_>) -> Result<()> {
    locks::xact_lock(conn, locks::CHAIN).await?;
    let prev: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let prev = prev.unwrap_or_else(|| vec![0u8; 32]);
    let at = Utc::now().trunc_subsecs(6);
    let hash = row_hash(
        &prev,
        &at,
        e.actor,
        e.tenant_id,
        e.action,
        e.object,
        e.source,
        e.before.as_ref(),
        e.after.as_ref(),
        e.job,
    );
    sqlx::query(
        "INSERT INTO audit_log (at, actor, tenant_id, action, object, source, before, after, prev_hash, hash, job_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(at)
    .bind(e.actor)
    .bind(e.tenant_id)
    .bind(e.action)
    .bind(e.object)
    .bind(e.source)
    .bind(e.before)
    .bind(e.after)
    .bind(&prev)
    .bind(&hash)
    .bind(e.job)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Something a user did to their own account (log in, change the
/// password…): the user is both the actor and the object.
pub async fn own_account(
    conn: &mut PgConnection,
    email: &str,
    tenant_id: Option<Uuid>,
    action: &str,
    source: &str,
) -> Result<()> {
    append(
        conn,
        Entry {
            actor: &format!("user:{email}"),
            tenant_id,
            action,
            object: &format!("users/{email}"),
            source,
            before: None,
            after: None,
            job: None,
        },
    )
    .await
}

#[derive(Debug, Serialize)]
pub struct Broken {
    pub id: i64,
    pub reason: &'static str,
}

/// Walks the whole chain; returns the number of rows checked, or the first
/// row where it breaks.
pub async fn verify(db: &PgPool) -> Result<Result<u64, Broken>> {
    let rows = sqlx::query(
        "SELECT id, at, actor, tenant_id, action, object, source, before, after, prev_hash, hash, job_id
         FROM audit_log ORDER BY id",
    )
    .fetch_all(db)
    .await?;
    let mut prev = vec![0u8; 32];
    let mut n = 0u64;
    for r in rows {
        let id: i64 = r.get("id");
        let stored_prev: Vec<u8> = r.get("prev_hash");
        if stored_prev != prev {
            return Ok(Err(Broken {
                id,
                reason: "prev_hash does not match the previous row (a row was removed or inserted)",
            }));
        }
        let before: Option<Value> = r.get("before");
        let after: Option<Value> = r.get("after");
        let h = row_hash(
            &prev,
            &r.get::<DateTime<Utc>, _>("at"),
            r.get("actor"),
            r.get("tenant_id"),
            r.get("action"),
            r.get("object"),
            r.get("source"),
            before.as_ref(),
            after.as_ref(),
            r.get("job_id"),
        );
        let stored: Vec<u8> = r.get("hash");
        if stored != h {
            return Ok(Err(Broken {
                id,
                reason: "the row's content does not match its hash (it was edited)",
            }));
        }
        prev = stored;
        n += 1;
    }
    Ok(Ok(n))
}

/// One entry as listed.
#[derive(Serialize, sqlx::FromRow)]
pub struct Listed {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub source: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// The job the change queued.
    pub job_id: Option<i64>,
    /// The tenant's slug (`None`: the platform's, or an anonymous login).
    pub tenant: Option<String>,
}

/// What a list of the log keeps: every field that is set must hold.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// One tenant's entries.
    pub tenant: Option<Uuid>,
    /// Entries whose action is this one, or under it (`login` keeps
    /// `login` and `login.failed`).
    pub action: Option<String>,
    /// Entries whose actor, object or action contain this (any case).
    pub search: Option<String>,
    /// Entries at or after.
    pub since: Option<DateTime<Utc>>,
    /// Entries before.
    pub until: Option<DateTime<Utc>>,
    /// Entries older than this one (the cursor).
    pub before: Option<i64>,
}

/// `s` as a LIKE pattern that matches it anywhere, its own `%`, `_` and
/// `\` taken literally.
pub fn contains_pattern(s: &str) -> String {
    let mut p = String::with_capacity(s.len() + 2);
    p.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The log, newest first, as `f` filters it (in SQL), at most `limit`.
pub async fn list(db: &PgPool, f: &Filter, limit: i64) -> Result<Vec<Listed>> {
    Ok(sqlx::query_as(
        "SELECT a.id, a.at, a.actor, a.action, a.object, a.source, a.before, a.after, a.job_id,
                t.slug AS tenant
         FROM audit_log a LEFT JOIN tenants t ON t.id = a.tenant_id
         WHERE ($1::uuid IS NULL OR a.tenant_id = $1)
           AND ($2::bigint IS NULL OR a.id < $2)
           AND ($3::text IS NULL OR a.action = $3 OR a.action LIKE $3 || '.%')
           AND ($4::text IS NULL OR a.actor ILIKE $4 OR a.object ILIKE $4 OR a.action ILIKE $4)
           AND ($5::timestamptz IS NULL OR a.at >= $5)
           AND ($6::timestamptz IS NULL OR a.at < $6)
         ORDER BY a.id DESC LIMIT $7",
    )
    .bind(f.tenant)
    .bind(f.before)
    .bind(f.action.as_deref())
    .bind(f.search.as_deref().map(contains_pattern))
    .bind(f.since)
    .bind(f.until)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn contains_pattern_takes_wildcards_literally() {
        assert_eq!(super::contains_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
        assert_eq!(super::contains_pattern("login"), "%login%");
    }

    #[test]
    fn canonical_sorts_keys_at_every_level() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"z":1,"y":2}],"c":"x"}}"#).unwrap();
        assert_eq!(
            canonical(&a),
            r#"{"a":{"c":"x","d":[1,{"y":2,"z":1}]},"b":1}"#
        );
    }
}

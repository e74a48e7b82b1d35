//! The platform's intent revision: a platform-wide change outside the
//! declared objects (keys, the mesh's state) bumps it, so that the
//! worker's next job recompiles the platform.

use crate::error::Result;
use sqlx::PgConnection;

pub async fn bump(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("UPDATE platform_intent SET intent_rev = nextval('intent_rev') WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

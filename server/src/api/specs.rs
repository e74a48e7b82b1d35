//! Placeholders named like the compiler's types: utoipa refers to them by
//! name, and `openapi::document` replaces their schemas with the
//! compiler's own.

use utoipa::ToSchema;
#[derive(ToSchema)]
pub struct Site {}
#[derive(ToSchema)]
pub struct Router {}
#[derive(ToSchema)]
pub struct Hypervisor {}
#[derive(ToSchema)]
pub struct Network {}
#[derive(ToSchema)]
pub struct Service {}
#[derive(ToSchema)]
pub struct Rule {}
#[derive(ToSchema)]
pub struct Client {}

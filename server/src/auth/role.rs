//! What a user may do: the three roles.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    PlatformAdmin,
    TenantAdmin,
    TenantMember,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::TenantAdmin => "tenant_admin",
            Role::TenantMember => "tenant_member",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "platform_admin" => Some(Role::PlatformAdmin),
            "tenant_admin" => Some(Role::TenantAdmin),
            "tenant_member" => Some(Role::TenantMember),
            _ => None,
        }
    }
}

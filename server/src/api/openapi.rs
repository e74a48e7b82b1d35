//! The OpenAPI 3.1 document. Paths and API types come from utoipa; the
//! declared objects (sites, networks, rules, ...) are the compiler's own
//! types, whose JSON Schemas come from schemars (OpenAPI 3.1 schemas are
//! JSON Schema 2020-12), so the document describes exactly what the API
//! accepts. `openapi/openapi.json` is this document, kept in sync by a test.

use crate::state::AppState;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use schemars::generate::SchemaSettings;
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A JWT access token from /api/v1/auth/login, or a tenant API token (vxa_...)"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "vxguard API", description = "Multi-tenant WireGuard/EVPN overlay control plane: declare tenants' networks, policies and clients; every change is validated, allocated and compiled by a worker into VyOS and Open vSwitch configuration."),
    modifiers(&Bearer),
    paths(
        super::health::healthz, super::health::readyz,
        super::auth::login, super::auth::refresh, super::auth::logout, super::auth::me,
        super::objects::sites::list, super::objects::sites::create, super::objects::sites::get_one, super::objects::sites::put, super::objects::sites::delete,
        super::objects::routers::list, super::objects::routers::create, super::objects::routers::get_one, super::objects::routers::put, super::objects::routers::delete,
        super::objects::hypervisors::list, super::objects::hypervisors::create, super::objects::hypervisors::get_one, super::objects::hypervisors::put, super::objects::hypervisors::delete,
        super::tenants::list, super::tenants::create, super::tenants::get_one, super::tenants::update, super::tenants::delete,
        super::quotas::get_quotas, super::quotas::set_quotas,
        super::objects::networks::list, super::objects::networks::create, super::objects::networks::get_one, super::objects::networks::put, super::objects::networks::delete,
        super::objects::services::list, super::objects::services::create, super::objects::services::get_one, super::objects::services::put, super::objects::services::delete,
        super::objects::rules::list, super::objects::rules::create, super::objects::rules::get_one, super::objects::rules::put, super::objects::rules::delete,
        super::policy::reorder, super::policy::preview,
        super::clients::list, super::clients::create, super::clients::get_config, super::objects::clients_generic::get_one, super::objects::clients_generic::put, super::objects::clients_generic::delete,
        super::users::list_all, super::users::create_any, super::users::delete_any, super::users::list_members, super::users::create_member, super::users::delete_member, super::users::reset_any, super::users::reset_member,
        super::tokens::list, super::tokens::create, super::tokens::revoke,
        super::jobs::list_all, super::jobs::list_tenant, super::jobs::get_one, super::jobs::events, super::jobs::retry_one,
        super::revisions::list, super::revisions::get_one,
        super::devices::list, super::devices::rotate, super::devices::rotate_wireguard, super::devices::trust,
        super::network_health::platform, super::network_health::tenant,
        super::audit::list_all, super::audit::list_tenant,
    ),
)]
struct ApiDoc;

/// The whole document as JSON, with the compiler's schemas in place.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator();
    use vxguard_compiler::intent as i;
    generator.subschema_for::<i::Site>();
    generator.subschema_for::<i::Router>();
    generator.subschema_for::<i::Hypervisor>();
    generator.subschema_for::<i::Network>();
    generator.subschema_for::<i::Service>();
    generator.subschema_for::<i::Rule>();
    generator.subschema_for::<i::Client>();
    let schemas = doc["components"]["schemas"]
        .as_object_mut()
        .expect("components exist");
    for (name, schema) in generator.take_definitions(true) {
        schemas.insert(name, schema);
    }
    problems_everywhere(&mut doc);
    doc
}

/// Errors are `application/problem+json`, and every API operation can
/// answer 400 for a malformed query string, path or body.
fn problems_everywhere(doc: &mut Value) {
    let problem = serde_json::json!({
        "description": "bad query string, path or body",
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    });
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(ops) = item.as_object_mut() else {
            continue;
        };
        for op in ops.values_mut() {
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            for (code, r) in responses.iter_mut() {
                // An event stream's schema describes each event: `event`
                // names it, `data` holds the JSON (OpenAPI 3.2's itemSchema
                // form, which tools already read this way).
                if let Some(sse) = r.pointer_mut("/content/text~1event-stream") {
                    let data = sse["schema"].take();
                    sse["schema"] = serde_json::json!({
                        "type": "object",
                        "required": ["data"],
                        "properties": {
                            "event": {"type": "string"},
                            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": data},
                        }
                    });
                }
                if code.starts_with('4') || code.starts_with('5') {
                    if let Some(c) = r.get_mut("content").and_then(Value::as_object_mut) {
                        if let Some(v) = c.remove("application/json") {
                            c.insert("application/problem+json".into(), v);
                        }
                    }
                }
            }
            if path.starts_with("/api/") && !responses.contains_key("400") {
                responses.insert("400".into(), problem.clone());
            }
        }
    }
}

/// Interactive documentation that needs nothing from the internet: a page
/// that reads the document and lists every operation with its schemas.
const DOCS_HTML: &str = include_str!("openapi_docs.html");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    serde_json::to_string_pretty(&document()).unwrap_or_default(),
                )
                    .into_response()
            }),
        )
        .route("/api/docs", get(|| async { Html(DOCS_HTML) }))
}

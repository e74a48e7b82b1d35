//! The portal's HTML, page by page, against stored snapshots
//! (`tests/render/*.html`): moving code between modules (issue 16) must not
//! change what the server renders. `UPDATE_SNAPSHOTS=1` rewrites them.
#![cfg(feature = "ssr")]

use app::admin::*;
use app::clients::*;
use app::data::dashboard::FailedChange;
use app::data::lists::{FilterBar, FilterField, Pager};
use app::health::ServerOnly;
use app::members::*;
use app::platform::{Input, SchemaField, SpecEdit};
use app::policy::{RuleFilter, RulePager, ServiceForm, ServiceItem};
use app::wg::{ClientConfig, ConfigPeer};
use app::*;

fn s(v: &str) -> String {
    v.to_string()
}

fn errors() -> FieldErrors {
    FieldErrors {
        fields: vec![(s("name"), s("bad <name>")), (s("cidr"), s("not a prefix"))],
        form: vec![s("it failed & why")],
    }
}

fn user(admin: bool) -> User {
    User {
        email: s("a@example.com"),
        role: s(if admin {
            "platform admin"
        } else {
            "tenant admin"
        }),
        tenant: (!admin).then(|| s("acme")),
        platform_admin: admin,
    }
}

fn network_form(errs: bool) -> NetworkForm {
    NetworkForm {
        name: s("web"),
        cidr: s("100.64.2.0/28"),
        gateways: vec![s("s1/r1")],
        routers: vec![
            RouterChoice {
                site: s("s1"),
                name: s("r1"),
            },
            RouterChoice {
                site: s("s2"),
                name: s("r2"),
            },
        ],
        errors: if errs {
            errors()
        } else {
            FieldErrors::default()
        },
        suggested: (!errs).then(|| s("100.65.1.0/24")),
    }
}

fn state() -> DeviceStateRow {
    DeviceStateRow {
        state: s("failed"),
        applied: Some(3),
        error: Some(s("boom")),
        drift_lines: 2,
    }
}

fn audit() -> Vec<AuditRow> {
    vec![AuditRow {
        id: 7,
        at: s("2026-01-01 10:00"),
        actor: s("a@example.com"),
        action: s("network.create"),
        object: s("tenants/acme/networks/web"),
        source: s("portal"),
        job: Some(12),
        tenant: Some(s("acme")),
        before: None,
        after: Some(s("{\n  \"cidr\": \"100.64.2.0/28\"\n}")),
    }]
}

/// A filter bar with each kind of field, one set.
fn filters(path: &str) -> FilterBar {
    FilterBar {
        action: s(path),
        fields: vec![
            FilterField::Text {
                name: s("q"),
                label: s("Search"),
                value: s("web"),
                placeholder: s("change or who"),
            },
            FilterField::Choice {
                name: s("status"),
                label: s("State"),
                value: s("failed"),
                options: vec![(s(""), s("any state")), (s("failed"), s("failed"))],
            },
            FilterField::Date {
                name: s("from"),
                label: s("From (UTC)"),
                value: s(""),
            },
        ],
        active: true,
        shown: 1,
    }
}

fn pager(path: &str) -> Pager {
    Pager {
        older: Some(format!("{path}?q=web&cursor=4")),
        first: Some(format!("{path}?q=web")),
    }
}

fn client(n: &str) -> ClientEntry {
    ClientEntry {
        name: s(n),
        address: Some(s("100.65.0.2")),
        public_key: s("KEY="),
        networks: vec![s("web")],
        configuration: Some(s("current")),
        added: s("2026-11-20 10:00:00 UTC"),
        added_by: Some(s("user:acme-admin@example.com")),
        mine: false,
        expires: None,
    }
}

fn config() -> ClientConfig {
    ClientConfig {
        tenant: s("acme"),
        client: s("laptop"),
        address: s("100.65.0.2"),
        dns: vec![s("100.64.0.53")],
        peers: vec![ConfigPeer {
            public_key: s("K"),
            endpoint: s("[2001:db8::1]:51821"),
            allowed_ips: vec![s("100.64.1.0/28")],
            persistent_keepalive: Some(25),
        }],
    }
}

fn spec(name: Option<&str>, del: bool) -> Page {
    let field = |n: &str, input: Input, value: &str, error: Option<&str>| SchemaField {
        name: s(n),
        help: s("What it is. Default: eth0."),
        input,
        required: n != "underlay_interface",
        readonly: n == "name" && name.is_some(),
        value: s(value),
        error: error.map(s),
    };
    let e = SpecEdit {
        kind: s("router"),
        name: name.map(s),
        version: 4,
        spec: s("{\"name\": \"r1\"}"),
        errors: vec![s("`/site`: no such site")],
        notice: Some(s("saved")),
        job: Some(9),
        confirm_delete: del,
        fields: vec![
            field("name", Input::Text, "r1", None),
            field("site", Input::Text, "dc9", Some("Site: no such site.")),
            field(
                "version",
                Input::Select(vec![s("1.4"), s("1.5")]),
                "1.5",
                None,
            ),
            field("underlay_interface", Input::Text, "", None),
        ],
        preview: None,
    };
    Page::Admin(Box::new(Console {
        section: Section::Spec {
            title: e.title(),
            edit: ServerOnly(Box::new(e)),
        },
    }))
}

fn rule(id: u32, disabled: bool, shadowed: bool) -> RuleRow {
    RuleRow {
        id,
        // Rules 3, 1, 2 in that order: numbers are not positions.
        position: [2, 3, 1][id as usize % 3] + 100,
        version: 2,
        description: s("web in"),
        action: s("accept"),
        protocol: s("tcp"),
        ports: s("443"),
        source: s("any"),
        destination: s("network:web"),
        disabled,
        shadowed: shadowed.then(|| s("rule 1 covers it")),
    }
}

fn policy(edit: bool, confirm: bool) -> Page {
    let preview = PreviewView {
        title: s("Move rule 3 above rule 2"),
        summary: s("Changes 2 firewall rules on 2 routers."),
        devices: vec![
            DeviceChange {
                kind: s("router"),
                device: s("r1"),
                same_on: vec![s("r2")],
                removed: vec![s("set a")],
                added: vec![s("set b")],
                more_removed: 1,
                more_added: 0,
            },
            DeviceChange {
                kind: s("hypervisor"),
                device: s("hv1"),
                same_on: vec![],
                removed: vec![],
                added: vec![s(
                    "table=11,priority=880,tcp,metadata=7,tp_dst=443,actions=drop",
                )],
                more_removed: 0,
                more_added: 0,
            },
        ],
        warnings: vec![s("careful")],
        confirm: confirm.then(|| ConfirmForm {
            action: s("/t/acme/policy/rules/3/delete"),
            label: s("Delete rule 3"),
            danger: true,
            fields: vec![(s("version"), s("2"))],
        }),
    };
    Page::Policy(Box::new(PolicyPage {
        slug: s("acme"),
        name: s("Acme"),
        can_write: true,
        default_action: s("drop"),
        tenant_version: 4,
        services: vec![
            ServiceItem {
                id: s("dns"),
                description: s("resolvers"),
                addresses: vec![s("100.64.0.53/32")],
                version: 2,
                used_by: vec![3, 9],
                error: confirm.then(|| s("Service dns is used by rules 3 and 9")),
            },
            ServiceItem {
                id: s("idle"),
                addresses: vec![s("100.64.0.7/32"), s("100.64.1.0/28")],
                version: 1,
                ..ServiceItem::default()
            },
        ],
        service_form: ServiceForm {
            editing: edit.then_some(2),
            id: s("dns"),
            description: s(""),
            addresses: s("100.64.0.53/32\nnot-an-address"),
            errors: FieldErrors {
                fields: vec![(s("addresses"), s("not an IPv4 prefix"))],
                form: vec![],
            },
        },
        rules: vec![
            rule(1, false, false),
            rule(2, true, false),
            rule(3, false, true),
        ],
        pager: RulePager::new(250, 2),
        filter: RuleFilter {
            q: if edit { s("web in") } else { s("") },
            action: s(""),
            service: if edit { s("dns") } else { s("") },
        },
        total_rules: 300,
        order_version: s("abc"),
        networks: vec![s("web")],
        form: RuleForm {
            editing: edit.then_some((3, 2)),
            id: s("4"),
            description: s("d"),
            action: s("drop"),
            protocol: s("udp"),
            port: s("53"),
            source: s("cidr"),
            source_cidr: s("10.0.0.0/8"),
            destination: s("service:dns"),
            destination_cidr: s(""),
            disabled: true,
            errors: errors(),
        },
        preview: Some(preview),
        notice: Some(s("Saved")),
        alerts: vec![s("stale")],
    }))
}

/// A failed job with a device in each state; `admin`: the console's view
/// (device errors and links).
fn job(admin: bool) -> JobPage {
    let dev = |name: &str, state: &str| JobDeviceRow {
        kind: s(if name.starts_with("hv") {
            "hypervisor"
        } else {
            "router"
        }),
        name: s(name),
        seq: Some(3),
        state: s(state),
        applied_at: (state == "applied").then(|| s("2026-01-01 00:00:00 UTC")),
        failed_at: (state == "failed").then(|| s("2026-01-01 00:00:01 UTC")),
        error: (admin && state == "failed").then(|| s("commit <failed>")),
    };
    JobPage {
        id: 7,
        tenant: Some(s("acme")),
        can_write: !admin,
        admin,
        reason: s("update tenants/acme/networks/web"),
        status: s("failed"),
        created_by: s("a@example.com"),
        created_at: s("x"),
        started_at: Some(s("y")),
        finished_at: None,
        errors: vec![s("/networks/web: overlaps <db>")],
        devices: vec![
            dev("r1", "applied"),
            dev("r2", "failed"),
            dev("r3", "pending"),
            dev("hv1", "compiled"),
        ],
        jobs_base: s(if admin { "/admin/jobs" } else { "/t/acme/jobs" }),
        retry: Some(s(if admin {
            "/admin/jobs/7/retry"
        } else {
            "/t/acme/jobs/7/retry"
        })),
        retry_refused: None,
        retry_of: Some(5),
        notice: Some(s("Queued again: this job retries job #5's change.")),
    }
}

fn pages() -> Vec<(&'static str, Option<User>, Page)> {
    let tenant = Some(user(false));
    let admin = Some(user(true));
    let dashboard = |write: bool| Dashboard {
        slug: s("acme"),
        name: s("Acme"),
        can_write: write,
        default_action: s("drop"),
        networks: vec![NetworkRow {
            name: s("web"),
            cidr: s("100.64.2.0/28"),
            vni: Some(10),
            sites: vec![NetworkSiteRow {
                site: s("s1"),
                gateways: vec![s("r1")],
                virtual_address: None,
            }],
            ports: 2,
            failed: Some(FailedChange {
                object: s("tenants/acme/networks/web"),
                job: 5,
                why: s("apply failed on r1"),
            }),
        }],
        services: vec![ServiceRow {
            id: s("dns"),
            addresses: vec![s("100.64.0.53")],
        }],
        rules: 1,
        clients: vec![ClientRow {
            name: s("laptop"),
            address: None,
            networks: vec![s("web")],
        }],
        jobs: vec![JobRow {
            id: 5,
            reason: s("network web"),
            status: s("failed"),
            created_by: s("a@example.com"),
            created_at: s("2026-01-01"),
            why: vec![s("r1 unreachable")],
        }],
        sites: vec![s("s1")],
        form: network_form(write),
        notice: Some(s("Created network web: job #5 compiles it.")),
        failed: vec![FailedChange {
            object: s("tenants/acme/rules/3"),
            job: 6,
            why: s("rules/3: unknown network"),
        }],
        health: Default::default(),
    };
    let edit = |del: bool| NetworkEdit {
        slug: s("acme"),
        name: s("web"),
        version: 3,
        cidr: s("100.64.2.0/28"),
        vni: None,
        form: network_form(true),
        confirm_delete: del,
    };
    let reset = |done: bool| PasswordReset {
        email: s("b@example.com"),
        action: s("/t/acme/members/2/reset"),
        back: s("/t/acme/members"),
        temporary: done.then(|| s("abcde-fghjk-mnpqr-stuvw")),
        errors: if done {
            vec![]
        } else {
            vec![s("it failed & why")]
        },
    };
    let members = |confirm: bool, write: bool| MembersPage {
        slug: s("acme"),
        name: s("Acme"),
        can_write: write,
        // Shown ticked to an admin, said to a member.
        members_add_clients: true,
        me: s("a@example.com"),
        members: vec![
            MemberRow {
                id: s("1"),
                email: s("a@example.com"),
                role: s("tenant admin"),
                created_at: s("x"),
            },
            MemberRow {
                id: s("2"),
                email: s("b@example.com"),
                role: s("tenant member"),
                created_at: s("y"),
            },
        ],
        form: MemberForm {
            email: s("c@example.com"),
            role: s("tenant_admin"),
            errors: errors(),
        },
        notice: Some(s("Added")),
        confirm_remove: confirm.then(|| MemberRow {
            id: s("2"),
            email: s("b@example.com"),
            role: s("tenant member"),
            created_at: s("y"),
        }),
        resetting: false,
        reset: ServerOnly(None),
    };
    vec![
        (
            "login",
            None,
            Page::Login(Login {
                email: s("a@example.com"),
                next: s("/t/acme"),
                error: Some(s("wrong")),
                fields: FieldErrors::default(),
                csrf: s("c"),
            }),
        ),
        (
            "login-empty",
            None,
            Page::Login(Login {
                email: s(""),
                next: s("/"),
                error: None,
                fields: FieldErrors {
                    fields: vec![
                        (s("email"), s("Enter the email address you log in with.")),
                        (s("password"), s("Enter your password.")),
                    ],
                    form: vec![],
                },
                csrf: s("c"),
            }),
        ),
        (
            "login-clean",
            None,
            Page::Login(Login {
                email: s(""),
                next: s("/"),
                error: None,
                fields: FieldErrors::default(),
                csrf: s("c"),
            }),
        ),
        (
            "dashboard",
            tenant.clone(),
            Page::Dashboard(Box::new(dashboard(true))),
        ),
        (
            "dashboard-ro",
            tenant.clone(),
            Page::Dashboard(Box::new(dashboard(false))),
        ),
        (
            // A new tenant: its admin's first steps, one of them done.
            "dashboard-new",
            tenant.clone(),
            Page::Dashboard(Box::new(Dashboard {
                networks: vec![],
                clients: vec![],
                rules: 2,
                ..dashboard(true)
            })),
        ),
        (
            "network-edit",
            tenant.clone(),
            Page::NetworkEdit(Box::new(edit(false))),
        ),
        (
            "network-delete",
            tenant.clone(),
            Page::NetworkEdit(Box::new(edit(true))),
        ),
        (
            "password",
            tenant.clone(),
            Page::Password(PasswordPage {
                errors: errors(),
                changed: true,
                required: true,
            }),
        ),
        (
            "members",
            tenant.clone(),
            Page::Members(Box::new(members(false, true))),
        ),
        (
            "members-ro",
            tenant.clone(),
            Page::Members(Box::new(members(false, false))),
        ),
        (
            "member-remove",
            tenant.clone(),
            Page::Members(Box::new(members(true, true))),
        ),
        (
            "tokens",
            tenant.clone(),
            Page::Tokens(Box::new(TokensPage {
                slug: s("acme"),
                name: s("Acme"),
                tokens: vec![
                    TokenRow {
                        id: s("1"),
                        name: s("ci"),
                        role: s("tenant_admin"),
                        created_at: s("x"),
                        last_used_at: None,
                        revoked_at: None,
                    },
                    TokenRow {
                        id: s("2"),
                        name: s("old"),
                        role: s("tenant_member"),
                        created_at: s("x"),
                        last_used_at: Some(s("y")),
                        revoked_at: Some(s("z")),
                    },
                ],
                form: TokenForm {
                    name: s("n"),
                    role: s("tenant_member"),
                    errors: errors(),
                },
                created: Some(CreatedToken {
                    name: s("ci"),
                    secret: s("vxg_secret"),
                }),
                notice: None,
            })),
        ),
        (
            "audit",
            tenant.clone(),
            Page::TenantAudit(Box::new(AuditPage {
                slug: Some(s("acme")),
                name: s("Acme"),
                can_write: false,
                entries: audit(),
                filters: filters("/t/acme/audit"),
                pager: pager("/t/acme/audit"),
            })),
        ),
        ("policy", tenant.clone(), policy(false, false)),
        ("policy-edit", tenant.clone(), policy(true, false)),
        ("policy-confirm", tenant.clone(), policy(false, true)),
        (
            "clients",
            tenant.clone(),
            Page::Clients(Box::new(ClientsPage {
                slug: s("acme"),
                name: s("Acme"),
                can_write: true,
                can_add: true,
                clients: vec![
                    client("laptop"),
                    ClientEntry {
                        configuration: Some(s("previous")),
                        expires: Some(s("2027-01-31 18:00:00 UTC")),
                        ..client("phone")
                    },
                ],
                networks: vec![s("web"), s("db")],
                form: ClientForm {
                    name: s("x"),
                    public_key: s("P"),
                    networks: vec![s("db")],
                    expires_at: s("2026-01-01T10:00"),
                    errors: FieldErrors {
                        fields: vec![(
                            s("expires_at"),
                            s("2026-01-01 10:00:00 UTC has passed: an expiry must be in the future"),
                        )],
                        ..errors()
                    },
                },
                notice: Some(s("Revoked")),
                created: Some(config()),
            })),
        ),
        (
            "clients-empty",
            tenant.clone(),
            Page::Clients(Box::new(ClientsPage {
                slug: s("acme"),
                name: s("Acme"),
                can_write: false,
                can_add: false,
                clients: vec![],
                networks: vec![],
                form: ClientForm::default(),
                notice: None,
                created: None,
            })),
        ),
        (
            // A member of a tenant that lets members add their own
            // clients: the form, and revoke and re-key for their own only.
            "clients-member",
            tenant.clone(),
            Page::Clients(Box::new(ClientsPage {
                slug: s("acme"),
                name: s("Acme"),
                can_write: false,
                can_add: true,
                clients: vec![
                    ClientEntry {
                        mine: true,
                        configuration: Some(s("stale")),
                        ..client("laptop")
                    },
                    ClientEntry {
                        configuration: Some(s("previous")),
                        ..client("phone")
                    },
                ],
                networks: vec![s("web")],
                form: ClientForm::default(),
                notice: None,
                created: None,
            })),
        ),
        (
            "client-delete",
            tenant.clone(),
            Page::ClientDelete(Box::new(ClientDelete {
                slug: s("acme"),
                can_write: true,
                client: client("laptop"),
                version: 2,
                errors: vec![s("stale")],
            })),
        ),
        (
            "admin-tenants",
            admin.clone(),
            Page::Admin(Box::new(Console {
                section: Section::Tenants {
                    tenants: vec![TenantRow {
                        slug: s("acme"),
                        name: s("Acme"),
                        networks: 2,
                        users: 3,
                        default_action: s("drop"),
                    }],
                    form: TenantForm {
                        slug: s("x"),
                        name: s("X"),
                        default_action: s("reject"),
                        admin_email: s("e"),
                        errors: errors(),
                    },
                    notice: Some(s("Created; job #9 compiles it.")),
                    filters: filters("/admin"),
                    pager: Pager::default(),
                },
            })),
        ),
        (
            "admin-platform",
            admin.clone(),
            Page::Admin(Box::new(Console {
                section: Section::Platform {
                    sites: vec![SiteRow {
                        name: s("s1"),
                        public_blocks: vec![s("192.0.2.0/24")],
                    }],
                    routers: vec![
                        RouterRow {
                            name: s("r1"),
                            site: s("s1"),
                            version: s("1.4"),
                            underlay_address: s("192.0.2.1"),
                            api_endpoint: s("https://r1"),
                            api_trust: s("public roots"),
                            revision: Some(3),
                            state: state(),
                            api_key: Some(s("vxguard:api-key:ab12")),
                            rotation: None,
                            presented_certificate: Some(s("AB:CD")),
                            mesh_key: Some(MeshKeyRow {
                                fingerprint: s("0123456789abcdef"),
                                since: Some(s("2026-12-01 10:00:00 UTC")),
                                next: Some(s("2026-12-08 10:00:00 UTC")),
                                rotating: false,
                            }),
                        },
                        RouterRow {
                            name: s("r2"),
                            site: s("s1"),
                            version: s("1.5"),
                            underlay_address: s("192.0.2.2"),
                            api_endpoint: s("https://r2"),
                            api_trust: s("pinned AB:CD"),
                            revision: None,
                            state: DeviceStateRow::default(),
                            api_key: Some(s("vxguard:api-key:cd34")),
                            rotation: Some(s("added")),
                            presented_certificate: None,
                            mesh_key: None,
                        },
                    ],
                    hypervisors: vec![HypervisorRow {
                        name: s("h1"),
                        site: s("s1"),
                        underlay_address: s("192.0.2.9"),
                        vtep_address: None,
                        bridge: s("br0"),
                        revision: None,
                        state: DeviceStateRow::default(),
                        mesh_key: Some(MeshKeyRow {
                            fingerprint: s("fedcba9876543210"),
                            since: None,
                            next: None,
                            rotating: true,
                        }),
                    }],
                    notice: Some(s("Rotating the API key of r1")),
                },
            })),
        ),
        (
            "admin-platform-empty",
            admin.clone(),
            Page::Admin(Box::new(Console {
                section: Section::Platform {
                    sites: vec![],
                    routers: vec![],
                    hypervisors: vec![],
                    notice: None,
                },
            })),
        ),
        (
            "admin-users",
            admin.clone(),
            Page::Admin(Box::new(Console {
                section: Section::Users {
                    filters: filters("/admin/users"),
                    pager: pager("/admin/users"),
                    users: vec![
                        UserRow {
                            id: s("1"),
                            email: s("a"),
                            role: s("platform admin"),
                            tenant: None,
                            created_at: s("x"),
                            you: true,
                        },
                        UserRow {
                            id: s("2"),
                            email: s("b"),
                            role: s("tenant admin"),
                            tenant: Some(s("acme")),
                            created_at: s("y"),
                            you: false,
                        },
                    ],
                },
            })),
        ),
        (
            "admin-user-reset",
            admin.clone(),
            Page::Admin(Box::new(Console {
                section: Section::ResetPassword {
                    title: s("Reset the password of b@example.com"),
                    reset: ServerOnly(PasswordReset {
                        action: s("/admin/users/2/reset"),
                        back: s("/admin/users"),
                        ..reset(false)
                    }),
                },
            })),
        ),
        (
            "members-reset-done",
            tenant.clone(),
            Page::Members(Box::new(MembersPage {
                resetting: true,
                reset: ServerOnly(Some(reset(true))),
                ..members(false, true)
            })),
        ),
        (
            "admin-jobs",
            admin.clone(),
            Page::Admin(Box::new(Console {
                section: Section::Jobs {
                    jobs: vec![AdminJobRow {
                        id: 4,
                        tenant: None,
                        reason: s("r"),
                        status: s("done"),
                        created_by: s("a"),
                        created_at: s("x"),
                        finished_at: Some(s("y")),
                        why: vec![s("apply failed: router r1")],
                        devices: vec![(s("router"), s("r1"))],
                    }],
                    filters: filters("/admin/jobs"),
                    pager: pager("/admin/jobs"),
                },
            })),
        ),
        (
            "admin-devices",
            admin.clone(),
            Page::Admin(Box::new(Console {
                section: Section::Devices {
                    devices: vec![DeviceListRow {
                        kind: s("router"),
                        name: s("r1"),
                        site: s("s1"),
                        revision: Some(3),
                        state: state(),
                        job: Some(4),
                    }],
                    filters: filters("/admin/devices"),
                    pager: Pager::default(),
                },
            })),
        ),
        (
            "admin-device",
            admin.clone(),
            Page::Admin(Box::new(Console {
                section: Section::Device(DevicePage {
                    kind: s("router"),
                    name: s("r1"),
                    revisions: vec![RevisionRow {
                        seq: 2,
                        job_id: Some(4),
                        created_at: s("x"),
                        changed_lines: 7,
                    }],
                    older: None,
                    newest: true,
                }),
            })),
        ),
        (
            "admin-revision",
            admin.clone(),
            Page::Admin(Box::new(Console {
                section: Section::Revision(Box::new(RevisionPage {
                    kind: s("router"),
                    name: s("r1"),
                    seq: 2,
                    job_id: Some(4),
                    created_at: s("x"),
                    previous: Some(1),
                    diff: vec![
                        DiffLine {
                            added: false,
                            text: s("set a"),
                        },
                        DiffLine {
                            added: true,
                            text: s("set b"),
                        },
                    ],
                    config: s("set b <secret>"),
                })),
            })),
        ),
        (
            "admin-audit",
            admin.clone(),
            Page::Admin(Box::new(Console {
                section: Section::Audit {
                    entries: audit(),
                    filters: filters("/admin/audit"),
                    pager: pager("/admin/audit"),
                },
            })),
        ),
        ("spec-new", admin.clone(), spec(None, false)),
        ("spec-edit", admin.clone(), spec(Some("r1"), false)),
        ("spec-delete", admin.clone(), spec(Some("r1"), true)),
        ("job", tenant.clone(), Page::Job(Box::new(job(false)))),
        (
            "changes",
            tenant.clone(),
            Page::Jobs(Box::new(JobsPage {
                slug: s("acme"),
                name: s("Acme"),
                can_write: true,
                jobs: vec![AdminJobRow {
                    id: 5,
                    tenant: None,
                    reason: s("network.create tenants/acme/networks/web"),
                    status: s("queued"),
                    created_by: s("a@example.com"),
                    created_at: s("x"),
                    finished_at: None,
                    why: vec![],
                    devices: vec![],
                }],
                filters: filters("/t/acme/changes"),
                pager: pager("/t/acme/changes"),
            })),
        ),
        (
            "admin-job",
            admin.clone(),
            Page::Admin(Box::new(Console {
                section: Section::Job(Box::new(job(true))),
            })),
        ),
        ("not-found", tenant.clone(), Page::NotFound),
        (
            "error",
            None,
            Page::Error(ErrorPage {
                status: 500,
                title: s("Oops"),
                detail: s("<bad>"),
            }),
        ),
    ]
}

#[test]
fn pages_render_as_stored() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/render");
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| !v.is_empty());
    let mut differ = vec![];
    for (name, user, page) in pages() {
        let html = render_document(&PageProps {
            user,
            csrf: s("tok"),
            page,
        });
        let path = dir.join(format!("{name}.html"));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &html).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(html.as_str()) {
            differ.push(name);
        }
    }
    assert!(differ.is_empty(), "pages render differently: {differ:?}");
}

//! The tenant's WireGuard remote-access clients: the list, creating one and
//! revoking one.
//!
//! The key pair is made in the browser: once hydrated, the create form
//! generates it (WebCrypto randomness, x25519 in wasm), sends only the name,
//! the allowed networks and the PUBLIC key (with the CSRF token), and builds
//! the `wg-quick` file from what the server answers ([`ClientConfig`]) plus
//! the private key, which never leaves the page: offered as a download and a
//! QR code, shown once. Without JavaScript the same form is a plain POST
//! that needs the user's own public key; the page then shows the file with a
//! place for their private key.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::data::clients::ClientDelete;
#[cfg(feature = "hydrate")]
use crate::data::clients::Submission;
use crate::data::clients::{ClientEntry, ClientForm, ClientsPage, PRIVATE_KEY_PLACEHOLDER};
#[cfg(feature = "hydrate")]
use crate::data::form::FieldErrors;
use crate::wg::{self, ClientConfig};
#[cfg(feature = "ssr")]
use crate::widgets::nav::back_link;
use crate::widgets::nav::{TenantNav, TenantTab};

#[component]
pub fn ClientsPageView(p: ClientsPage, csrf: String) -> impl IntoView {
    let ClientsPage {
        slug,
        name,
        can_write,
        can_add,
        clients,
        networks,
        form,
        notice,
        created,
    } = p;
    let clients = RwSignal::new(clients);
    // The newest client's file: the config and, when made here, the private key.
    let result: RwSignal<Option<(ClientConfig, Option<String>)>> =
        RwSignal::new(created.map(|c| (c, None)));
    let csrf_for_rekey = csrf.clone();
    let form_view = can_add.then(|| {
        view! {
            <CreateForm slug=slug.clone() csrf=csrf networks=networks form=form
                clients=clients result=result/>
        }
    });
    // A member sees why there is no form, and whom to ask.
    let ask = (!can_add).then(|| {
        let members = format!("/t/{slug}/members");
        view! {
            <section class="card" aria-labelledby="add-device-h" id="ask-admin">
                <h2 id="add-device-h">"Adding a device"</h2>
                <p>"This tenant's admins have not let members add their own WireGuard clients. To
                    connect a laptop or phone, ask one of them (they are listed on "
                    <a href=members>"Members"</a>
                    ") to add it, or to let members add their own."</p>
            </section>
        }
    });
    let revoke = can_add.then(|| (slug.clone(), can_write));
    let rekey = can_add.then(|| (slug.clone(), csrf_for_rekey.clone()));
    view! {
        <div class="page-head">
            <h1>"WireGuard clients"</h1>
            <p class="muted">"Tenant " {name} " · laptops and phones that reach its networks over WireGuard"</p>
            <TenantNav slug=slug.clone() current=TenantTab::Clients
                can_write=can_write/>
        </div>
        {notice.map(|n| {
            let text = crate::widgets::lists::job_links(&n, &format!("/t/{slug}/jobs"));
            view! { <p class="notice" role="status" id="client-notice">{text}</p> }
        })}
        {move || result.get().map(|(c, k)| view! { <CreatedCard config=c private_key=k/> })}
        <div class="grid">
            <section class="card wide" aria-labelledby="clients-h">
                <h2 id="clients-h">"Clients"</h2>
                <ClientList clients=clients revoke=revoke rekey=rekey result=result/>
            </section>
            {form_view}
            {ask}
        </div>
    }
}

#[component]
fn ClientList(
    clients: RwSignal<Vec<ClientEntry>>,
    /// Those who may add clients: the tenant, and whether the viewer is an
    /// admin (who revokes any client; a member only their own).
    revoke: Option<(String, bool)>,
    /// Those who may add clients: (tenant, CSRF token) for the "New
    /// configuration" forms (a member's own clients only).
    rekey: Option<(String, String)>,
    result: RwSignal<Option<(ClientConfig, Option<String>)>>,
) -> impl IntoView {
    // False while server-rendered (and without JavaScript); true once hydrated.
    let js = RwSignal::new(false);
    Effect::new(move |_| js.set(true));
    move || {
        let list = clients.get();
        if list.is_empty() {
            return view! { <p class="empty">"No clients yet."</p> }.into_any();
        }
        let revoke = revoke.clone();
        view! {
            <div class="scroll">
                <table id="client-list" class="stack-on-phone">
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Address"</th>
                            <th scope="col">"Public key"</th>
                            <th scope="col">"Reaches"</th>
                            <th scope="col">"Configuration"</th>
                            <th scope="col">"Added"</th>
                            <th scope="col">"Expires"</th>
                            {revoke.is_some().then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                        </tr>
                    </thead>
                    <tbody>
                        {list
                            .into_iter()
                            .map(|c| {
                                let theirs = revoke.as_ref().is_some_and(|(_, admin)| *admin || c.mine);
                                let link = revoke.as_ref().filter(|_| theirs).map(|(t, _)| {
                                    let href = format!("/t/{t}/clients/{}/delete", c.name);
                                    let label = format!("Revoke client {}", c.name);
                                    view! { <td><a href=href aria-label=label class="danger">"Revoke…"</a></td> }
                                });
                                let renew = rekey
                                    .clone()
                                    .filter(|_| theirs && matches!(c.configuration.as_deref(), Some("previous" | "stale")))
                                    .map(|(t, csrf)| view! {
                                        <RekeyForm slug=t csrf=csrf name=c.name.clone() clients=clients
                                            result=result js=js/>
                                    });
                                let reaches = if c.networks.is_empty() {
                                    "all networks".to_string()
                                } else {
                                    c.networks.join(", ")
                                };
                                let key = c.name.clone();
                                view! {
                                    <tr data-client=key>
                                        <th scope="row">{c.name}</th>
                                        <td data-label="Address"><code>{c.address.unwrap_or_else(|| "pending".into())}</code></td>
                                        <td data-label="Public key"><code class="key">{c.public_key}</code></td>
                                        <td data-label="Reaches">{reaches}</td>
                                        <td data-label="Configuration">{configuration_text(c.configuration.as_deref())}{renew}</td>
                                        <td data-label="Added">
                                            <span>{c.added}</span>
                                            {c.added_by.map(|b| view! { <br/><span class="muted">"by " {b}</span> })}
                                        </td>
                                        <td data-label="Expires">
                                            {match c.expires {
                                                Some(at) => view! { <span>{at}</span> }.into_any(),
                                                None => view! { <span class="muted">"never"</span> }.into_any(),
                                            }}
                                        </td>
                                        {link}
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    }
}

/// "New configuration" for a client whose configuration is not current
/// (issue 17, item 5): once hydrated it makes a new key pair here, posts
/// the public half and shows the new file (with the private key, once),
/// as the create form does; without JavaScript it asks for the user's own
/// public key and the page shows the file with a place for the private key.
#[component]
fn RekeyForm(
    slug: String,
    csrf: String,
    name: String,
    clients: RwSignal<Vec<ClientEntry>>,
    result: RwSignal<Option<(ClientConfig, Option<String>)>>,
    js: RwSignal<bool>,
) -> impl IntoView {
    let action = format!("/t/{slug}/clients/{name}/rekey");
    let busy = RwSignal::new(false);
    let failed: RwSignal<Option<String>> = RwSignal::new(None);
    #[cfg(not(feature = "hydrate"))]
    let _ = (&clients, &result);
    let on_submit = {
        let (action, csrf, name) = (action.clone(), csrf.clone(), name.clone());
        move |ev: leptos::ev::SubmitEvent| {
            if busy.get_untracked() {
                ev.prevent_default();
                return;
            }
            #[cfg(feature = "hydrate")]
            {
                ev.prevent_default();
                busy.set(true);
                let submission = Submission {
                    action: action.clone(),
                    csrf: csrf.clone(),
                    name: name.clone(),
                    public_key: String::new(),
                    networks: vec![],
                    // The rekey keeps the client's expiry (the server
                    // changes only its key).
                    expires_at: String::new(),
                };
                leptos::task::spawn_local(async move {
                    match submission.send().await {
                        Ok(made) => {
                            clients.update(|v| {
                                for c in v.iter_mut() {
                                    if c.name == made.0.client.name {
                                        *c = made.0.client.clone();
                                    }
                                }
                            });
                            if let Some(config) = made.0.config {
                                result.set(Some((config, made.1)));
                                set_timeout(
                                    || scroll_to("created-client"),
                                    std::time::Duration::ZERO,
                                );
                            }
                        }
                        Err(e) => {
                            let all: Vec<String> =
                                e.fields.into_iter().map(|(_, m)| m).chain(e.form).collect();
                            failed.set(Some(all.join("; ")));
                        }
                    }
                    busy.set(false);
                });
            }
            #[cfg(not(feature = "hydrate"))]
            {
                let _ = (&action, &csrf, &name);
                busy.set(true);
            }
        }
    };
    let label = format!("New configuration for {name}");
    let key_id = format!("rekey-{name}");
    view! {
        <form method="post" action=action class="inline-form rekey" on:submit=on_submit>
            <input type="hidden" name="csrf" value=csrf/>
            {move || (!js.get()).then(|| {
                let key_id = key_id.clone();
                view! {
                    <label for=key_id.clone() class="sr-only">"New public key"</label>
                    <input id=key_id type="text" name="public_key" required autocomplete="off"
                        spellcheck="false" placeholder="new public key"/>
                }
            })}
            <button type="submit" aria-label=label disabled=move || busy.get()>"New configuration"</button>
            {move || failed.get().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
        </form>
    }
}

/// What the list says of a client's configuration (issue 17, item 5):
/// whether it names its router's newest key, and what to do if not.
pub fn configuration_text(state: Option<&str>) -> &'static str {
    match state {
        Some("current") => "Current",
        Some("previous") => {
            "Previous key: works until the router's key rotation ends. Give the device its new configuration (a new key pair)."
        }
        Some("stale") => {
            "Old key: no longer connects. Give the device its new configuration (a new key pair)."
        }
        _ => "Not yet known",
    }
}

/// The new client's `wg-quick` file. With the private key (made in this
/// browser): a download and a QR code, and the warning that this is the
/// only copy. Without it: the file with a place for the user's own key.
#[component]
fn CreatedCard(config: ClientConfig, private_key: Option<String>) -> impl IntoView {
    let client = config.client.clone();
    let has_key = private_key.is_some();
    let text = config.wg_quick(private_key.as_deref().unwrap_or(PRIVATE_KEY_PLACEHOLDER));
    let file = format!("{client}.conf");
    let extras = has_key.then(|| {
        let href = format!(
            "data:text/plain;charset=utf-8,{}",
            wg::percent_encode(&text)
        );
        let qr = qr_data_url(&text);
        view! {
            <p class="alert" role="alert" id="private-key-warning">
                "The private key is in this file and nowhere else: vxguard keeps no copy and cannot show it again. "
                "Download the file or scan the QR code now."
            </p>
            <p><a class="button" id="download-config" href=href download=file.clone()>"Download " {file.clone()}</a></p>
            <figure class="qr">
                <img id="client-qr" src=qr width="264" height="264"
                    alt=format!("QR code of {file}, for the WireGuard app on a phone")/>
                <figcaption class="muted">"Scan with the WireGuard app: add a tunnel, then “Scan from QR code”."</figcaption>
            </figure>
        }
    });
    let hint = (!has_key).then(|| {
        view! {
            <p id="own-key-hint">
                "Replace " <code>{PRIVATE_KEY_PLACEHOLDER}</code>
                " with the private key that goes with the public key you gave, then import the file into WireGuard."
            </p>
        }
    });
    view! {
        <section class="card created" aria-labelledby="created-h" id="created-client" tabindex="-1">
            <h2 id="created-h">"Client " <code>{client}</code> " created"</h2>
            {extras}
            {hint}
            <pre class="config" id="client-config" tabindex="0">{text}</pre>
        </section>
    }
}

/// A QR code of `text` as an SVG `data:` URL (the page's policy allows
/// `data:` images, not scripts); made in the browser only.
#[cfg(feature = "hydrate")]
fn qr_data_url(text: &str) -> String {
    use base64::Engine;
    use qrcodegen::{QrCode, QrCodeEcc};
    let Ok(qr) = QrCode::encode_text(text, QrCodeEcc::Medium) else {
        return String::new();
    };
    let border = 4;
    let size = qr.size() + 2 * border;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    );
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    )
}

/// The server never renders a private key, so never a QR code.
#[cfg(not(feature = "hydrate"))]
fn qr_data_url(_: &str) -> String {
    String::new()
}

#[component]
fn CreateForm(
    slug: String,
    csrf: String,
    networks: Vec<String>,
    form: ClientForm,
    clients: RwSignal<Vec<ClientEntry>>,
    result: RwSignal<Option<(ClientConfig, Option<String>)>>,
) -> impl IntoView {
    let action = format!("/t/{slug}/clients");
    let name = RwSignal::new(form.name);
    let public_key = RwSignal::new(form.public_key);
    let chosen = RwSignal::new(form.networks);
    let expires_at = RwSignal::new(form.expires_at);
    let errors = RwSignal::new(form.errors);
    let busy = RwSignal::new(false);
    // False while server-rendered (and without JavaScript); true once hydrated.
    let js = RwSignal::new(false);
    Effect::new(move |_| js.set(true));
    #[cfg(not(feature = "hydrate"))]
    let _ = (&clients, &result);
    let on_submit = {
        let (action, csrf) = (action.clone(), csrf.clone());
        move |ev: leptos::ev::SubmitEvent| {
            if busy.get_untracked() {
                ev.prevent_default();
                return;
            }
            #[cfg(feature = "hydrate")]
            {
                ev.prevent_default();
                busy.set(true);
                let submission = Submission {
                    action: action.clone(),
                    csrf: csrf.clone(),
                    name: name.get_untracked().trim().to_string(),
                    public_key: public_key.get_untracked().trim().to_string(),
                    networks: chosen.get_untracked(),
                    expires_at: expires_at.get_untracked().trim().to_string(),
                };
                leptos::task::spawn_local(async move {
                    match submission.send().await {
                        Ok(created) => {
                            clients.update(|v| {
                                v.retain(|c| c.name != created.0.client.name);
                                v.push(created.0.client.clone());
                                v.sort_by(|a, b| a.name.cmp(&b.name));
                            });
                            name.set(String::new());
                            public_key.set(String::new());
                            chosen.set(vec![]);
                            expires_at.set(String::new());
                            match created.0.config {
                                Some(config) => {
                                    errors.set(FieldErrors::default());
                                    result.set(Some((config, created.1)));
                                    // After the card is rendered (effects run as microtasks).
                                    set_timeout(
                                        || scroll_to("created-client"),
                                        std::time::Duration::ZERO,
                                    );
                                }
                                None => errors.set(FieldErrors {
                                    fields: vec![],
                                    form: vec![NO_ROUTER.into()],
                                }),
                            }
                        }
                        Err(e) => errors.set(e),
                    }
                    busy.set(false);
                });
            }
            #[cfg(not(feature = "hydrate"))]
            {
                let _ = (&action, &csrf);
                busy.set(true);
            }
        }
    };
    let err = move |f: &'static str| move || errors.with(|e| e.get(f));
    view! {
        <section class="card" aria-labelledby="new-client-h">
            <h2 id="new-client-h">"Add a client"</h2>
            {move || {
                let form_errors = errors.with(|e| e.form.clone());
                (!form_errors.is_empty()).then(|| view! {
                    <div class="alert" role="alert" id="form-errors">
                        <p>"The client was not created:"</p>
                        <ul>{form_errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
                    </div>
                })
            }}
            <form method="post" action=action class="stack" id="client-form" novalidate on:submit=on_submit>
                <input type="hidden" name="csrf" value=csrf/>
                <div class="field" class:has-error=move || err("name")().is_some()>
                    <label for="name">"Name"</label>
                    <input id="name" name="name" type="text" required autocomplete="off" spellcheck="false"
                        prop:value=move || name.get() value=name.get_untracked()
                        on:input=move |ev| name.set(event_target_value(&ev))
                        aria-invalid=move || err("name")().map(|_| "true")
                        aria-describedby=move || if err("name")().is_some() { "name-error name-hint" } else { "name-hint" }/>
                    {move || err("name")().map(|e| view! { <p class="field-error" id="name-error">{e}</p> })}
                    <small class="muted" id="name-hint">"Lowercase letters, digits and dashes; also the file's name."</small>
                </div>
                <div class="field" class:has-error=move || err("public_key")().is_some()>
                    <label for="public_key">
                        {move || if js.get() { "Public key (optional)" } else { "Public key" }}
                    </label>
                    <input id="public_key" name="public_key" type="text" autocomplete="off" spellcheck="false"
                        required=move || !js.get()
                        prop:value=move || public_key.get() value=public_key.get_untracked()
                        on:input=move |ev| public_key.set(event_target_value(&ev))
                        aria-invalid=move || err("public_key")().map(|_| "true")
                        aria-describedby=move || if err("public_key")().is_some() { "public_key-error public_key-hint" } else { "public_key-hint" }/>
                    {move || err("public_key")().map(|e| view! { <p class="field-error" id="public_key-error">{e}</p> })}
                    <small class="muted" id="public_key-hint">
                        {move || if js.get() {
                            "Leave it empty and this browser generates the key pair: the private key stays here, in the file you download. Or paste the public key of a pair you made (wg genkey | wg pubkey)."
                        } else {
                            "Generating the key pair in the browser needs JavaScript. Without it, make a pair yourself (wg genkey | tee client.key | wg pubkey) and paste the public key here."
                        }}
                    </small>
                </div>
                <fieldset class="field" class:has-error=move || err("networks")().is_some()>
                    <legend>"Networks it may reach"</legend>
                    <small class="muted">"None chosen: every network of the tenant."</small>
                    {networks
                        .into_iter()
                        .map(|n| {
                            let id = format!("net-{n}");
                            let (n1, n2) = (n.clone(), n.clone());
                            view! {
                                <div class="check">
                                    <input type="checkbox" name="network" id=id.clone() value=n.clone()
                                        checked=chosen.with_untracked(|c| c.contains(&n))
                                        prop:checked=move || chosen.with(|c| c.contains(&n1))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            chosen.update(|c| {
                                                c.retain(|x| x != &n2);
                                                if on { c.push(n2.clone()); }
                                            });
                                        }/>
                                    <label for=id>{n}</label>
                                </div>
                            }
                        })
                        .collect_view()}
                    {move || err("networks")().map(|e| view! { <p class="field-error" id="networks-error">{e}</p> })}
                </fieldset>
                <div class="field" class:has-error=move || err("expires_at")().is_some()>
                    <label for="expires_at">"Expires (optional)"</label>
                    <input id="expires_at" name="expires_at" type="datetime-local" autocomplete="off"
                        prop:value=move || expires_at.get() value=expires_at.get_untracked()
                        on:input=move |ev| expires_at.set(event_target_value(&ev))
                        aria-invalid=move || err("expires_at")().map(|_| "true")
                        aria-describedby=move || if err("expires_at")().is_some() { "expires_at-error expires_at-hint" } else { "expires_at-hint" }/>
                    {move || err("expires_at")().map(|e| view! { <p class="field-error" id="expires_at-error">{e}</p> })}
                    <small class="muted" id="expires_at-hint">
                        {move || if js.get() {
                            "In your time zone. Once it has passed the client stops working and is removed. Empty: it does not expire."
                        } else {
                            "In UTC (without JavaScript). Once it has passed the client stops working and is removed. Empty: it does not expire."
                        }}
                    </small>
                </div>
                <button type="submit" class="primary" aria-disabled=move || busy.get().then_some("true")>
                    {move || if busy.get() { "Creating…" } else { "Create client" }}
                </button>
            </form>
        </section>
    }
}

/// Why a client was created without a configuration file.
#[cfg(feature = "hydrate")]
const NO_ROUTER: &str = "The client was added, but the tenant has no network yet, so no router \
                         terminates its clients: revoke it and create it again once a network exists.";

/// Brings the new client's card into view and moves the keyboard focus to
/// it, so the next Tab reaches its download link.
#[cfg(feature = "hydrate")]
fn scroll_to(id: &str) {
    use leptos::wasm_bindgen::JsCast;
    if let Some(e) = document().get_element_by_id(id) {
        e.scroll_into_view();
        if let Ok(h) = e.dyn_into::<leptos::web_sys::HtmlElement>() {
            let _ = h.focus();
        }
    }
}

/// Rendered by the server alone (not in the bundle, see
/// `PageProps::hydrates`).
#[cfg(feature = "ssr")]
#[component]
pub fn ClientDeleteView(d: ClientDelete, csrf: String) -> impl IntoView {
    let ClientDelete {
        slug,
        can_write,
        client,
        version,
        errors,
    } = d;
    let back = format!("/t/{slug}/clients");
    let action = format!("/t/{slug}/clients/{}/delete", client.name);
    let busy = RwSignal::new(false);
    view! {
        <div class="page-head">
            {back_link(back.clone(), "WireGuard clients".into())}
            <h1>"Client " <code>{client.name.clone()}</code></h1>
            <p class="muted">
                <code>{client.address.unwrap_or_else(|| "pending".into())}</code> " · "
                <code class="key">{client.public_key}</code>
            </p>
            <TenantNav slug=slug.clone() current=TenantTab::Clients can_write=can_write/>
        </div>
        <section class="card narrow" aria-labelledby="delete-h">
            <h2 id="delete-h">"Revoke client " {client.name.clone()} "?"</h2>
            {(!errors.is_empty()).then(|| view! {
                <div class="alert" role="alert" id="form-errors">
                    <p>"The client was not revoked:"</p>
                    <ul>{errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
                </div>
            })}
            <p>"Its key stops working on the routers once the job has run; this cannot be undone (a new client needs a new key)."</p>
            <form method="post" action=action class="stack" id="delete-form"
                on:submit=move |ev| {
                    if busy.get_untracked() { ev.prevent_default() } else { busy.set(true) }
                }>
                <input type="hidden" name="csrf" value=csrf/>
                <input type="hidden" name="version" value=version.to_string()/>
                <button type="submit" class="danger" id="confirm-delete"
                    data-busy="Revoking…" aria-disabled=move || busy.get().then_some("true")>
                    {move || if busy.get() { "Revoking…" } else { "Revoke the client" }}
                </button>
                <a href=back>"Keep it"</a>
            </form>
        </section>
    }
}

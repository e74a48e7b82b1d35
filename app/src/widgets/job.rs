//! One job and where its change stands on each device it changed: the
//! tenant's job page and the console's job section both show it.

use leptos::prelude::*;

use crate::data::jobs::{JobDeviceRow, JobPage};

#[component]
pub fn JobView(p: JobPage) -> impl IntoView {
    let JobPage {
        id,
        tenant,
        can_write: _,
        admin,
        reason,
        status,
        created_by,
        created_at,
        started_at,
        finished_at,
        errors,
        devices,
    } = p;
    let failed = status == "failed";
    let errors_view = (!errors.is_empty()).then(|| {
        view! {
            <h3>"Why it failed"</h3>
            <ul class="job-why" id="job-errors">
                {errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}
            </ul>
        }
    });
    let hint = failed.then(|| {
        view! {
            <p id="retry-hint">
                "To try again, correct what the errors above name and save the change \
                 again: every save queues a new job. If they name nothing of yours, the \
                 platform's operators can see why it failed."
            </p>
        }
    });
    let never = || view! { <span class="muted">"not yet"</span> }.into_any();
    view! {
        <section class="card wide" aria-labelledby="job-h">
            <h2 id="job-h">"Job #" {id}</h2>
            <dl class="facts" id="job-facts">
                <dt>"Change"</dt><dd>{reason}</dd>
                <dt>"State"</dt><dd><span class=format!("badge {status}")>{status.clone()}</span></dd>
                <dt>"Tenant"</dt><dd>{tenant.unwrap_or_else(|| "platform".into())}</dd>
                <dt>"Queued by"</dt><dd>{created_by}</dd>
                <dt>"Queued"</dt><dd>{created_at}</dd>
                <dt>"Started"</dt><dd>{started_at.map(|t| t.into_any()).unwrap_or_else(never)}</dd>
                <dt>"Finished"</dt><dd>{finished_at.map(|t| t.into_any()).unwrap_or_else(never)}</dd>
            </dl>
            {errors_view}
            {hint}
        </section>
        <section class="card wide" aria-labelledby="devices-h">
            <h2 id="devices-h">"Devices"</h2>
            <DevicesTable devices=devices admin=admin/>
        </section>
    }
}

/// Per device: its revision, the state word and when.
#[component]
fn DevicesTable(devices: Vec<JobDeviceRow>, admin: bool) -> impl IntoView {
    if devices.is_empty() {
        return view! {
            <p class="empty" id="job-devices-none">"This job changed no device's configuration."</p>
        }
        .into_any();
    }
    let rows = devices
        .into_iter()
        .map(|d| {
            let key = format!("{}/{}", d.kind, d.name);
            let seq = d.seq.map(|s| format!("#{s}")).unwrap_or_else(|| "-".into());
            let name = if admin {
                let href = format!("/admin/devices/{}/{}", d.kind, d.name);
                view! { <a href=href>{d.name}</a> }
                    .into_any()
            } else {
                d.name.into_any()
            };
            let when = match (&d.applied_at, &d.failed_at) {
                (Some(a), _) => format!("applied {a}"),
                (None, Some(f)) => format!("failed {f}"),
                (None, None) => String::new(),
            };
            let why = (d.state == "failed").then(|| match d.error {
                Some(e) => view! { <br/><code class="device-error">{e}</code> }.into_any(),
                None => view! { <br/><small class="muted">"failed: the platform's operators can see why"</small> }
                    .into_any(),
            });
            view! {
                <tr data-key=key>
                    <th scope="row">{name} " " <small class="muted">{d.kind}</small></th>
                    <td data-label="Revision">{seq}</td>
                    <td data-label="State">
                        <span class=format!("badge device {}", d.state)>{d.state.clone()}</span>
                        {why}
                    </td>
                    <td data-label="When">{when}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="scroll">
            <table id="job-devices" class="stack-on-phone">
                <caption>"Where this job's change stands on each device it changed"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Device"</th>
                        <th scope="col">"Revision"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"When"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

//! One job and where its change stands on each device it changed: the
//! tenant's job page and the console's job section both show it.

use leptos::prelude::*;

use super::lists::Notice;
use crate::data::jobs::{JobDeviceRow, JobPage};

#[component]
pub fn JobView(p: JobPage, csrf: String) -> impl IntoView {
    let JobPage {
        id,
        tenant,
        can_write,
        admin,
        reason,
        status,
        created_by,
        created_at,
        started_at,
        finished_at,
        errors,
        devices,
        jobs_base,
        retry,
        retry_refused,
        retry_of,
        notice,
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
    // A failed job: the retry button where retrying makes sense (the
    // server decides: `store::jobs::retry_refusal`), else why not.
    let hint = failed.then(|| match (retry, retry_refused) {
        (Some(action), _) => view! {
            <form method="post" action=action class="retry" id="retry-form">
                <input type="hidden" name="csrf" value=csrf/>
                <p id="retry-hint">
                    "Retrying queues this change again as a new job: the worker compiles your \
                     configuration as it stands and applies it to the devices."
                </p>
                <button type="submit" id="retry">"Retry this change"</button>
            </form>
        }
        .into_any(),
        (None, Some(why)) => view! {
            <p id="retry-hint">"It cannot be retried: " {super::lists::job_links(&why, &jobs_base)} "."</p>
        }
        .into_any(),
        (None, None) if !can_write => view! {
            <p id="retry-hint">"Your tenant's admins can retry it from this page."</p>
        }
        .into_any(),
        (None, None) => view! {
            <p id="retry-hint">
                "To try again, correct what the errors above name and save the change \
                 again: every save queues a new job."
            </p>
        }
        .into_any(),
    });
    let retry_of = retry_of.map(|r| {
        view! { <dt>"Retries"</dt><dd><a href=format!("{jobs_base}/{r}") class="job-id">"job #" {r}</a></dd> }
    });
    let notice = notice.map(|n| view! { <Notice text=n jobs=jobs_base.clone()/> });
    let never = || view! { <span class="muted">"not yet"</span> }.into_any();
    view! {
        {notice}
        <section class="card wide" aria-labelledby="job-h">
            <h2 id="job-h">"Job #" {id}</h2>
            <dl class="facts" id="job-facts">
                <dt>"Change"</dt><dd>{reason}</dd>
                {retry_of}
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
            // For an operator, the revision opens that device's diff for
            // this job (the revision page).
            let seq = match d.seq {
                Some(n) if admin => {
                    let href = format!("/admin/devices/{}/{}/{n}", d.kind, d.name);
                    let label = format!("Revision {n} of {}: its diff", d.name);
                    view! { <a href=href aria-label=label>{format!("#{n}")}</a> }.into_any()
                }
                Some(n) => format!("#{n}").into_any(),
                None => "-".into_any(),
            };
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

/// A list of jobs: number (a link to `{jobs}/N`), state, the change, who,
/// when and, for the console (`admin`), the tenant and the devices it
/// changed (links to their pages).
#[component]
pub fn JobsList(
    jobs: Vec<crate::data::jobs::AdminJobRow>,
    base: String,
    admin: bool,
    filtered: bool,
) -> impl IntoView {
    use super::table::{Cell, Row, Table};
    if jobs.is_empty() {
        let text = if filtered {
            "No job matches these filters."
        } else {
            "No jobs yet: every change starts one."
        };
        return view! { <p class="empty">{text}</p> }.into_any();
    }
    let rows = jobs
        .into_iter()
        .map(|j| {
            let mut when = vec![Cell::Text(j.created_at)];
            when.extend(j.finished_at.map(|f| Cell::Note(format!("finished {f}"))));
            let mut change = vec![Cell::Text(j.reason)];
            change.extend(j.why.into_iter().map(Cell::Note));
            let mut cells = vec![
                Cell::Link {
                    href: format!("{base}/{}", j.id),
                    text: format!("#{}", j.id),
                    label: Some(format!("Job #{}", j.id)),
                    danger: false,
                },
                Cell::Badge {
                    class: j.status.clone(),
                    text: j.status,
                },
            ];
            if admin {
                cells.push(match j.tenant {
                    Some(t) => Cell::Link {
                        href: format!("/t/{t}"),
                        text: t,
                        label: None,
                        danger: false,
                    },
                    None => Cell::Muted("platform".into()),
                });
            }
            cells.push(Cell::Many(change));
            cells.push(Cell::Text(j.created_by));
            cells.push(Cell::Many(when));
            if admin {
                cells.push(if j.devices.is_empty() {
                    Cell::Muted("none".into())
                } else {
                    Cell::Links(
                        j.devices
                            .into_iter()
                            .map(|(k, n)| (format!("/admin/devices/{k}/{n}"), n))
                            .collect(),
                    )
                });
            }
            Row {
                key: j.id.to_string(),
                cells,
            }
        })
        .collect();
    let cols = if admin {
        vec![
            "Job",
            "State",
            "Tenant",
            "Change",
            "Who",
            "When",
            "Devices changed",
        ]
    } else {
        vec!["Job", "State", "Change", "Who", "When"]
    };
    let id = if admin { "admin-jobs" } else { "jobs-list" };
    view! { <Table id=id cols=cols rows=rows/> }.into_any()
}

//! A tenant's job page (`/t/{tenant}/jobs/{id}`): the job and where its
//! change stands on each device it changed (`widgets::job`, which the
//! console's job section shows too).

use leptos::prelude::*;

use crate::data::jobs::JobPage;
use crate::widgets::job::JobView;
use crate::widgets::nav::{back_link, TenantNav, TenantTab};

#[component]
pub fn JobPageView(p: JobPage, csrf: String) -> impl IntoView {
    let slug = p.tenant.clone().unwrap_or_default();
    let can_write = p.can_write;
    let id = p.id;
    view! {
        <div class="page-head">
            {back_link(format!("/t/{slug}/changes"), "Changes".into())}
            <h1>"Job #" {id}</h1>
            <TenantNav slug=slug current=TenantTab::Changes can_write=can_write/>
        </div>
        <div class="grid">
            <JobView p=p csrf=csrf/>
        </div>
    }
}

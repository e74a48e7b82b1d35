//! A tenant's changes (`/t/{tenant}/changes`): every job of the tenant,
//! searched and filtered by a plain GET form, newest first, each linking
//! to its page.

use leptos::prelude::*;

use crate::data::jobs::JobsPage;
use crate::widgets::job::JobsList;
use crate::widgets::lists::{FilterBarView, PagerView};
use crate::widgets::nav::{TenantNav, TenantTab};

#[component]
pub fn JobsPageView(p: JobsPage) -> impl IntoView {
    let JobsPage {
        slug,
        name,
        can_write,
        jobs,
        filters,
        pager,
    } = p;
    let filtered = filters.active;
    view! {
        <div class="page-head">
            <h1>"Changes"</h1>
            <p class="muted">{name} " · every change queues a job: where it stands, and why it failed"</p>
            <TenantNav slug=slug.clone() current=TenantTab::Changes can_write=can_write/>
        </div>
        <section class="card wide" aria-labelledby="jobs-h">
            <h2 id="jobs-h">"Jobs, newest first"</h2>
            <FilterBarView bar=filters id="job-filters"/>
            <JobsList jobs=jobs base=format!("/t/{slug}/jobs") admin=false filtered=filtered/>
            <PagerView pager=pager/>
        </section>
    }
}

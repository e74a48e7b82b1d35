//! Fair use of one API process between tenants: a request budget per
//! tenant and per API token (per minute, from the tenant's quota), and a
//! bound on expensive calls (a preview compiles the platform twice): one
//! at a time per tenant, and no more at once than the machine has cores,
//! so that one tenant's load queues behind itself and not in front of
//! everyone else. Each process enforces its own budgets.

use crate::problem::{FieldError, Problem};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use uuid::Uuid;

/// What an expensive call costs from the request budget.
pub const EXPENSIVE_COST: u32 = 10;

const WINDOW: Duration = Duration::from_secs(60);

/// How long a tenant's request budget is taken as read (a quota change
/// applies within this, or at once in the process that made it).
const RATE_TTL: Duration = Duration::from_secs(10);

pub struct Fairness {
    /// Per key (`tenant:ID`, `token:ID:NAME`): window start and requests.
    used: Mutex<HashMap<String, (Instant, u32)>>,
    /// Each tenant's requests per minute, as read from its quota, and when:
    /// a refused request then costs no database round trip.
    rates: Mutex<HashMap<Uuid, (Instant, u32)>>,
    /// Tenants with an expensive call running.
    busy: Arc<Mutex<HashSet<Uuid>>>,
    expensive: Arc<Semaphore>,
}

impl Default for Fairness {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            used: Mutex::new(HashMap::new()),
            rates: Mutex::new(HashMap::new()),
            busy: Arc::new(Mutex::new(HashSet::new())),
            expensive: Arc::new(Semaphore::new(cores)),
        }
    }
}

/// Held while an expensive call runs.
pub struct Expensive {
    tenant: Uuid,
    busy: Arc<Mutex<HashSet<Uuid>>>,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for Expensive {
    fn drop(&mut self) {
        self.busy
            .lock()
            .expect("fairness lock")
            .remove(&self.tenant);
    }
}

impl Fairness {
    /// The tenant's requests per minute if read in the last [`RATE_TTL`].
    pub fn cached_rate(&self, tenant: Uuid) -> Option<u32> {
        let m = self.rates.lock().expect("fairness lock");
        m.get(&tenant)
            .filter(|(at, _)| at.elapsed() < RATE_TTL)
            .map(|(_, r)| *r)
    }

    pub fn cache_rate(&self, tenant: Uuid, per_minute: u32) {
        let mut m = self.rates.lock().expect("fairness lock");
        if m.len() > 100_000 {
            m.retain(|_, (at, _)| at.elapsed() < RATE_TTL);
        }
        m.insert(tenant, (Instant::now(), per_minute));
    }

    /// Forgets a tenant's cached rate (its quota changed).
    pub fn forget_rate(&self, tenant: Uuid) {
        self.rates.lock().expect("fairness lock").remove(&tenant);
    }

    /// Counts `cost` requests of `tenant` (and of its API token `token`,
    /// which may use half the tenant's budget, so one leaked or runaway
    /// token cannot starve the tenant's people) against `per_minute`; 429
    /// naming the limit when the budget is spent (nothing counted).
    pub fn admit(
        &self,
        tenant: Uuid,
        token: Option<&str>,
        per_minute: u32,
        cost: u32,
    ) -> Result<(), Problem> {
        let mut m = self.used.lock().expect("fairness lock");
        let now = Instant::now();
        if m.len() > 100_000 {
            m.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let mut keys = vec![(
            format!("tenant:{tenant}"),
            per_minute,
            "requests_per_minute",
        )];
        if let Some(t) = token {
            keys.push((
                format!("token:{tenant}:{t}"),
                (per_minute / 2).max(1),
                "requests_per_minute (per API token: half the tenant's)",
            ));
        }
        for (key, max, what) in &keys {
            let (start, n) = m.get(key).copied().unwrap_or((now, 0));
            let age = now.duration_since(start);
            if age < WINDOW && n + cost > *max {
                let wait = (WINDOW - age).as_secs().max(1);
                let mut p = Problem::too_many(wait);
                p.detail = format!("the quota “{what}” of {max} is used up; retry in {wait} s");
                p.errors = vec![FieldError {
                    pointer: None,
                    object: Some("quotas/requests_per_minute".into()),
                    detail: p.detail.clone(),
                }];
                return Err(p);
            }
        }
        for (key, _, _) in keys {
            let e = m.entry(key).or_insert((now, 0));
            if now.duration_since(e.0) >= WINDOW {
                *e = (now, 0);
            }
            e.1 += cost;
        }
        Ok(())
    }

    /// Starts an expensive call for `tenant`: 429 while another of its
    /// expensive calls runs; else waits for one of the machine's slots.
    pub async fn expensive(&self, tenant: Uuid) -> Result<Expensive, Problem> {
        if !self.busy.lock().expect("fairness lock").insert(tenant) {
            let mut p = Problem::too_many(1);
            p.detail = "another preview of this tenant is running; retry when it is done".into();
            return Err(p);
        }
        let guard_busy = self.busy.clone();
        let slot = match self.expensive.clone().acquire_owned().await {
            Ok(s) => s,
            Err(_) => {
                guard_busy.lock().expect("fairness lock").remove(&tenant);
                return Err(Problem::internal());
            }
        };
        Ok(Expensive {
            tenant,
            busy: guard_busy,
            _slot: slot,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_spends_its_own_budget_only() {
        let f = Fairness::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        for _ in 0..10 {
            f.admit(a, None, 10, 1).unwrap();
        }
        let e = f.admit(a, None, 10, 1).unwrap_err();
        assert_eq!(e.status, 429);
        assert!(e.detail.contains("requests_per_minute"), "{}", e.detail);
        f.admit(b, None, 10, 1)
            .expect("another tenant is not affected");
    }

    #[test]
    fn a_token_gets_half_and_costs_count() {
        let f = Fairness::default();
        let a = Uuid::new_v4();
        f.admit(a, Some("ci"), 20, EXPENSIVE_COST).unwrap();
        assert!(
            f.admit(a, Some("ci"), 20, 1).is_err(),
            "token spent its half"
        );
        f.admit(a, None, 20, 1)
            .expect("the tenant's people still can");
    }

    #[tokio::test]
    async fn one_expensive_call_per_tenant_at_a_time() {
        let f = Fairness::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let g = f.expensive(a).await.unwrap();
        assert_eq!(f.expensive(a).await.err().unwrap().status, 429);
        let h = f.expensive(b).await.expect("other tenants go on");
        drop(g);
        drop(h);
        f.expensive(a).await.expect("free again");
    }
}

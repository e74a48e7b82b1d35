//! The order in which devices are brought to their latest revisions: pure,
//! so the rule can be read and tested without a router.
//!
//! - Deterministic: devices in (kind, name) order, whatever order the
//!   database returned them in.
//! - A canary: the first router goes alone; a bad revision (or a driver
//!   bug) then costs one router, not a batch.
//! - Then small parallel batches (`--apply-batch`), so one slow router
//!   does not make a rollout of many take N times as long.
//! - Stop at the first failure: the batch in flight finishes (its applies
//!   cannot be interrupted halfway), no later batch starts. The failed
//!   router stays on its previous revision (the driver's commit-confirm or
//!   inverse batch sees to that); the untouched ones stay where they were.
//! - Routers first, then hypervisors (the OVS driver), each kind with its
//!   own canary. A kind without a driver would be reported as waiting and
//!   never fail a rollout.

use std::collections::VecDeque;

use serde::Serialize;

/// What a device is; decides which driver applies it.
pub use vxguard_compiler::device::DeviceKind;

/// Whether the worker can apply this kind yet (a new kind's driver plugs
/// in here).
fn has_driver(kind: DeviceKind) -> bool {
    matches!(kind, DeviceKind::Router | DeviceKind::Hypervisor)
}

/// A device whose latest revision is not the one it last applied.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Due {
    pub kind: DeviceKind,
    pub name: String,
    /// `revisions.id` of the latest revision.
    pub revision_id: i64,
    /// Its `seq`.
    pub seq: i32,
}

/// The waves of a rollout: each wave's devices are applied at once, the
/// next wave starts only when every device of this one succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub waves: Vec<Vec<Due>>,
    /// Due devices of kinds without a driver.
    pub waiting: Vec<Due>,
}

/// Orders `due` into waves, kind by kind (routers, then hypervisors):
/// each kind's first device alone, then batches of `batch` (at least 1).
/// Hypervisors go last: their flows send tenant frames to VTEPs the
/// routers' revisions make, and a bad router revision stops the rollout
/// before any switch is touched.
pub fn plan(mut due: Vec<Due>, batch: usize) -> Plan {
    due.sort();
    due.dedup_by(|a, b| a.kind == b.kind && a.name == b.name);
    let (drivable, waiting): (Vec<Due>, Vec<Due>) =
        due.into_iter().partition(|d| has_driver(d.kind));
    let mut waves = Vec::new();
    for kind in drivable.chunk_by(|a, b| a.kind == b.kind) {
        let (canary, rest) = kind.split_at(1);
        waves.push(canary.to_vec());
        for chunk in rest.chunks(batch.max(1)) {
            waves.push(chunk.to_vec());
        }
    }
    Plan { waves, waiting }
}

/// How one device's apply ended: `Err` is the reason, as the driver or the
/// device said it.
pub type DeviceResult = Result<(), String>;

/// A rollout in progress: hands out waves and stops after a failure.
#[derive(Debug)]
pub struct Rollout {
    waves: VecDeque<Vec<Due>>,
    summary: Summary,
}

/// What a rollout did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Devices now on their latest revision, in the order they finished.
    pub applied: Vec<Due>,
    /// Devices whose apply failed, with the reason.
    pub failed: Vec<(Due, String)>,
    /// Devices not attempted because an earlier wave failed.
    pub untouched: Vec<Due>,
    /// Devices of kinds without a driver.
    pub waiting: Vec<Due>,
}

impl Summary {
    /// The job's error when something failed: the first failed device and
    /// its reason, then the others and what was not attempted.
    pub fn error(&self) -> Option<String> {
        let ((first, why), others) = self.failed.split_first()?;
        let mut s = format!("{} {}: {}", first.kind.as_str(), first.name, why.trim_end());
        for (d, why) in others {
            s.push_str(&format!(
                "; {} {}: {}",
                d.kind.as_str(),
                d.name,
                why.trim_end()
            ));
        }
        if !self.untouched.is_empty() {
            let names: Vec<&str> = self.untouched.iter().map(|d| d.name.as_str()).collect();
            s.push_str(&format!("; not attempted: {}", names.join(", ")));
        }
        Some(s)
    }
}

impl Rollout {
    pub fn new(plan: Plan) -> Rollout {
        Rollout {
            waves: plan.waves.into(),
            summary: Summary {
                waiting: plan.waiting,
                ..Summary::default()
            },
        }
    }

    /// The next wave to apply; `None` when all are done or one failed
    /// (the rest are then recorded as untouched).
    pub fn next_wave(&mut self) -> Option<Vec<Due>> {
        if !self.summary.failed.is_empty() {
            let rest: Vec<Due> = self.waves.drain(..).flatten().collect();
            self.summary.untouched.extend(rest);
            return None;
        }
        self.waves.pop_front()
    }

    /// Records one device of the current wave.
    pub fn record(&mut self, device: Due, result: DeviceResult) {
        match result {
            Ok(()) => self.summary.applied.push(device),
            Err(why) => self.summary.failed.push((device, why)),
        }
    }

    /// The end: every wave handed out was recorded.
    pub fn finish(mut self) -> Summary {
        while self.next_wave().is_some() {}
        let rest: Vec<Due> = self.waves.drain(..).flatten().collect();
        self.summary.untouched.extend(rest);
        self.summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn due(kind: DeviceKind, name: &str) -> Due {
        Due {
            kind,
            name: name.into(),
            revision_id: name.len() as i64,
            seq: 1,
        }
    }

    fn names(w: &[Due]) -> Vec<&str> {
        w.iter().map(|d| d.name.as_str()).collect()
    }

    #[test]
    fn canary_alone_then_batches_in_name_order_hypervisors_after_routers() {
        let p = plan(
            vec![
                due(DeviceKind::Router, "r4"),
                due(DeviceKind::Hypervisor, "hv1"),
                due(DeviceKind::Router, "r2"),
                due(DeviceKind::Router, "r1"),
                due(DeviceKind::Router, "r5"),
                due(DeviceKind::Router, "r3"),
            ],
            2,
        );
        let waves: Vec<Vec<&str>> = p.waves.iter().map(|w| names(w)).collect();
        assert_eq!(
            waves,
            [vec!["r1"], vec!["r2", "r3"], vec!["r4", "r5"], vec!["hv1"]]
        );
        assert!(p.waiting.is_empty());
    }

    #[test]
    fn a_failure_stops_the_rollout_after_its_wave() {
        let names3 = ["a", "b", "c", "d", "e"];
        let p = plan(
            names3.iter().map(|n| due(DeviceKind::Router, n)).collect(),
            2,
        );
        let mut r = Rollout::new(p);
        let w = r.next_wave().unwrap();
        assert_eq!(names(&w), ["a"]);
        for d in w {
            r.record(d, Ok(()));
        }
        let w = r.next_wave().unwrap();
        assert_eq!(names(&w), ["b", "c"]);
        let mut it = w.into_iter();
        r.record(it.next().unwrap(), Err("router answered 400: no".into()));
        r.record(it.next().unwrap(), Ok(()));
        assert!(r.next_wave().is_none(), "no wave after a failure");
        let s = r.finish();
        assert_eq!(names(&s.applied), ["a", "c"]);
        assert_eq!(s.failed.len(), 1);
        assert_eq!(names(&s.untouched), ["d", "e"]);
        assert_eq!(
            s.error().unwrap(),
            "router b: router answered 400: no; not attempted: d, e"
        );
    }

    #[test]
    fn nothing_due_is_an_empty_success() {
        let mut r = Rollout::new(plan(vec![], 2));
        assert!(r.next_wave().is_none());
        let s = r.finish();
        assert_eq!(s, Summary::default());
        assert!(s.error().is_none());
    }

    proptest! {
        /// Any set of routers and any batch size: every router is in
        /// exactly one wave, the first wave has one router, no wave is
        /// larger than the batch, and the order is the input's sorted order
        /// whatever order it came in.
        #[test]
        fn waves_partition_the_due_routers(
            set in proptest::collection::btree_set("[a-z]{1,3}", 0..20),
            batch in 0usize..5,
            fail_at in proptest::option::of(0usize..20),
        ) {
            let sorted: Vec<String> = set.iter().cloned().collect();
            let mut shuffled = sorted.clone();
            shuffled.reverse();
            let p = plan(shuffled.iter().map(|n| due(DeviceKind::Router, n)).collect(), batch);
            let flat: Vec<String> = p.waves.iter().flatten().map(|d| d.name.clone()).collect();
            prop_assert_eq!(&flat, &sorted);
            if let Some(first) = p.waves.first() {
                prop_assert_eq!(first.len(), 1);
            }
            prop_assert!(p.waves.iter().skip(1).all(|w| !w.is_empty() && w.len() <= batch.max(1)));
            // Failing the device at `fail_at`: nothing after its wave runs.
            let mut r = Rollout::new(p.clone());
            let mut seen = 0usize;
            let mut failed_wave = None;
            let mut wave_no = 0;
            while let Some(w) = r.next_wave() {
                for d in w {
                    let fail = Some(seen) == fail_at;
                    if fail { failed_wave = Some(wave_no); }
                    r.record(d, if fail { Err("x".into()) } else { Ok(()) });
                    seen += 1;
                }
                wave_no += 1;
            }
            let s = r.finish();
            prop_assert_eq!(s.applied.len() + s.failed.len() + s.untouched.len(), sorted.len());
            if let Some(fw) = failed_wave {
                let attempted: usize = p.waves[..=fw].iter().map(Vec::len).sum();
                prop_assert_eq!(s.applied.len() + s.failed.len(), attempted);
            } else {
                prop_assert!(s.untouched.is_empty());
            }
        }
    }
}

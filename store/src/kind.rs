//! The kinds of declared objects. Each stores the compiler's own type as its
//! spec, so the API accepts exactly what the compiler understands, and each
//! knows where it lives inside an `Intent`.

use crate::error::StoreError;
use crate::error::WriteError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use vxguard_compiler::diag::Pointer;
use vxguard_compiler::intent::{self as i, Intent};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Site,
    Router,
    Hypervisor,
    Network,
    Service,
    Rule,
    Client,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Site => "site",
            Kind::Router => "router",
            Kind::Hypervisor => "hypervisor",
            Kind::Network => "network",
            Kind::Service => "service",
            Kind::Rule => "rule",
            Kind::Client => "client",
        }
    }

    /// The URL segment.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Site => "sites",
            Kind::Router => "routers",
            Kind::Hypervisor => "hypervisors",
            Kind::Network => "networks",
            Kind::Service => "services",
            Kind::Rule => "rules",
            Kind::Client => "clients",
        }
    }

    /// The field of the spec that names the object.
    pub fn name_field(self) -> &'static str {
        match self {
            Kind::Service | Kind::Rule => "id",
            _ => "name",
        }
    }

    /// Parses a request body as this kind's compiler type; the error names
    /// the field (as a JSON pointer) and the reason. Returns the normalised
    /// spec (defaults filled in) and its name.
    pub fn parse(self, body: &Value) -> Result<(Value, String), WriteError> {
        fn go<T: DeserializeOwned + Serialize>(body: &Value) -> Result<Value, WriteError> {
            let t: T = serde_path_to_error::deserialize(body).map_err(WriteError::from)?;
            Ok(serde_json::to_value(t).expect("compiler types serialise"))
        }
        let v = match self {
            Kind::Site => go::<i::Site>(body)?,
            Kind::Router => go::<i::Router>(body)?,
            Kind::Hypervisor => go::<i::Hypervisor>(body)?,
            Kind::Network => go::<i::Network>(body)?,
            Kind::Service => go::<i::Service>(body)?,
            Kind::Rule => go::<i::Rule>(body)?,
            Kind::Client => {
                let mut v = go::<i::Client>(body)?;
                if let Some(at) = v["expires_at"].as_str() {
                    v["expires_at"] = Value::String(expiry(at, chrono::Utc::now())?);
                }
                v
            }
        };
        let name = name_of(&v[self.name_field()]);
        Ok((v, name))
    }

    /// Puts `spec` into the intent (replacing an object of the same name)
    /// and returns its pointer there. `tenant` is the tenant's index.
    pub fn put(
        self,
        intent: &mut Intent,
        tenant: Option<usize>,
        spec: &Value,
    ) -> Result<Pointer, StoreError> {
        let root = Pointer::root();
        let p = root.join("platform");
        Ok(match (self, tenant) {
            (Kind::Site, _) => {
                p.join("sites")
                    .join(upsert(&mut intent.platform.sites, spec, |x| {
                        x.name.to_string()
                    })?)
            }
            (Kind::Router, _) => {
                p.join("routers")
                    .join(upsert(&mut intent.platform.routers, spec, |x| {
                        x.name.to_string()
                    })?)
            }
            (Kind::Hypervisor, _) => {
                p.join("hypervisors")
                    .join(upsert(&mut intent.platform.hypervisors, spec, |x| {
                        x.name.to_string()
                    })?)
            }
            (k, Some(ti)) => {
                let t = &mut intent.tenants[ti];
                let tp = root.join("tenants").join(ti);
                match k {
                    Kind::Network => {
                        tp.join("networks")
                            .join(upsert(&mut t.networks, spec, |x| x.name.to_string())?)
                    }
                    Kind::Service => {
                        tp.join("services")
                            .join(upsert(&mut t.services, spec, |x| x.id.to_string())?)
                    }
                    Kind::Client => tp
                        .join("clients")
                        .join(upsert(&mut t.clients, spec, |x| x.name.to_string())?),
                    Kind::Rule => {
                        let r: i::Rule = serde_json::from_value(spec.clone())?;
                        let at = rule_place(&t.policy.rules, r.id);
                        match t.policy.rules.get_mut(at) {
                            Some(x) if x.id == r.id => *x = r,
                            _ => t.policy.rules.insert(at, r),
                        }
                        tp.join("policy").join("rules").join(at)
                    }
                    _ => unreachable!("platform kinds are matched above"),
                }
            }
            (k, None) => {
                return Err(StoreError::Corrupt {
                    what: format!("{} needs a tenant", k.as_str()),
                })
            }
        })
    }

    /// Removes the named object from the intent; false when it was absent.
    pub fn remove(self, intent: &mut Intent, tenant: Option<usize>, name: &str) -> bool {
        fn rm<T>(v: &mut Vec<T>, f: impl Fn(&T) -> bool) -> bool {
            let n = v.len();
            v.retain(|x| !f(x));
            v.len() != n
        }
        match (self, tenant) {
            (Kind::Site, _) => rm(&mut intent.platform.sites, |x| x.name.as_str() == name),
            (Kind::Router, _) => rm(&mut intent.platform.routers, |x| x.name.as_str() == name),
            (Kind::Hypervisor, _) => rm(&mut intent.platform.hypervisors, |x| {
                x.name.as_str() == name
            }),
            (k, Some(ti)) => {
                let t = &mut intent.tenants[ti];
                match k {
                    Kind::Network => rm(&mut t.networks, |x| x.name.as_str() == name),
                    Kind::Service => rm(&mut t.services, |x| x.id.as_str() == name),
                    Kind::Client => rm(&mut t.clients, |x| x.name.as_str() == name),
                    Kind::Rule => rm(&mut t.policy.rules, |x| x.id.to_string() == name),
                    _ => false,
                }
            }
            (_, None) => false,
        }
    }
}

/// Where rule `id` goes in `rules` (in evaluation order): where it is, or,
/// for a new rule, right after the rule with the highest number below it
/// (first when none is lower). Rules in number order stay so; after moves,
/// a new rule 15 lands after rule 10 wherever rule 10 went.
pub fn rule_place(rules: &[i::Rule], id: u32) -> usize {
    if let Some(at) = rules.iter().position(|x| x.id == id) {
        return at;
    }
    rules
        .iter()
        .enumerate()
        .filter(|(_, x)| x.id < id)
        .max_by_key(|(_, x)| x.id)
        .map_or(0, |(i, _)| i + 1)
}

fn name_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn upsert<T: DeserializeOwned>(
    v: &mut Vec<T>,
    spec: &Value,
    key: impl Fn(&T) -> String,
) -> Result<usize, StoreError> {
    let item: T = serde_json::from_value(spec.clone())?;
    let k = key(&item);
    Ok(match v.iter().position(|x| key(x) == k) {
        Some(i) => {
            v[i] = item;
            i
        }
        None => {
            v.push(item);
            v.len() - 1
        }
    })
}

/// A client's `expires_at` as stored: a time after `now`, in UTC to the
/// second (`2027-01-31T18:00:00Z`). RFC 3339 with any offset is read, and
/// so is a date and time without one (`2027-01-31T18:00`, what an HTML
/// `datetime-local` field sends), taken as UTC.
pub fn expiry(at: &str, now: chrono::DateTime<chrono::Utc>) -> Result<String, WriteError> {
    use chrono::{DateTime, NaiveDateTime, Utc};
    let bad = |detail: String| WriteError::Field {
        refusal: crate::error::Refusal::Invalid,
        pointer: "/expires_at".into(),
        detail,
    };
    let t = DateTime::parse_from_rfc3339(at.trim())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(at.trim(), f).ok())
                .map(|n| n.and_utc())
                .ok_or(())
        })
        .map_err(|_| {
            bad(format!(
                "{at:?} is not a date and time: write it as RFC 3339, e.g. 2027-01-31T18:00:00Z"
            ))
        })?;
    if t <= now {
        return Err(bad(format!(
            "{} has passed: an expiry must be in the future",
            t.format("%Y-%m-%d %H:%M:%S UTC")
        )));
    }
    Ok(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::error::Refusal;

    fn pointer(e: WriteError) -> (Refusal, String) {
        match e {
            WriteError::Field {
                refusal, pointer, ..
            } => (refusal, pointer),
            e => panic!("not a field error: {e:?}"),
        }
    }

    #[test]
    fn nested_errors_point_into_the_body() {
        let body = serde_json::json!({"name": "web", "cidr": "100.65.1.0/28", "sites": [{"site": "dc1", "gateways": [7]}]});
        let e = Kind::Network.parse(&body).unwrap_err();
        assert_eq!(pointer(e).1, "/sites/0/gateways/0");
    }

    #[test]
    fn parse_names_the_bad_field() {
        let body = serde_json::json!({"name": "web", "cidr": "100.65.1.0/33", "sites": []});
        let e = Kind::Network.parse(&body).unwrap_err();
        assert_eq!(pointer(e), (Refusal::Invalid, "/cidr".to_string()));
        let ok = serde_json::json!({"name": "web", "cidr": "100.65.1.0/28", "sites": []});
        let (spec, name) = Kind::Network.parse(&ok).unwrap();
        assert_eq!(name, "web");
        assert_eq!(spec["ports"], serde_json::json!([]));
    }

    #[test]
    fn a_new_rule_goes_after_the_next_lower_number_and_a_known_one_stays() {
        let rules = |ids: &[u32]| -> Vec<i::Rule> {
            ids.iter()
                .map(|id| {
                    serde_json::from_value(serde_json::json!({"id": id, "action": "drop"})).unwrap()
                })
                .collect()
        };
        // In number order: where the number puts it.
        let sorted = rules(&[10, 20, 30]);
        assert_eq!(rule_place(&sorted, 15), 1);
        assert_eq!(rule_place(&sorted, 5), 0);
        assert_eq!(rule_place(&sorted, 99), 3);
        assert_eq!(rule_place(&sorted, 20), 1);
        // After moves: after rule 10 wherever it is; a known rule keeps its place.
        let moved = rules(&[30, 10, 20]);
        assert_eq!(rule_place(&moved, 15), 2);
        assert_eq!(rule_place(&moved, 25), 3);
        assert_eq!(rule_place(&moved, 35), 1);
        assert_eq!(rule_place(&moved, 30), 0);
        let mut intent: Intent = serde_json::from_value(serde_json::json!({
            "platform": {"sites": [], "routers": []},
            "tenants": [{"slug": "t", "name": "T"}],
        }))
        .unwrap();
        intent.tenants[0].policy.rules = moved;
        let p = Kind::Rule
            .put(
                &mut intent,
                Some(0),
                &serde_json::json!({"id": 20, "action": "accept"}),
            )
            .unwrap();
        assert_eq!(p.to_string(), "/tenants/0/policy/rules/2");
        let ids: Vec<u32> = intent.tenants[0]
            .policy
            .rules
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, vec![30, 10, 20]);
    }

    #[test]
    fn an_expiry_is_a_future_time_kept_in_utc() {
        use chrono::TimeZone;
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
        assert_eq!(
            expiry("2026-12-08T01:30:00+02:00", now).unwrap(),
            "2026-12-07T23:30:00Z"
        );
        // A form's datetime-local value, taken as UTC.
        assert_eq!(
            expiry("2027-01-31T18:00", now).unwrap(),
            "2027-01-31T18:00:00Z"
        );
        for (at, why) in [
            ("2026-12-07T12:00:00Z", "has passed"),
            ("2020-01-01T00:00:00Z", "has passed"),
            ("tomorrow", "is not a date and time"),
            ("2027-02-30T10:00:00Z", "is not a date and time"),
        ] {
            match expiry(at, now).unwrap_err() {
                WriteError::Field {
                    pointer, detail, ..
                } => {
                    assert_eq!(pointer, "/expires_at");
                    assert!(detail.contains(why), "{at}: {detail}");
                }
                e => panic!("{at}: {e:?}"),
            }
        }
        // Through the client's parse: normalised in the stored spec.
        let body = serde_json::json!({"name": "laptop", "public_key": "k", "expires_at": "2999-01-01T00:00:00+01:00"});
        let (v, _) = Kind::Client.parse(&body).unwrap();
        assert_eq!(v["expires_at"], "2998-12-31T23:00:00Z");
        let body = serde_json::json!({"name": "laptop", "public_key": "k"});
        let (v, _) = Kind::Client.parse(&body).unwrap();
        assert!(v.get("expires_at").is_none(), "{v}");
    }
}

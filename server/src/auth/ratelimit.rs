//! A fixed-window counter per key (an account or an address), in memory:
//! good enough for one API process; several processes each enforce their own.
//!
//! Checking and counting are one step (`try_hit`, under the lock): a check
//! followed later by a count lets parallel requests all pass the check
//! before any of them is counted (20 parallel logins, 20 password checks).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    max: u32,
    window: Duration,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event against `key` unless its window is used up, in
    /// one step: `Err(seconds)` to wait when it is (nothing counted). A
    /// caller that counts an attempt before its outcome is known (a
    /// password check) and then learns it succeeded calls `clear`.
    pub fn try_hit(&self, key: &str) -> Result<(), u64> {
        let mut m = self.hits.lock().expect("rate limiter lock");
        let now = Instant::now();
        if m.len() > 100_000 {
            m.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let e = m.entry(key.to_string()).or_insert((now, 0));
        let age = now.duration_since(e.0);
        if age >= self.window {
            *e = (now, 0);
        } else if e.1 >= self.max {
            return Err((self.window - age).as_secs().max(1));
        }
        e.1 += 1;
        Ok(())
    }

    pub fn clear(&self, key: &str) {
        self.hits.lock().expect("rate limiter lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_and_clears() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        assert!(l.try_hit("a").is_ok());
        assert!(l.try_hit("a").is_ok());
        assert!(l.try_hit("a").is_err());
        assert!(l.try_hit("b").is_ok());
        l.clear("a");
        assert!(l.try_hit("a").is_ok());
    }

    #[test]
    fn parallel_callers_pass_at_most_max() {
        let l = std::sync::Arc::new(RateLimiter::new(5, Duration::from_secs(60)));
        let passed: usize = (0..20)
            .map(|_| {
                let l = l.clone();
                std::thread::spawn(move || l.try_hit("a").is_ok())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| usize::from(t.join().unwrap()))
            .sum();
        assert_eq!(passed, 5);
    }
}

//! A fixed-window counter per key (an account or an address), in memory:
//! good enough for one API process; several processes each enforce their own.

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

    /// `Err(seconds)` to wait when `key` has used up its window.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let mut m = self.hits.lock().expect("rate limiter lock");
        let now = Instant::now();
        if m.len() > 100_000 {
            m.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        match m.get(key) {
            Some((start, n)) if now.duration_since(*start) < self.window && *n >= self.max => {
                Err((self.window - now.duration_since(*start)).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    /// Counts one event against `key`.
    pub fn hit(&self, key: &str) {
        let mut m = self.hits.lock().expect("rate limiter lock");
        let now = Instant::now();
        let e = m.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(e.0) >= self.window {
            *e = (now, 0);
        }
        e.1 += 1;
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
        assert!(l.check("a").is_ok());
        l.hit("a");
        l.hit("a");
        assert!(l.check("a").is_err());
        assert!(l.check("b").is_ok());
        l.clear("a");
        assert!(l.check("a").is_ok());
    }
}

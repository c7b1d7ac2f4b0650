//! In-memory throttling of login and password recovery: a token bucket per
//! client IP, and per account a count of failed logins that locks further
//! attempts for the rest of a fixed window. Memory is bounded: idle entries
//! are pruned once the tables grow.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use userhub_core::config::RateLimitSettings;

/// Past this many tracked keys, stale ones are pruned on insert.
const PRUNE_THRESHOLD: usize = 50_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

#[derive(Debug)]
struct Failures {
    count: u32,
    window_start: Instant,
}

#[derive(Debug)]
pub struct RateLimiter {
    settings: RateLimitSettings,
    ips: Mutex<HashMap<IpAddr, Bucket>>,
    accounts: Mutex<HashMap<String, Failures>>,
}

/// Seconds the client should wait before trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

impl RateLimiter {
    pub fn new(settings: RateLimitSettings) -> Self {
        Self {
            settings,
            ips: Mutex::default(),
            accounts: Mutex::default(),
        }
    }

    /// Takes one token from `ip`'s bucket.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), RetryAfter> {
        let now = Instant::now();
        let burst = f64::from(self.settings.ip_burst);
        let rate = self.settings.ip_refill_per_second;
        let mut ips = self.ips.lock().unwrap_or_else(|p| p.into_inner());
        if ips.len() > PRUNE_THRESHOLD {
            ips.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = ips.entry(ip).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * rate).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(RetryAfter(((1.0 - bucket.tokens) / rate).ceil() as u64))
        }
    }

    /// Whether `account` is locked after too many failures.
    pub fn check_account(&self, account: &str) -> Result<(), RetryAfter> {
        let accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        match accounts.get(&account.to_lowercase()) {
            Some(f) if f.count >= self.settings.login_max_failures => {
                let elapsed = f.window_start.elapsed();
                match self.settings.login_failure_window.checked_sub(elapsed) {
                    Some(left) if !left.is_zero() => Err(RetryAfter(left.as_secs().max(1))),
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed login for `account`.
    pub fn record_failure(&self, account: &str) {
        let now = Instant::now();
        let window = self.settings.login_failure_window;
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if accounts.len() > PRUNE_THRESHOLD {
            accounts.retain(|_, f| now.duration_since(f.window_start) < window);
        }
        let entry = accounts.entry(account.to_lowercase()).or_insert(Failures {
            count: 0,
            window_start: now,
        });
        if now.duration_since(entry.window_start) >= window {
            *entry = Failures {
                count: 0,
                window_start: now,
            };
        }
        entry.count += 1;
    }

    /// A successful login clears the account's failures.
    pub fn clear(&self, account: &str) {
        self.accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&account.to_lowercase());
    }

    pub fn failure_window(&self) -> Duration {
        self.settings.login_failure_window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst: u32, failures: u32) -> RateLimiter {
        RateLimiter::new(RateLimitSettings {
            login_max_failures: failures,
            login_failure_window: Duration::from_secs(900),
            ip_burst: burst,
            ip_refill_per_second: 1.0,
        })
    }

    #[test]
    fn ip_bucket_allows_burst_then_refuses_with_retry_after() {
        let l = limiter(3, 10);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(l.check_ip(ip).is_ok());
        }
        assert_eq!(l.check_ip(ip), Err(RetryAfter(1)));
        assert!(
            l.check_ip("192.0.2.2".parse().unwrap()).is_ok(),
            "buckets are per IP"
        );
    }

    #[test]
    fn account_locks_after_max_failures_and_success_clears() {
        let l = limiter(100, 3);
        for _ in 0..3 {
            assert!(l.check_account("A@x.io").is_ok());
            l.record_failure("a@x.io");
        }
        let RetryAfter(secs) = l.check_account("a@X.io").unwrap_err();
        assert!((890..=900).contains(&secs), "{secs}");
        l.clear("a@x.io");
        assert!(l.check_account("a@x.io").is_ok());
    }
}

//! In-memory throttles of one replica: a token bucket per client IP (login,
//! signup, password recovery) and a quota of recovery emails per recipient.
//! Both are `governor` keyed limiters whose keys are fixed-size (an IP
//! address, IPv6 reduced to its /64; a 64-bit keyed hash of the canonical
//! email), so memory is bounded in bytes by bounding the number of keys:
//! past [`MAX_KEYS`] idle keys are pruned, and while the table stays full
//! new clients share one overflow bucket (fail closed, never unbounded).
//!
//! The per-account login lockout is not here: it lives in the database so
//! that every replica enforces the same limit (see `userhub-storage`).

use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use userhub_core::config::RateLimitSettings;

/// Most keys one table tracks (about 40 bytes each with the map's overhead).
pub const MAX_KEYS: usize = 100_000;
/// How often a full table may be pruned (pruning walks the whole table).
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// Seconds the client should wait before trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// One bounded keyed limiter.
struct Table<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    overflow: K,
    last_prune: Mutex<Option<Instant>>,
    max_keys: usize,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new(quota: Quota, overflow: K, max_keys: usize) -> Self {
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            overflow,
            last_prune: Mutex::new(None),
            max_keys,
        }
    }

    fn check(&self, key: K) -> Result<(), RetryAfter> {
        let key = if self.limiter.len() >= self.max_keys && !self.prune() {
            self.overflow.clone()
        } else {
            key
        };
        self.limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            RetryAfter(wait.as_secs_f64().ceil().max(1.0) as u64)
        })
    }

    /// Drops keys whose bucket is full again; true when there is room now.
    fn prune(&self) -> bool {
        let mut last = self.last_prune.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            *last = Some(Instant::now());
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter.len() < self.max_keys
    }

    fn len(&self) -> usize {
        self.limiter.len()
    }
}

pub struct RateLimiter {
    ips: Table<IpAddr>,
    recipients: Table<u64>,
    hasher: std::collections::hash_map::RandomState,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("ips", &self.ips.len())
            .field("recipients", &self.recipients.len())
            .finish()
    }
}

impl RateLimiter {
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self::with_max_keys(settings, MAX_KEYS)
    }

    fn with_max_keys(settings: &RateLimitSettings, max_keys: usize) -> Self {
        let burst = NonZeroU32::new(settings.ip_burst).unwrap_or(NonZeroU32::MIN);
        let ip_quota =
            Quota::with_period(Duration::from_secs_f64(1.0 / settings.ip_refill_per_second))
                .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                .allow_burst(burst);
        let per_hour =
            NonZeroU32::new(settings.recovery_emails_per_hour).unwrap_or(NonZeroU32::MIN);
        Self {
            ips: Table::new(ip_quota, IpAddr::V6(Ipv6Addr::UNSPECIFIED), max_keys),
            recipients: Table::new(Quota::per_hour(per_hour), u64::MAX, max_keys),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Takes one token from the bucket of `ip` (IPv6: of its /64).
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), RetryAfter> {
        self.ips.check(bucket_key(ip))
    }

    /// Takes one recovery email from the quota of `canonical_email`.
    pub fn check_recipient(&self, canonical_email: &str) -> Result<(), RetryAfter> {
        self.recipients.check(self.hasher.hash_one(canonical_email))
    }

    /// Keys tracked by the IP and recipient tables.
    pub fn tracked_keys(&self) -> (usize, usize) {
        (self.ips.len(), self.recipients.len())
    }
}

/// IPv4 as is; IPv6 (unless IPv4-mapped) reduced to its /64, the block one
/// subscriber usually holds.
fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(burst: u32) -> RateLimitSettings {
        RateLimitSettings {
            login_max_failures: 10,
            login_failure_window: Duration::from_secs(900),
            ip_burst: burst,
            ip_refill_per_second: 1.0,
            recovery_emails_per_hour: 2,
        }
    }

    #[test]
    fn ip_bucket_allows_burst_then_refuses_with_retry_after() {
        let l = RateLimiter::new(&settings(3));
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
    fn ipv6_addresses_of_one_slash_64_share_a_bucket() {
        let l = RateLimiter::new(&settings(2));
        assert!(l.check_ip("2001:db8::1".parse().unwrap()).is_ok());
        assert!(l.check_ip("2001:db8::ffff:2".parse().unwrap()).is_ok());
        assert!(l.check_ip("2001:db8::3".parse().unwrap()).is_err());
        assert!(l.check_ip("2001:db8:0:1::1".parse().unwrap()).is_ok());
    }

    #[test]
    fn recipients_get_a_quota_of_emails() {
        let l = RateLimiter::new(&settings(100));
        assert!(l.check_recipient("a@example.com").is_ok());
        assert!(l.check_recipient("a@example.com").is_ok());
        let RetryAfter(secs) = l.check_recipient("a@example.com").unwrap_err();
        assert!((1..=1800).contains(&secs), "{secs}");
        assert!(l.check_recipient("b@example.com").is_ok());
    }

    #[test]
    fn tables_stay_bounded_and_overflow_shares_one_bucket() {
        let l = RateLimiter::with_max_keys(&settings(1), 50);
        // 500 distinct clients, each spending its only token: no key is
        // prunable, so the table must stop growing at its bound.
        let mut refused = 0;
        for i in 0..500u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            if l.check_ip(ip).is_err() {
                refused += 1;
            }
        }
        let (ips, _) = l.tracked_keys();
        assert!(ips <= 51, "{ips} keys tracked");
        assert!(
            refused >= 440,
            "clients past the bound share one bucket: {refused}"
        );
    }
}

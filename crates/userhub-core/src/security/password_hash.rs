//! Password hashing: argon2id with the reference's parameters (m=65536, t=3,
//! p=4), bcrypt verification for adopted hashes, and a bound on how many
//! hashes run at once so that a login storm cannot starve other requests or
//! blow up memory (each argon2 run holds 64 MiB).
//!
//! The hashes run on their own threads below the request threads'
//! scheduling priority ([`HashWorkers`]), one thread per permit.
//!
//! Verifications (logins) have priority over new hashes (signup, password
//! changes, re-hashing): a hash must first take one of at most half the
//! permits (rounded down, at least one), so with two or more permits a queue
//! of signups can never hold them all and a login waits only for other
//! logins.

use std::sync::Arc;
use std::time::Instant;

use argon2::password_hash::{
    PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use super::hash_workers::{HashWorkers, WorkerError};

/// argon2id memory cost in KiB, iterations and lanes, as the reference writes.
pub const ARGON2_M_COST: u32 = 65_536;
pub const ARGON2_T_COST: u32 = 3;
pub const ARGON2_P_COST: u32 = 4;

/// A valid argon2id hash with the production parameters of a password nobody
/// knows: verifying against it costs what a real verification costs, so the
/// unknown-email path takes as long as the known-email one.
const TIMING_DUMMY_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$6f1PLjKkqUUUq3ZbS5N7dE0dEpjJb3rJ3fw3V6s3Bq0";

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing failed to run")]
    Worker(#[from] WorkerError),
    #[error("password hasher is shut down")]
    Closed,
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// The password matches; `rehash` is set when the stored hash is bcrypt
    /// or uses other argon2 parameters and should be replaced.
    Valid {
        rehash: bool,
    },
    Invalid,
}

/// Hashes and verifies passwords on low-priority threads of its own, at most
/// `max_concurrent` at a time.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Taken before `permits` by hashes (not verifications).
    hash_permits: Arc<Semaphore>,
    workers: HashWorkers,
    on_duration: Option<Observer>,
}

/// Receives each operation's name (`hash` or `verify`) and duration in seconds.
pub type Observer = Arc<dyn Fn(&'static str, f64) + Send + Sync>;

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("available_permits", &self.permits.available_permits())
            .finish()
    }
}

impl PasswordHasher {
    pub fn new(max_concurrent: usize) -> Self {
        let max_concurrent = max_concurrent.max(1);
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent)),
            hash_permits: Arc::new(Semaphore::new((max_concurrent / 2).max(1))),
            workers: HashWorkers::start(max_concurrent),
            on_duration: None,
        }
    }

    /// Reports each operation's duration (`"hash"` or `"verify"`, seconds),
    /// e.g. to a metrics histogram.
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.on_duration = Some(observer);
        self
    }

    /// Hashes `password` as argon2id with the production parameters.
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let password = password.to_owned();
        self.run("hash", true, move || hash_blocking(&password))
            .await?
    }

    /// Checks `password` against `stored` (argon2 or bcrypt PHC string).
    /// A malformed stored hash verifies as `Invalid`.
    pub async fn verify(&self, password: &str, stored: &str) -> Result<Verification, HashError> {
        let password = password.to_owned();
        let stored = stored.to_owned();
        self.run("verify", false, move || verify_blocking(&password, &stored))
            .await
    }

    /// Spends one argon2 verification for an unknown account.
    pub async fn verify_dummy(&self, password: &str) -> Result<(), HashError> {
        self.verify(password, TIMING_DUMMY_HASH).await.map(|_| ())
    }

    #[tracing::instrument(name = "password_hash", skip_all, fields(operation = op))]
    async fn run<T: Send + 'static>(
        &self,
        op: &'static str,
        low_priority: bool,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let hash_permit = if low_priority {
            Some(
                Arc::clone(&self.hash_permits)
                    .acquire_owned()
                    .await
                    .map_err(|_| HashError::Closed)?,
            )
        } else {
            None
        };
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| HashError::Closed)?;
        let started = Instant::now();
        // The permit travels with the work: a caller that gives up (client
        // gone, request timeout) must not free it while the 64 MiB hash
        // still runs, or the limit no longer bounds memory.
        let out = self
            .workers
            .run(move || {
                let _permits = (permit, hash_permit);
                f()
            })
            .await?;
        if let Some(observe) = &self.on_duration {
            observe(op, started.elapsed().as_secs_f64());
        }
        Ok(out)
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(ARGON2_M_COST, ARGON2_T_COST, ARGON2_P_COST, Some(32))
        .expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Hash(e.to_string()))
}

fn verify_blocking(password: &str, stored: &str) -> Verification {
    if stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$") {
        return match bcrypt::verify(password, stored) {
            Ok(true) => Verification::Valid { rehash: true },
            _ => Verification::Invalid,
        };
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verification::Invalid;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return Verification::Invalid;
    };
    let algorithm = match parsed.algorithm.as_str() {
        "argon2id" => Algorithm::Argon2id,
        "argon2i" => Algorithm::Argon2i,
        "argon2d" => Algorithm::Argon2d,
        _ => return Verification::Invalid,
    };
    let version = parsed
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or(Version::V0x13);
    let verifier = Argon2::new(algorithm, version, params.clone());
    if verifier
        .verify_password(password.as_bytes(), &parsed)
        .is_err()
    {
        return Verification::Invalid;
    }
    let current = algorithm == Algorithm::Argon2id
        && params.m_cost() == ARGON2_M_COST
        && params.t_cost() == ARGON2_T_COST
        && params.p_cost() == ARGON2_P_COST;
    Verification::Valid { rehash: !current }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn argon2_roundtrip_with_reference_parameters() {
        let h = PasswordHasher::new(2);
        let hash = h.hash("correct horse").await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=65536,t=3,p=4$"),
            "{hash}"
        );
        assert_eq!(
            h.verify("correct horse", &hash).await.unwrap(),
            Verification::Valid { rehash: false }
        );
        assert_eq!(
            h.verify("wrong horse", &hash).await.unwrap(),
            Verification::Invalid
        );
    }

    #[tokio::test]
    async fn bcrypt_verifies_and_asks_for_rehash() {
        let stored = bcrypt::hash("legacy-pass", 4).unwrap();
        let h = PasswordHasher::new(1);
        assert_eq!(
            h.verify("legacy-pass", &stored).await.unwrap(),
            Verification::Valid { rehash: true }
        );
        assert_eq!(
            h.verify("other-pass", &stored).await.unwrap(),
            Verification::Invalid
        );
        let as_2a = stored.replacen("$2b$", "$2a$", 1);
        assert_eq!(
            h.verify("legacy-pass", &as_2a).await.unwrap(),
            Verification::Valid { rehash: true }
        );
    }

    #[tokio::test]
    async fn weaker_argon2_parameters_ask_for_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw-123456", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        let h = PasswordHasher::new(1);
        assert_eq!(
            h.verify("pw-123456", &weak).await.unwrap(),
            Verification::Valid { rehash: true }
        );
    }

    #[tokio::test]
    async fn garbage_hash_is_invalid_not_an_error() {
        let h = PasswordHasher::new(1);
        for stored in ["", "plain", "$argon2id$broken", "$2b$nope"] {
            assert_eq!(
                h.verify("whatever1", stored).await.unwrap(),
                Verification::Invalid
            );
        }
        h.verify_dummy("whatever1").await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_caller_keeps_the_permit_until_its_hash_ends() {
        let hasher = PasswordHasher::new(1);
        let caller = hasher.clone();
        let task = tokio::spawn(async move { caller.hash("correct horse battery").await });
        while hasher.permits.available_permits() == 1 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        // The argon2id run (hundreds of milliseconds) is still going.
        assert_eq!(hasher.permits.available_permits(), 0);
        tokio::time::timeout(std::time::Duration::from_secs(60), async {
            while hasher.permits.available_permits() == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the permit comes back when the hash ends");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_hashes_leave_a_permit_for_verifications() {
        let hasher = PasswordHasher::new(2);
        // Many hashes queued (signup spam): at most one permit goes to them.
        let hashes: Vec<_> = (0..6)
            .map(|_| {
                let h = hasher.clone();
                tokio::spawn(async move { h.hash("signup-spam-1").await })
            })
            .collect();
        while hasher.permits.available_permits() == 2 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert_eq!(hasher.permits.available_permits(), 1);
        // A verification gets the other permit at once, not after the queue.
        let permit = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            Arc::clone(&hasher.permits).acquire_owned(),
        )
        .await
        .expect("a permit is free for logins")
        .unwrap();
        drop(permit);
        for h in hashes {
            h.abort();
        }
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashes_run_below_the_request_threads_priority() {
        let caller = super::super::hash_workers::current_nice();
        let hasher = PasswordHasher::new(1);
        let inside = hasher
            .run("verify", false, super::super::hash_workers::current_nice)
            .await
            .unwrap();
        assert_eq!(inside, caller.max(super::super::hash_workers::HASH_NICE));
    }

    #[test]
    fn dummy_hash_parses_with_production_parameters() {
        let parsed = PasswordHash::new(TIMING_DUMMY_HASH).unwrap();
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (ARGON2_M_COST, ARGON2_T_COST, ARGON2_P_COST)
        );
        assert_eq!(parsed.hash.unwrap().len(), 32);
    }
}

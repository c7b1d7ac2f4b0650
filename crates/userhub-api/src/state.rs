//! The application state shared by every handler.

use std::sync::Arc;

use chrono::Duration;
use userhub_core::config::{ExposeSecret, Settings};
use userhub_core::security::{PasswordHasher, TokenKeys};
use userhub_storage::Database;
use userhub_telemetry::{Draining, Metrics};

use crate::email::Mailer;
use crate::rate_limit::RateLimiter;

/// Everything handlers need; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Database,
    pub hasher: PasswordHasher,
    pub tokens: TokenKeys,
    pub mailer: Mailer,
    pub limiter: Arc<RateLimiter>,
    pub metrics: Metrics,
    /// Raised on SIGTERM: `/readyz` fails while requests are still served.
    pub draining: Draining,
}

impl AppState {
    pub fn new(settings: Settings, db: Database, metrics: Metrics) -> Self {
        let observer_metrics = metrics.clone();
        let hasher = PasswordHasher::new(settings.server.hash_concurrency).with_observer(Arc::new(
            move |op, secs| observer_metrics.record_password_hash(op, secs),
        ));
        let previous: Vec<&[u8]> = settings
            .previous_secret_keys
            .iter()
            .map(|k| k.expose_secret().as_bytes())
            .collect();
        let tokens = TokenKeys::with_previous(
            settings.secret_key.expose_secret().as_bytes(),
            &previous,
            Duration::minutes(settings.access_token_expire_minutes),
            Duration::hours(settings.email_reset_token_expire_hours),
        );
        let mailer = Mailer::new(&settings.mail, &settings.project_name, metrics.clone());
        let limiter = Arc::new(RateLimiter::new(&settings.rate_limit));
        Self {
            settings: Arc::new(settings),
            db,
            hasher,
            tokens,
            mailer,
            limiter,
            metrics,
            draining: Draining::default(),
        }
    }
}

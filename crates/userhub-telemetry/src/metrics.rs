//! Business and infrastructure metrics recorded by the other crates.
//! (Seam: the Prometheus registry behind these calls lands with the
//! observability issue.)

/// How a login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    Success,
    BadCredentials,
    Inactive,
    RateLimited,
}

impl LoginOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::BadCredentials => "bad_credentials",
            Self::Inactive => "inactive",
            Self::RateLimited => "rate_limited",
        }
    }
}

/// Handle for recording metrics; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Metrics {}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record_login(&self, _outcome: LoginOutcome) {}
    pub fn record_user_registered(&self) {}
    pub fn record_item_created(&self) {}
    pub fn record_items_deleted(&self, _count: u64) {}
    /// `kind`: `password_recovery`, `new_account`, `test`; `outcome`: `sent`, `failed`, `disabled`.
    pub fn record_email(&self, _kind: &'static str, _outcome: &'static str) {}
    pub fn record_rate_limited(&self, _endpoint: &'static str) {}
    /// `operation`: `hash` or `verify`.
    pub fn record_password_hash(&self, _operation: &'static str, _seconds: f64) {}
    /// One database operation (`select`, `insert`, …) on `table`.
    pub fn record_db_operation(
        &self,
        _operation: &'static str,
        _table: &'static str,
        _seconds: f64,
    ) {
    }
    pub fn record_db_acquire_timeout(&self) {}
}

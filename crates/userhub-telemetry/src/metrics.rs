//! Business and infrastructure metrics recorded by the other crates, kept in
//! one Prometheus registry per [`Metrics`] handle (no global registry).
//!
//! Every label value comes from a closed set (`&'static str` arguments, the
//! matched route template, normalised HTTP methods, status codes), so series
//! cardinality is bounded by construction.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::exemplar::HistogramWithExemplars;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::build_info::BuildInfo;
use crate::collectors::{PoolCollector, PoolGauges, ProcessCollector};

/// HTTP request duration buckets: sub-millisecond to 10 s.
pub const HTTP_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
/// Database operation buckets: 50 µs to 5 s.
pub const DB_BUCKETS: [f64; 14] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0,
];
/// Password hashing buckets: argon2id with m=64 MiB takes tens to hundreds of ms.
pub const HASH_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// Email kinds (`kind` label of `userhub_emails_total`).
pub const EMAIL_KINDS: [&str; 3] = ["password_recovery", "new_account", "test"];
/// Email outcomes (`result` label of `userhub_emails_total`).
pub const EMAIL_RESULTS: [&str; 3] = ["sent", "failed", "disabled"];
/// Rate-limited endpoints (`endpoint` label of `userhub_rate_limited_requests_total`).
pub const RATE_LIMITED_ENDPOINTS: [&str; 2] = ["login", "password_recovery"];

/// Which metric families a registry exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The API (and the all-in-one `serve`): every family.
    Full,
    /// The standalone web UI: HTTP server, process and build families only;
    /// it has no database and serves no API, so the other families would be
    /// zeros that never move.
    HttpOnly,
}

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct HttpLabels {
    pub http_request_method: &'static str,
    pub http_route: String,
    pub http_response_status_code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct MethodLabel {
    pub http_request_method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TraceLabel {
    pub trace_id: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DbLabels {
    db_operation_name: &'static str,
    db_collection_name: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EmailLabels {
    kind: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabel {
    endpoint: &'static str,
}

type HttpHistogram = HistogramWithExemplars<TraceLabel>;

/// Handle for recording metrics; cheap to clone (all clones share one registry).
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    http_duration: Family<HttpLabels, HttpHistogram, fn() -> HttpHistogram>,
    http_active: Family<MethodLabel, Gauge>,
    db_duration: Family<DbLabels, Histogram, fn() -> Histogram>,
    db_timeouts: Counter,
    logins: Family<ResultLabel, Counter>,
    password_hash: Family<OperationLabel, Histogram, fn() -> Histogram>,
    users_registered: Counter,
    items_created: Counter,
    items_deleted: Counter,
    emails: Family<EmailLabels, Counter>,
    rate_limited: Family<EndpointLabel, Counter>,
    pool: Arc<PoolCollector>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry holding every Userhub metric (API and all-in-one).
    pub fn new() -> Self {
        Self::build(Scope::Full)
    }

    /// A fresh registry for the standalone web UI: the HTTP server, process
    /// and build families only. The recording methods still work and change
    /// nothing that is exposed.
    pub fn http_only() -> Self {
        Self::build(Scope::HttpOnly)
    }

    fn build(scope: Scope) -> Self {
        let mut registry = Registry::default();
        let http_duration: Family<HttpLabels, HttpHistogram, fn() -> HttpHistogram> =
            Family::new_with_constructor(|| HttpHistogram::new(HTTP_BUCKETS.into_iter()));
        registry.register(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests, by method, matched route and status",
            http_duration.clone(),
        );
        let http_active = Family::<MethodLabel, Gauge>::default();
        registry.register(
            "http_server_active_requests",
            "Number of HTTP requests being served right now",
            http_active.clone(),
        );
        registry.register_collector(Box::new(ProcessCollector));
        BuildInfo::current().register(&mut registry);
        // Families below belong to the API: the web-only registry creates
        // them (so recording is uniform) but does not expose them.
        let mut unexposed = Registry::default();
        let registry_api = match scope {
            Scope::Full => &mut registry,
            Scope::HttpOnly => &mut unexposed,
        };
        let db_duration: Family<DbLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(DB_BUCKETS));
        registry_api.register(
            "db_client_operation_duration_seconds",
            "Duration of database operations, by operation and table",
            db_duration.clone(),
        );
        let db_timeouts = Counter::default();
        registry_api.register(
            "db_client_connection_timeouts",
            "Connection acquisitions from the pool that timed out",
            db_timeouts.clone(),
        );
        let logins = Family::<ResultLabel, Counter>::default();
        registry_api.register(
            "userhub_logins",
            "Login attempts by result (success, bad_credentials, inactive, rate_limited)",
            logins.clone(),
        );
        let password_hash: Family<OperationLabel, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(HASH_BUCKETS));
        registry_api.register(
            "userhub_password_hash_duration_seconds",
            "Duration of password hashing and verification, by operation (hash, verify)",
            password_hash.clone(),
        );
        let users_registered = Counter::default();
        registry_api.register(
            "userhub_users_registered",
            "Users created (signup and by a superuser)",
            users_registered.clone(),
        );
        let items_created = Counter::default();
        registry_api.register(
            "userhub_items_created",
            "Items created",
            items_created.clone(),
        );
        let items_deleted = Counter::default();
        registry_api.register(
            "userhub_items_deleted",
            "Items deleted (directly or with their owner)",
            items_deleted.clone(),
        );
        let emails = Family::<EmailLabels, Counter>::default();
        registry_api.register(
            "userhub_emails",
            "Emails by kind (password_recovery, new_account, test) and result (sent, failed, disabled)",
            emails.clone(),
        );
        let rate_limited = Family::<EndpointLabel, Counter>::default();
        registry_api.register(
            "userhub_rate_limited_requests",
            "Requests refused with 429 by the rate limiter, by endpoint",
            rate_limited.clone(),
        );
        let pool = Arc::new(PoolCollector::default());
        registry_api.register_collector(Box::new(pool.clone()));
        // Closed label sets are exported at zero from the start, so rate(),
        // dashboards and alert expressions see every series before first use.
        for outcome in [
            LoginOutcome::Success,
            LoginOutcome::BadCredentials,
            LoginOutcome::Inactive,
            LoginOutcome::RateLimited,
        ] {
            let _ = logins.get_or_create(&ResultLabel {
                result: outcome.as_str(),
            });
        }
        for kind in EMAIL_KINDS {
            for result in EMAIL_RESULTS {
                let _ = emails.get_or_create(&EmailLabels { kind, result });
            }
        }
        for endpoint in RATE_LIMITED_ENDPOINTS {
            let _ = rate_limited.get_or_create(&EndpointLabel { endpoint });
        }
        Self {
            inner: Arc::new(Inner {
                registry,
                http_duration,
                http_active,
                db_duration,
                db_timeouts,
                logins,
                password_hash,
                users_registered,
                items_created,
                items_deleted,
                emails,
                rate_limited,
                pool,
            }),
        }
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    pub fn record_login(&self, outcome: LoginOutcome) {
        self.inner
            .logins
            .get_or_create(&ResultLabel {
                result: outcome.as_str(),
            })
            .inc();
    }
    pub fn record_user_registered(&self) {
        self.inner.users_registered.inc();
    }
    pub fn record_item_created(&self) {
        self.inner.items_created.inc();
    }
    pub fn record_items_deleted(&self, count: u64) {
        self.inner.items_deleted.inc_by(count);
    }
    /// `kind`: `password_recovery`, `new_account`, `test`; `outcome`: `sent`, `failed`, `disabled`.
    pub fn record_email(&self, kind: &'static str, outcome: &'static str) {
        self.inner
            .emails
            .get_or_create(&EmailLabels {
                kind,
                result: outcome,
            })
            .inc();
    }
    pub fn record_rate_limited(&self, endpoint: &'static str) {
        self.inner
            .rate_limited
            .get_or_create(&EndpointLabel { endpoint })
            .inc();
    }
    /// `operation`: `hash` or `verify`.
    pub fn record_password_hash(&self, operation: &'static str, seconds: f64) {
        self.inner
            .password_hash
            .get_or_create(&OperationLabel { operation })
            .observe(seconds);
    }
    /// One database operation (`select`, `insert`, …) on `table`.
    pub fn record_db_operation(&self, operation: &'static str, table: &'static str, seconds: f64) {
        self.inner
            .db_duration
            .get_or_create(&DbLabels {
                db_operation_name: operation,
                db_collection_name: table,
            })
            .observe(seconds);
    }
    pub fn record_db_acquire_timeout(&self) {
        self.inner.db_timeouts.inc();
    }

    /// Registers the function read on every scrape for the pool gauges
    /// (in use, idle, max, waiters). The last registration wins.
    pub fn set_pool_stats_source<G: PoolGauges + 'static>(
        &self,
        source: impl Fn() -> G + Send + Sync + 'static,
    ) {
        self.inner
            .pool
            .set_source(Arc::new(move || Box::new(source())));
    }

    pub(crate) fn http_active(&self, method: &'static str) -> Gauge {
        self.inner
            .http_active
            .get_or_create(&MethodLabel {
                http_request_method: method,
            })
            .clone()
    }

    /// `trace_id`: set only for sampled requests, becomes the exemplar.
    pub(crate) fn record_http_request(
        &self,
        labels: HttpLabels,
        seconds: f64,
        trace_id: Option<String>,
    ) {
        self.inner.http_duration.get_or_create(&labels).observe(
            seconds,
            trace_id.map(|trace_id| TraceLabel { trace_id }),
            None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;

    fn series(text: &str, prefix: &str) -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn closed_label_sets_are_exported_at_zero_before_first_use() {
        let text = Metrics::new().render(Format::PrometheusText);
        for kind in EMAIL_KINDS {
            for result in EMAIL_RESULTS {
                let line = format!("userhub_emails_total{{kind=\"{kind}\",result=\"{result}\"}} 0");
                assert!(text.contains(&line), "missing {line} in:\n{text}");
            }
        }
        for endpoint in RATE_LIMITED_ENDPOINTS {
            let line = format!("userhub_rate_limited_requests_total{{endpoint=\"{endpoint}\"}} 0");
            assert!(text.contains(&line), "missing {line} in:\n{text}");
        }
        assert_eq!(series(&text, "userhub_logins_total{").len(), 4, "{text}");
    }

    struct EmptyPool;

    impl PoolGauges for EmptyPool {
        fn in_use(&self) -> u64 {
            0
        }
        fn idle(&self) -> u64 {
            0
        }
        fn max(&self) -> u64 {
            0
        }
        fn waiters(&self) -> u64 {
            0
        }
    }

    #[test]
    fn the_web_registry_exposes_only_http_process_and_build_families() {
        let metrics = Metrics::http_only();
        // Recording API events on it is harmless and exposes nothing.
        metrics.record_email("test", "sent");
        metrics.record_login(LoginOutcome::Success);
        metrics.record_db_operation("select", "user", 0.001);
        metrics.set_pool_stats_source(|| EmptyPool);
        let text = metrics.render(Format::PrometheusText);
        let families: std::collections::BTreeSet<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        for family in &families {
            assert!(
                family.starts_with("http_server_")
                    || family.starts_with("process_")
                    || *family == "userhub_build_info",
                "unexpected family {family} in the web registry:\n{text}"
            );
        }
        assert!(families.contains("userhub_build_info"), "{families:?}");
    }
}

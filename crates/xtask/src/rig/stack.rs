//! The deployment under test: N `userhub api` replicas and optionally one
//! `userhub web`, behind HAProxy, on a database the caller provides.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use super::haproxy::{self, Haproxy};
use super::process::{Spec, Userhub};
use crate::delivery::random_hex;

pub const ADMIN_EMAIL: &str = "load-admin@example.com";

#[derive(Debug, Clone)]
pub struct Options {
    pub binary: PathBuf,
    pub database_url: String,
    pub replicas: usize,
    pub web: bool,
    pub check: haproxy::Check,
    /// Extra environment for every API replica (drill-specific settings).
    pub api_env: Vec<(String, String)>,
    /// PostgreSQL servers for HAProxy's TCP front (failover drill) and its
    /// address, which `database_url` should point at.
    pub postgres: Vec<(String, SocketAddr, bool)>,
    pub postgres_bind: Option<SocketAddr>,
    pub api_maxconn: u32,
    pub queue_timeout: Duration,
}

impl Options {
    pub fn new(binary: &Path, database_url: String, replicas: usize, web: bool) -> Self {
        Self {
            binary: binary.to_path_buf(),
            database_url,
            replicas,
            web,
            check: haproxy::Check::Readyz,
            api_env: Vec::new(),
            postgres: Vec::new(),
            postgres_bind: None,
            api_maxconn: 64,
            queue_timeout: Duration::from_secs(1),
        }
    }
}

#[derive(Debug)]
pub struct Stack {
    pub api: Vec<Userhub>,
    pub web: Option<Userhub>,
    pub haproxy: Haproxy,
    pub admin_password: String,
}

/// Environment shared by every API replica.
pub fn api_env(database_url: &str, secret: &str, admin_password: &str) -> Vec<(String, String)> {
    [
        ("ENVIRONMENT", "production"),
        ("SECRET_KEY", secret),
        ("DATABASE_URL", database_url),
        ("FIRST_SUPERUSER", ADMIN_EMAIL),
        ("FIRST_SUPERUSER_PASSWORD", admin_password),
        // Every virtual user reaches the API from 127.0.0.1 through one
        // proxy: per-IP login limiting would measure the limiter, not the service.
        ("USERHUB_IP_BURST", "1000000"),
        ("USERHUB_IP_REFILL_PER_SECOND", "1000000"),
        ("USERHUB_LOGIN_MAX_FAILURES", "1000000"),
        ("USERHUB_SHUTDOWN_TIMEOUT_SECONDS", "10"),
        ("RUST_LOG", "info,userhub::access=warn"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

impl Stack {
    /// HAProxy first (it may front the database), then the replicas one
    /// after the other (the first runs the migrations), then the web service.
    pub fn start(options: &Options, work: &Path) -> Result<Self> {
        let secret = random_hex(32)?;
        let admin_password = random_hex(12)?;
        let mut env = api_env(&options.database_url, &secret, &admin_password);
        env.extend(options.api_env.iter().cloned());
        let specs = (1..=options.replicas)
            .map(|n| {
                Spec::new(
                    &format!("api-{n}"),
                    &options.binary,
                    "api",
                    env.clone(),
                    work,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let web_spec = if options.web {
            Some(Spec::new(
                "web-1",
                &options.binary,
                "web",
                Vec::new(),
                work,
            )?)
        } else {
            None
        };
        let mut config = haproxy::Config::new(
            specs.iter().map(|s| (s.name.clone(), s.bind)).collect(),
            web_spec.as_ref().map(|s| s.bind),
        );
        config.check = options.check;
        config.postgres = options.postgres.clone();
        config.postgres_bind = options.postgres_bind;
        config.api_maxconn = options.api_maxconn;
        config.queue_timeout = options.queue_timeout;
        let haproxy = Haproxy::start(&config, work)?;

        let mut api = Vec::new();
        for spec in specs {
            let process = Userhub::start(spec)?;
            println!(
                "{} ready on {} in {:.0} ms (admin {})",
                process.spec.name,
                process.url(),
                process.start_to_ready.as_secs_f64() * 1000.0,
                process.spec.admin
            );
            api.push(process);
        }
        haproxy.wait_backend_up("api", Duration::from_secs(20))?;
        let web = match web_spec {
            Some(mut spec) => {
                // The web service calls the API through the load balancer.
                spec.env = vec![
                    ("ENVIRONMENT".into(), "production".into()),
                    ("SECRET_KEY".into(), secret.clone()),
                    ("USERHUB_COOKIE_KEY".into(), random_hex(32)?),
                    ("USERHUB_API_URL".into(), haproxy.url()),
                    ("RUST_LOG".into(), "info,userhub::access=warn".into()),
                ];
                let process = Userhub::start(spec)?;
                println!("web-1 ready on {}", process.url());
                haproxy.wait_backend_up("web", Duration::from_secs(20))?;
                Some(process)
            }
            None => None,
        };
        Ok(Self {
            api,
            web,
            haproxy,
            admin_password,
        })
    }

    /// Environment for k6: where to go, who the superuser is.
    pub fn k6_env(&self) -> Vec<(String, String)> {
        vec![
            ("BASE_URL".into(), self.haproxy.url()),
            ("ADMIN_EMAIL".into(), ADMIN_EMAIL.into()),
            ("ADMIN_PASSWORD".into(), self.admin_password.clone()),
        ]
    }
}

//! Telemetry settings: the `telemetry` section of the one [`Config`],
//! interpreted (log format, sampler, exporter).

use std::io::IsTerminal;
use std::net::SocketAddr;

use userhub_config::{Config, ConfigError, TelemetryConfig};

/// Default admin listener (metrics, liveness, readiness).
pub const DEFAULT_ADMIN_BIND: &str = "0.0.0.0:9464";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

/// OTLP transport (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    Grpc,
    HttpProtobuf,
}

/// Which traces are recorded (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SamplerSetting {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio(f64),
    ParentBasedAlwaysOn,
    ParentBasedAlwaysOff,
    ParentBasedTraceIdRatio(f64),
}

/// Where spans go; `None` in [`TelemetrySettings::otlp`] means no exporter.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpSettings {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (traces path appended for HTTP).
    pub endpoint: String,
    pub protocol: OtlpProtocol,
}

/// Everything [`crate::init`] and the admin listener need.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetrySettings {
    /// `USERHUB_ADMIN_BIND`, default `0.0.0.0:9464`.
    pub admin_bind: SocketAddr,
    /// Whether `admin_bind` was configured (else the default is in use, and
    /// a busy default port is a warning rather than a startup failure).
    pub admin_bind_configured: bool,
    /// `USERHUB_LOG_FORMAT` = `json` | `text`; default JSON, except text in
    /// development when stdout is a terminal.
    pub log_format: LogFormat,
    /// `RUST_LOG`-style filter, default `info`.
    pub log_filter: String,
    /// `OTEL_SERVICE_NAME`, default `userhub`.
    pub service_name: String,
    /// `OTEL_RESOURCE_ATTRIBUTES` as `key=value` pairs.
    pub resource_attributes: Vec<(String, String)>,
    pub sampler: SamplerSetting,
    pub otlp: Option<OtlpSettings>,
}

impl TelemetrySettings {
    /// The settings `config` describes (its environment decides the
    /// default log format).
    pub fn load(config: &Config) -> Result<Self, ConfigError> {
        let development = config.environment.is_development();
        let telemetry = &config.telemetry;
        let log_format = match telemetry
            .log_format
            .as_deref()
            .map(|v| v.trim().to_ascii_lowercase())
        {
            None if development && std::io::stdout().is_terminal() => LogFormat::Text,
            None => LogFormat::Json,
            Some(v) => match v.as_str() {
                "json" => LogFormat::Json,
                "text" | "pretty" => LogFormat::Text,
                _ => {
                    return Err(ConfigError::new(
                        "USERHUB_LOG_FORMAT",
                        format!("expected json or text, got {v:?}"),
                    ));
                }
            },
        };
        let log_filter = telemetry
            .rust_log
            .clone()
            .unwrap_or_else(|| "info".to_owned());
        tracing_subscriber::EnvFilter::try_new(&log_filter)
            .map_err(|e| ConfigError::new("RUST_LOG", format!("invalid filter: {e}")))?;
        let otlp = match &telemetry.otel_exporter_otlp_endpoint {
            None => None,
            Some(endpoint) => Some(OtlpSettings {
                endpoint: endpoint.trim().trim_end_matches('/').to_owned(),
                protocol: parse_protocol(telemetry)?,
            }),
        };
        Ok(Self {
            admin_bind: telemetry
                .admin_bind
                .unwrap_or_else(|| DEFAULT_ADMIN_BIND.parse().expect("valid default address")),
            admin_bind_configured: telemetry.admin_bind.is_some(),
            log_format,
            log_filter,
            service_name: telemetry
                .otel_service_name
                .clone()
                .unwrap_or_else(|| "userhub".to_owned()),
            resource_attributes: parse_resource_attributes(telemetry)?,
            sampler: parse_sampler(telemetry)?,
            otlp,
        })
    }
}

fn parse_protocol(telemetry: &TelemetryConfig) -> Result<OtlpProtocol, ConfigError> {
    match telemetry
        .otel_exporter_otlp_protocol
        .as_deref()
        .map(str::trim)
    {
        None | Some("grpc") => Ok(OtlpProtocol::Grpc),
        Some("http/protobuf") => Ok(OtlpProtocol::HttpProtobuf),
        Some(other) => Err(ConfigError::new(
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            format!("expected grpc or http/protobuf, got {other:?}"),
        )),
    }
}

fn parse_resource_attributes(
    telemetry: &TelemetryConfig,
) -> Result<Vec<(String, String)>, ConfigError> {
    let Some(raw) = &telemetry.otel_resource_attributes else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
            _ => Err(ConfigError::new(
                "OTEL_RESOURCE_ATTRIBUTES",
                format!("expected key=value pairs, got {pair:?}"),
            )),
        })
        .collect()
}

fn parse_sampler(telemetry: &TelemetryConfig) -> Result<SamplerSetting, ConfigError> {
    let ratio = telemetry.otel_traces_sampler_arg.unwrap_or(1.0);
    Ok(
        match telemetry.otel_traces_sampler.as_deref().map(str::trim) {
            None | Some("parentbased_always_on") => SamplerSetting::ParentBasedAlwaysOn,
            Some("always_on") => SamplerSetting::AlwaysOn,
            Some("always_off") => SamplerSetting::AlwaysOff,
            Some("traceidratio") => SamplerSetting::TraceIdRatio(ratio),
            Some("parentbased_always_off") => SamplerSetting::ParentBasedAlwaysOff,
            Some("parentbased_traceidratio") => SamplerSetting::ParentBasedTraceIdRatio(ratio),
            Some(other) => {
                return Err(ConfigError::new(
                    "OTEL_TRACES_SAMPLER",
                    format!(
                        "expected always_on, always_off, traceidratio, parentbased_always_on, \
                     parentbased_always_off or parentbased_traceidratio, got {other:?}"
                    ),
                ));
            }
        },
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use userhub_config::Environment;

    use super::*;

    fn from_pairs(pairs: &[(&str, &str)]) -> Result<TelemetrySettings, ConfigError> {
        TelemetrySettings::load(&Config::from_pairs(
            pairs.iter().copied(),
            Environment::production(),
        )?)
    }

    #[test]
    fn defaults_export_nothing_and_log_json() {
        let s = from_pairs(&[]).unwrap();
        assert_eq!(s.admin_bind, "0.0.0.0:9464".parse().unwrap());
        assert!(!s.admin_bind_configured);
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.log_filter, "info");
        assert_eq!(s.service_name, "userhub");
        assert_eq!(s.sampler, SamplerSetting::ParentBasedAlwaysOn);
        assert!(s.otlp.is_none());
    }

    #[test]
    fn reads_the_standard_otel_variables() {
        let s = from_pairs(&[
            ("USERHUB_ADMIN_BIND", "127.0.0.1:9999"),
            ("USERHUB_LOG_FORMAT", "text"),
            ("RUST_LOG", "debug,sqlx=warn"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_SERVICE_NAME", "userhub-api"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=prod, team=core",
            ),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ])
        .unwrap();
        assert_eq!(s.admin_bind, "127.0.0.1:9999".parse().unwrap());
        assert!(s.admin_bind_configured);
        assert_eq!(s.log_format, LogFormat::Text);
        assert_eq!(s.log_filter, "debug,sqlx=warn");
        assert_eq!(s.service_name, "userhub-api");
        assert_eq!(
            s.resource_attributes,
            [
                ("deployment.environment".to_owned(), "prod".to_owned()),
                ("team".to_owned(), "core".to_owned())
            ]
        );
        assert_eq!(s.sampler, SamplerSetting::ParentBasedTraceIdRatio(0.25));
        assert_eq!(
            s.otlp,
            Some(OtlpSettings {
                endpoint: "http://127.0.0.1:4318".to_owned(),
                protocol: OtlpProtocol::HttpProtobuf
            })
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("USERHUB_LOG_FORMAT", "xml"),
            ("USERHUB_ADMIN_BIND", "nowhere"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_RESOURCE_ATTRIBUTES", "novalue"),
        ] {
            let err = from_pairs(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
                (var, value),
            ])
            .unwrap_err();
            assert_eq!(err.var, var, "{value}");
        }
        let err = from_pairs(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "OTEL_TRACES_SAMPLER_ARG");
    }
}

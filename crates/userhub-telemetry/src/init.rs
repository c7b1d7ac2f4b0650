//! Installing the process-wide subscriber: log output, the OpenTelemetry
//! tracer (with an OTLP exporter when an endpoint is configured) and the W3C
//! propagators.

use opentelemetry::KeyValue;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::runtime;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::subscriber::Interest;
use tracing::{Level, Metadata};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Filter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, filter::Targets};

use crate::error::TelemetryError;
use crate::json_log::JsonLogLayer;
use crate::settings::{LogFormat, OtlpProtocol, OtlpSettings, SamplerSetting, TelemetrySettings};

/// Keeps the tracer alive; [`TelemetryGuard::shutdown`] flushes pending spans.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Exports every finished span now (tests, before a scrape of traces).
    pub async fn force_flush(&self) {
        if let Some(provider) = self.provider.clone() {
            let result = tokio::task::spawn_blocking(move || provider.force_flush()).await;
            if let Ok(Err(e)) = result {
                eprintln!("telemetry: flushing spans failed: {e}");
            }
        }
    }

    /// Flushes and stops the span exporter (call before the runtime ends).
    pub async fn shutdown(mut self) {
        if let Some(provider) = self.provider.take() {
            let result = tokio::task::spawn_blocking(move || provider.shutdown()).await;
            if let Ok(Err(e)) = result {
                eprintln!("telemetry: flushing spans on shutdown failed: {e}");
            }
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let Some(provider) = self.provider.take() else {
            return;
        };
        // The exporter runs on the Tokio runtime: flushing from a thread of a
        // running runtime needs `block_in_place` (multi-threaded runtime only).
        match tokio::runtime::Handle::try_current() {
            Err(_) => drop(provider.shutdown()),
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| drop(provider.shutdown()));
            }
            Ok(_) => eprintln!(
                "telemetry: guard dropped inside a current-thread runtime; \
                 call TelemetryGuard::shutdown().await to flush spans"
            ),
        }
    }
}

/// Installs telemetry writing logs to stdout. With an OTLP endpoint it must
/// run inside a Tokio runtime (the exporter is spawned on it).
pub fn init(settings: &TelemetrySettings) -> Result<TelemetryGuard, TelemetryError> {
    init_with_writer(settings, std::io::stdout)
}

/// [`init`] with another log destination (tests capture the lines).
pub fn init_with_writer<W>(
    settings: &TelemetrySettings,
    make_writer: W,
) -> Result<TelemetryGuard, TelemetryError>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_new(&settings.log_filter).map_err(|source| TelemetryError::Filter {
            filter: settings.log_filter.clone(),
            source,
        })?;
    let log_layer = match settings.log_format {
        LogFormat::Json => JsonLogLayer::new(make_writer).boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(make_writer)
            .boxed(),
    }
    .with_filter(EventFilter(filter));

    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    let provider = tracer_provider(settings)?;
    let tracer = provider.tracer("userhub");
    // Spans come from Userhub's own code; the exporter's transport
    // (tonic, hyper, h2) must never trace itself.
    let span_filter = Targets::new()
        .with_default(tracing::Level::INFO)
        .with_target("h2", tracing::level_filters::LevelFilter::OFF)
        .with_target("hyper", tracing::level_filters::LevelFilter::OFF)
        .with_target("hyper_util", tracing::level_filters::LevelFilter::OFF)
        .with_target("tonic", tracing::level_filters::LevelFilter::OFF)
        .with_target("tower", tracing::level_filters::LevelFilter::OFF)
        .with_target("opentelemetry", tracing::level_filters::LevelFilter::OFF)
        .with_target("sqlx", tracing::Level::WARN)
        // The access log line repeats the server span's attributes: not
        // worth exporting per request.
        .with_target("userhub::access", tracing::level_filters::LevelFilter::OFF);
    let otel_layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_tracked_inactivity(false)
        .with_threads(false)
        .with_location(false)
        .with_filter(span_filter);

    tracing_subscriber::registry()
        .with(log_layer)
        .with(otel_layer)
        .try_init()
        .map_err(TelemetryError::AlreadyInitialised)?;
    Ok(TelemetryGuard {
        provider: Some(provider),
    })
}

/// `RUST_LOG` decides which events are written; spans at INFO and above
/// always reach the log layer, so a line logged under a quieter filter still
/// carries its request's correlation ids.
struct EventFilter(EnvFilter);

impl<S> Filter<S> for EventFilter {
    fn enabled(&self, meta: &Metadata<'_>, cx: &tracing_subscriber::layer::Context<'_, S>) -> bool {
        if meta.is_span() {
            *meta.level() <= Level::INFO
        } else {
            Filter::<S>::enabled(&self.0, meta, cx)
        }
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if meta.is_span() {
            if *meta.level() <= Level::INFO {
                Interest::always()
            } else {
                Interest::never()
            }
        } else {
            Filter::<S>::callsite_enabled(&self.0, meta)
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Filter::<S>::max_level_hint(&self.0).map(|hint| hint.max(LevelFilter::INFO))
    }
}

fn tracer_provider(settings: &TelemetrySettings) -> Result<SdkTracerProvider, TelemetryError> {
    let resource = Resource::builder_empty()
        .with_service_name(settings.service_name.clone())
        .with_attributes(
            settings
                .resource_attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let mut builder = SdkTracerProvider::builder()
        .with_sampler(sampler(settings.sampler))
        .with_resource(resource);
    if let Some(otlp) = &settings.otlp {
        let exporter = exporter(otlp)?;
        builder = builder
            .with_span_processor(BatchSpanProcessor::builder(exporter, runtime::Tokio).build());
    }
    Ok(builder.build())
}

fn exporter(otlp: &OtlpSettings) -> Result<opentelemetry_otlp::SpanExporter, TelemetryError> {
    let built = match otlp.protocol {
        OtlpProtocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(otlp.endpoint.clone())
            .build(),
        OtlpProtocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(format!("{}/v1/traces", otlp.endpoint))
            .build(),
    };
    built.map_err(|source| TelemetryError::Exporter {
        endpoint: otlp.endpoint.clone(),
        source,
    })
}

fn sampler(setting: SamplerSetting) -> Sampler {
    match setting {
        SamplerSetting::AlwaysOn => Sampler::AlwaysOn,
        SamplerSetting::AlwaysOff => Sampler::AlwaysOff,
        SamplerSetting::TraceIdRatio(r) => Sampler::TraceIdRatioBased(r),
        SamplerSetting::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        SamplerSetting::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        SamplerSetting::ParentBasedTraceIdRatio(r) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use opentelemetry::trace::{
        Span as _, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
    };

    fn sampled(setting: SamplerSetting, parent: Option<TraceFlags>) -> bool {
        let provider = SdkTracerProvider::builder()
            .with_sampler(sampler(setting))
            .build();
        let tracer = provider.tracer("test");
        let cx = match parent {
            None => opentelemetry::Context::new(),
            Some(flags) => {
                opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
                    TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
                    SpanId::from_hex("00f067aa0ba902b7").unwrap(),
                    flags,
                    true,
                    TraceState::default(),
                ))
            }
        };
        let span = tracer.start_with_context("op", &cx);
        span.span_context().is_sampled()
    }

    #[test]
    fn parent_based_ratio_sampling_follows_the_caller() {
        let none = SamplerSetting::ParentBasedTraceIdRatio(0.0);
        let all = SamplerSetting::ParentBasedTraceIdRatio(1.0);
        assert!(!sampled(none, None), "ratio 0 samples no root span");
        assert!(sampled(all, None), "ratio 1 samples every root span");
        assert!(
            sampled(none, Some(TraceFlags::SAMPLED)),
            "sampled parent wins"
        );
        assert!(
            !sampled(all, Some(TraceFlags::default())),
            "unsampled parent wins"
        );
        assert!(!sampled(SamplerSetting::AlwaysOff, None));
        assert!(sampled(
            SamplerSetting::TraceIdRatio(1.0),
            Some(TraceFlags::default())
        ));
    }

    #[test]
    fn ratio_sampling_keeps_about_the_ratio() {
        let provider = SdkTracerProvider::builder()
            .with_sampler(sampler(SamplerSetting::TraceIdRatio(0.25)))
            .build();
        let tracer = provider.tracer("test");
        let kept = (0..4000)
            .filter(|_| tracer.start("op").span_context().is_sampled())
            .count();
        assert!(
            (800..1200).contains(&kept),
            "kept {kept} of 4000 at ratio 0.25"
        );
    }
}

//! Rendering the registry as OpenMetrics 1.0 or Prometheus text 0.0.4, chosen
//! by the scraper's `Accept` header.

use crate::metrics::Metrics;

pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    OpenMetrics,
    PrometheusText,
}

impl Format {
    /// OpenMetrics when the `Accept` header lists `application/openmetrics-text`
    /// with a non-zero quality, else Prometheus text.
    pub fn negotiate(accept: Option<&str>) -> Self {
        let Some(accept) = accept else {
            return Self::PrometheusText;
        };
        let wants_openmetrics = accept.split(',').any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            let q_zero = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            media.eq_ignore_ascii_case("application/openmetrics-text") && !q_zero
        });
        if wants_openmetrics {
            Self::OpenMetrics
        } else {
            Self::PrometheusText
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Self::PrometheusText => PROMETHEUS_CONTENT_TYPE,
        }
    }
}

impl Metrics {
    /// The current values in `format`.
    pub fn render(&self, format: Format) -> String {
        let mut openmetrics = String::with_capacity(16 * 1024);
        prometheus_client::encoding::text::encode(&mut openmetrics, self.registry())
            .expect("writing to a String cannot fail");
        match format {
            Format::OpenMetrics => openmetrics,
            Format::PrometheusText => openmetrics_to_prometheus(&openmetrics),
        }
    }
}

/// Prometheus text differs from OpenMetrics in: no `# EOF`, `# UNIT` or
/// exemplars, and a counter family is named with its `_total` suffix.
fn openmetrics_to_prometheus(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            // The encoder writes HELP directly before TYPE.
            let name = rest.split(' ').next().unwrap_or_default();
            let is_counter = lines
                .peek()
                .is_some_and(|next| *next == format!("# TYPE {name} counter"));
            if is_counter {
                let help = &rest[name.len()..];
                out.push_str(&format!(
                    "# HELP {name}_total{help}\n# TYPE {name}_total counter\n"
                ));
                lines.next();
                continue;
            }
        }
        let sample = match line.find(" # {") {
            Some(i) if !line.starts_with('#') => &line[..i],
            _ => line,
        };
        out.push_str(sample);
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_prefers_openmetrics_only_when_asked() {
        assert_eq!(Format::negotiate(None), Format::PrometheusText);
        assert_eq!(Format::negotiate(Some("*/*")), Format::PrometheusText);
        assert_eq!(
            Format::negotiate(Some("text/plain; version=0.0.4")),
            Format::PrometheusText
        );
        // What Prometheus 2.x/3.x sends.
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
            )),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0, text/plain")),
            Format::PrometheusText
        );
    }

    #[test]
    fn prometheus_text_renames_counters_and_drops_exemplars() {
        let om = "# HELP a_b Things.\n# TYPE a_b counter\na_b_total 3\n# HELP h Dur.\n# TYPE h histogram\nh_bucket{le=\"1.0\"} 1 # {trace_id=\"abc\"} 0.5\nh_sum 0.5\nh_count 1\n# EOF\n";
        assert_eq!(
            openmetrics_to_prometheus(om),
            "# HELP a_b_total Things.\n# TYPE a_b_total counter\na_b_total 3\n# HELP h Dur.\n# TYPE h histogram\nh_bucket{le=\"1.0\"} 1\nh_sum 0.5\nh_count 1\n"
        );
    }
}

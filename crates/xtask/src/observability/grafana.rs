//! Dashboard panel queries as Grafana sends them: the default time range,
//! `$__interval` from the range and the panel's width, `$__rate_interval`
//! from the data source's scrape interval, template variables substituted.

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

/// Width of the browser window the intervals assume (Full HD).
pub const SCREEN_WIDTH_PX: f64 = 1920.0;

/// One query target of one panel.
#[derive(Debug, Clone)]
pub struct PanelQuery {
    pub panel: String,
    pub ref_id: String,
    pub expr: String,
    /// Grafana runs it as an instant query (tables with `instant: true`).
    pub instant: bool,
    /// Panel width in grid columns (of 24).
    pub width_columns: f64,
    /// Jobs the panel says it covers (`Covers: a, b.` in its description).
    pub covers: Vec<String>,
}

/// The queries of every panel of `dashboard` (rows excluded).
pub fn panel_queries(dashboard: &Value) -> Result<Vec<PanelQuery>> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().context("no panels")? {
        if panel["type"] == "row" {
            continue;
        }
        let title = panel["title"].as_str().unwrap_or("?").to_owned();
        let covers = covers(panel["description"].as_str().unwrap_or_default())
            .with_context(|| format!("panel {title:?}"))?;
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push(PanelQuery {
                panel: title.clone(),
                ref_id: target["refId"].as_str().unwrap_or("?").to_owned(),
                expr: target["expr"]
                    .as_str()
                    .context("target without expr")?
                    .to_owned(),
                instant: target["instant"].as_bool().unwrap_or(false)
                    && !target["range"].as_bool().unwrap_or(false),
                width_columns: panel["gridPos"]["w"].as_f64().unwrap_or(24.0),
                covers: covers.clone(),
            });
        }
    }
    Ok(out)
}

/// The jobs after `Covers:` in a panel description.
pub fn covers(description: &str) -> Result<Vec<String>> {
    let Some(at) = description.find("Covers:") else {
        bail!("the description does not say which jobs the panel covers (`Covers: job, job.`)");
    };
    let rest = &description[at + "Covers:".len()..];
    let end = rest.find(['.', '(']).unwrap_or(rest.len());
    let jobs: Vec<String> = rest[..end]
        .split(',')
        .map(|j| j.trim().to_owned())
        .filter(|j| !j.is_empty())
        .collect();
    ensure!(!jobs.is_empty(), "`Covers:` lists no job");
    Ok(jobs)
}

/// Grafana's `kbn.roundInterval`: the "nice" interval near `seconds`.
pub fn round_interval(seconds: f64) -> f64 {
    let ms = seconds * 1000.0;
    let table: &[(f64, f64)] = &[
        (15.0, 10.0),
        (35.0, 20.0),
        (75.0, 50.0),
        (150.0, 100.0),
        (350.0, 200.0),
        (750.0, 500.0),
        (1_500.0, 1_000.0),
        (3_500.0, 2_000.0),
        (7_500.0, 5_000.0),
        (12_500.0, 10_000.0),
        (17_500.0, 15_000.0),
        (25_000.0, 20_000.0),
        (45_000.0, 30_000.0),
        (90_000.0, 60_000.0),
        (210_000.0, 120_000.0),
        (450_000.0, 300_000.0),
        (1_050_000.0, 600_000.0),
        (2_100_000.0, 1_200_000.0),
        (4_500_000.0, 1_800_000.0),
    ];
    for (below, value) in table {
        if ms < *below {
            return value / 1000.0;
        }
    }
    3600.0
}

/// `$__interval` for a panel `width_columns` wide over `range_seconds`, with
/// the data source's minimum interval (its `timeInterval`).
pub fn interval(range_seconds: f64, width_columns: f64, min_interval: f64) -> f64 {
    let width_px = (SCREEN_WIDTH_PX * width_columns / 24.0).max(1.0);
    round_interval(range_seconds / width_px).max(min_interval)
}

/// `$__rate_interval` = max(`$__interval` + scrape interval, 4 × scrape interval).
pub fn rate_interval(interval: f64, scrape_interval: f64) -> f64 {
    (interval + scrape_interval).max(4.0 * scrape_interval)
}

/// A duration in Prometheus syntax (`15s`, `1m`, `90s`).
pub fn duration(seconds: f64) -> String {
    let whole = seconds.round() as u64;
    if whole >= 60 && whole.is_multiple_of(60) {
        format!("{}m", whole / 60)
    } else {
        format!("{whole}s")
    }
}

/// Parses `15s`, `1m`, `2h`, `1d` (one unit).
pub fn parse_duration(text: &str) -> Result<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .with_context(|| format!("duration {text:?} has no unit"))?;
    let number: f64 = text[..split]
        .parse()
        .with_context(|| format!("duration {text:?}"))?;
    let unit = match &text[split..] {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        "w" => 604800.0,
        other => bail!("unknown duration unit {other:?} in {text:?}"),
    };
    Ok(number * unit)
}

/// The dashboard's default range in seconds (`time.from` = `now-3h`, `to` = `now`).
pub fn default_range(dashboard: &Value) -> Result<f64> {
    let from = dashboard["time"]["from"].as_str().context("no time.from")?;
    let to = dashboard["time"]["to"].as_str().context("no time.to")?;
    ensure!(to == "now", "time.to is {to:?}, expected now");
    let ago = from
        .strip_prefix("now-")
        .with_context(|| format!("time.from {from:?} is not now-<duration>"))?;
    parse_duration(ago)
}

/// Substitutes Grafana's variables in `expr` as the Prometheus data source
/// does for a single selected value of a multi-value variable.
pub fn interpolate(
    expr: &str,
    variables: &[(&str, String)],
    interval: f64,
    rate_interval: f64,
) -> String {
    let mut out = expr
        .replace("${__rate_interval}", &duration(rate_interval))
        .replace("$__rate_interval", &duration(rate_interval))
        .replace("${__interval}", &duration(interval))
        .replace("$__interval_ms", &format!("{}", (interval * 1000.0) as u64))
        .replace("$__interval", &duration(interval));
    for (name, value) in variables {
        let escaped = regex_escape(value);
        out = out
            .replace(&format!("${{{name}}}"), &escaped)
            .replace(&format!("${name}"), &escaped);
    }
    out
}

/// Grafana's `prometheusSpecialRegexEscape`.
fn regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "$^*{}[]'+?.()|\\".contains(c) {
            out.push('\\');
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_follow_grafana() {
        // 3 h on a half-width panel of a 1920 px screen: 11.25 s -> 10 s, raised to the 15 s minimum.
        assert_eq!(interval(3.0 * 3600.0, 12.0, 15.0), 15.0);
        // A third of the screen: 16.9 s -> 15 s.
        assert_eq!(interval(3.0 * 3600.0, 8.0, 15.0), 15.0);
        // A quarter: 22.5 s -> 20 s.
        assert_eq!(interval(3.0 * 3600.0, 6.0, 15.0), 20.0);
        assert_eq!(rate_interval(15.0, 15.0), 60.0);
        assert_eq!(rate_interval(60.0, 15.0), 75.0);
        assert_eq!(duration(60.0), "1m");
        assert_eq!(duration(75.0), "75s");
    }

    #[test]
    fn variables_are_substituted() {
        let expr = r#"rate(x{job=~"$job"}[$__rate_interval]) + increase(y[$__interval])"#;
        let out = interpolate(expr, &[("job", "userhub-api".to_owned())], 15.0, 60.0);
        assert_eq!(out, r#"rate(x{job=~"userhub-api"}[1m]) + increase(y[15s])"#);
    }

    #[test]
    fn covers_is_parsed() {
        assert_eq!(
            covers("Rate. Covers: userhub-api, userhub-web.").expect("covers"),
            ["userhub-api", "userhub-web"]
        );
        assert_eq!(
            covers("Pool. Covers: userhub-api (the web has none).").expect("covers"),
            ["userhub-api"]
        );
        assert!(covers("No claim").is_err());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("15s").expect("15s"), 15.0);
        assert_eq!(parse_duration("3h").expect("3h"), 10800.0);
        assert!(parse_duration("3").is_err());
    }
}

//! The metric names a PromQL expression reads (a small lexer, enough for
//! rules and dashboard queries: no need to evaluate, only to name).

use std::collections::BTreeSet;

/// Clauses followed by a label list: `by (a, b)` and friends.
const GROUPINGS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];
/// Words that are never metric names: the groupings and these.
const KEYWORDS: &[&str] = &[
    "and", "or", "unless", "bool", "offset", "inf", "nan", "atan2",
];

fn is_keyword(lower: &str) -> bool {
    KEYWORDS.contains(&lower) || GROUPINGS.contains(&lower)
}

/// Metric names in `expr` (recording-rule names included).
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let text = strip(expr);
    let chars: Vec<char> = text.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            // A number (possibly 1e-3 or a duration): skip its characters.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            let is_call = j < chars.len() && chars[j] == '(';
            let lower = word.to_ascii_lowercase();
            let preceded_by_dollar = start > 0 && chars[start - 1] == '$';
            if !is_call && !preceded_by_dollar && !is_keyword(&lower) {
                names.insert(word);
            }
            continue;
        }
        i += 1;
    }
    names
}

/// Removes string literals, label matchers, ranges and grouping clauses.
fn strip(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut chars = expr.chars().peekable();
    let mut depth_brace = 0usize;
    let mut depth_bracket = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' if depth_brace == 0 => {
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                }
            }
            '"' | '\'' | '`' => {
                let quote = c;
                let mut escaped = false;
                for d in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == quote {
                        break;
                    }
                }
            }
            '{' => depth_brace += 1,
            '}' => depth_brace = depth_brace.saturating_sub(1),
            '[' => depth_bracket += 1,
            ']' => depth_bracket = depth_bracket.saturating_sub(1),
            _ if depth_brace > 0 || depth_bracket > 0 => {}
            _ => out.push(c),
        }
    }
    // Grouping clauses: `by (a, b)` and friends.
    let mut result = String::with_capacity(out.len());
    let mut rest = out.as_str();
    'outer: while !rest.is_empty() {
        for g in GROUPINGS {
            if let Some(after) = strip_word(rest, g) {
                let trimmed = after.trim_start();
                if let Some(inner) = trimmed.strip_prefix('(')
                    && let Some(close) = inner.find(')')
                {
                    result.push(' ');
                    rest = &inner[close + 1..];
                    continue 'outer;
                }
            }
        }
        let mut it = rest.chars();
        if let Some(c) = it.next() {
            result.push(c);
        }
        rest = it.as_str();
    }
    result
}

/// `text` after `word` when it starts with `word` as a whole word.
fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let after = text.strip_prefix(word)?;
    match after.chars().next() {
        Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == ':' => None,
        _ => Some(after),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(expr: &str) -> Vec<String> {
        metric_names(expr).into_iter().collect()
    }

    #[test]
    fn finds_metrics_not_functions_labels_or_keywords() {
        assert_eq!(
            names(
                r#"histogram_quantile(0.95, sum by (le, http_route) (rate(http_server_request_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))"#
            ),
            ["http_server_request_duration_seconds_bucket"]
        );
        assert_eq!(
            names(
                "(userhub:a:ratio_rate1h > (14.4 * 0.001) and userhub:a:ratio_rate5m > 1e-3) or on(job) up == 0"
            ),
            ["up", "userhub:a:ratio_rate1h", "userhub:a:ratio_rate5m"]
        );
        assert_eq!(
            names(
                r#"sum(x_total{a="b"}) by (job) / ignoring(le) group_left(instance) y offset 5m"#
            ),
            ["x_total", "y"]
        );
        assert_eq!(
            names("time() - process_start_time_seconds{job=~\"$job\"}"),
            ["process_start_time_seconds"]
        );
    }
}

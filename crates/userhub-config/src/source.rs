//! Where raw configuration values come from, in precedence order.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use crate::ConfigError;

/// Raw key/value configuration: environment over file.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    env: HashMap<String, String>,
    file: HashMap<String, String>,
}

const PREFIX: &str = "USERHUB_";

impl ConfigSource {
    /// Reads the process environment and, if given, a TOML file.
    pub fn from_env_and_file(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env = std::env::vars().collect();
        let file = match file {
            Some(path) => read_file(path)?,
            None => HashMap::new(),
        };
        Ok(Self { env, file })
    }

    /// A source from explicit pairs (tests, embedding).
    pub fn from_pairs<'a>(env: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            env: env
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            file: HashMap::new(),
        }
    }

    /// Adds file values from TOML text (lower precedence than the environment).
    pub fn with_file_text(mut self, text: &str) -> Result<Self, ConfigError> {
        self.file = parse_toml(text, "config file")?;
        Ok(self)
    }

    /// The raw value of `var`: from the environment, else the file. Empty
    /// environment values count as unset, as in the reference's `.env` files.
    pub fn raw(&self, var: &str) -> Option<&str> {
        if let Some(v) = self.env.get(var).filter(|v| !v.is_empty()) {
            return Some(v.as_str());
        }
        self.file.get(&file_key(var)).map(String::as_str)
    }

    /// The first set variable among `vars` (an alias list), with its name.
    pub fn raw_any<'a>(&'a self, vars: &[&'a str]) -> Option<(&'a str, &'a str)> {
        vars.iter().find_map(|v| self.raw(v).map(|val| (*v, val)))
    }

    pub fn string(&self, var: &str) -> Option<String> {
        self.raw(var).map(str::to_owned)
    }

    /// Parses `var` with `FromStr`, or returns `default` when unset.
    pub fn parse_or<T: FromStr>(
        &self,
        var: &str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.raw(var) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|_| ConfigError::new(var, format!("expected {expected}, got {raw:?}"))),
        }
    }

    /// Parses a boolean (`true/false/1/0/yes/no/on/off`), or `default`.
    pub fn bool_or(&self, var: &str, default: bool) -> Result<bool, ConfigError> {
        match self.raw(var).map(|s| s.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) => match v.as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(ConfigError::new(
                    var,
                    format!("expected true or false, got {v:?}"),
                )),
            },
        }
    }

    /// A positive number of seconds (fractions allowed), or `default`.
    pub fn secs_or(&self, var: &str, default: Duration) -> Result<Duration, ConfigError> {
        let v: f64 = self.parse_or(var, default.as_secs_f64(), "a number of seconds")?;
        if !(v > 0.0 && v.is_finite()) {
            return Err(ConfigError::new(
                var,
                "must be a positive number of seconds",
            ));
        }
        Ok(Duration::from_secs_f64(v))
    }

    /// A number of seconds that may be zero; `None` when unset.
    pub fn optional_secs(&self, var: &str) -> Result<Option<Duration>, ConfigError> {
        let Some(raw) = self.raw(var) else {
            return Ok(None);
        };
        match raw.trim().parse::<f64>() {
            Ok(v) if v >= 0.0 && v.is_finite() => Ok(Some(Duration::from_secs_f64(v))),
            _ => Err(ConfigError::new(
                var,
                format!("expected a number of seconds (0 or more), got {raw:?}"),
            )),
        }
    }

    /// A whole number of at least 1, or `default`.
    pub fn positive_or(&self, var: &str, default: usize) -> Result<usize, ConfigError> {
        let v: usize = self.parse_or(var, default, "a positive whole number")?;
        if v == 0 {
            return Err(ConfigError::new(var, "must be at least 1"));
        }
        Ok(v)
    }

    /// A comma-separated (or JSON array) list.
    pub fn list(&self, var: &str) -> Vec<String> {
        let Some(raw) = self.raw(var) else {
            return Vec::new();
        };
        let trimmed = raw.trim();
        let inner = trimmed
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(trimmed);
        inner
            .split(',')
            .map(|s| s.trim().trim_matches('"').trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

fn file_key(var: &str) -> String {
    var.strip_prefix(PREFIX).unwrap_or(var).to_ascii_lowercase()
}

fn read_file(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new(
            "USERHUB_CONFIG",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    parse_toml(&text, &path.display().to_string())
}

fn parse_toml(text: &str, origin: &str) -> Result<HashMap<String, String>, ConfigError> {
    let table: toml::Table = text.parse().map_err(|e| {
        ConfigError::new("USERHUB_CONFIG", format!("{origin} is not valid TOML: {e}"))
    })?;
    let mut out = HashMap::new();
    for (key, value) in table {
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Array(items) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect::<Vec<_>>()
                .join(","),
            toml::Value::Table(_) => {
                return Err(ConfigError::new(
                    "USERHUB_CONFIG",
                    format!("{origin}: key {key:?}: nested tables are not supported"),
                ));
            }
            other => other.to_string(),
        };
        out.insert(key.to_ascii_lowercase(), text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file_and_file_overrides_default() {
        let src = ConfigSource::from_pairs([("SMTP_PORT", "2525"), ("USERHUB_BIND", "")])
            .with_file_text("smtp_port = 25\nbind = \"127.0.0.1:9\"\nproject_name = \"X\"\n")
            .unwrap();
        assert_eq!(src.parse_or("SMTP_PORT", 587u16, "a port").unwrap(), 2525);
        assert_eq!(src.raw("USERHUB_BIND"), Some("127.0.0.1:9"));
        assert_eq!(src.raw("PROJECT_NAME"), Some("X"));
        assert_eq!(
            src.parse_or("EMAIL_RESET_TOKEN_EXPIRE_HOURS", 48i64, "hours")
                .unwrap(),
            48
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let src = ConfigSource::from_pairs([("SMTP_PORT", "abc"), ("SMTP_TLS", "maybe")]);
        assert_eq!(
            src.parse_or("SMTP_PORT", 587u16, "a port").unwrap_err().var,
            "SMTP_PORT"
        );
        assert_eq!(src.bool_or("SMTP_TLS", true).unwrap_err().var, "SMTP_TLS");
    }

    #[test]
    fn lists_accept_commas_and_json() {
        let src = ConfigSource::from_pairs([
            ("A", "http://a, http://b"),
            ("B", r#"["http://c","http://d"]"#),
        ]);
        assert_eq!(src.list("A"), ["http://a", "http://b"]);
        assert_eq!(src.list("B"), ["http://c", "http://d"]);
    }
}

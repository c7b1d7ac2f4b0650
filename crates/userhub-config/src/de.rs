//! How one configuration value is read: every value arrives as text (an
//! environment variable) or as a TOML value (the file), is turned into text
//! here and parsed with the message the operator sees. Each function is a
//! `deserialize_with` of one field kind; the variable's name is added by
//! [`crate::layers`] from the field's key.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::secret::Secret;

/// A value as text: strings as they are, numbers and booleans printed, a
/// list joined with commas (the file's `["a", "b"]` is the variable's `a,b`).
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor).map(Text)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, number, boolean or list")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
        let mut items = Vec::new();
        while let Some(Text(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(items.join(","))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(de::Error::custom("nested tables are not supported"))
    }
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Text::deserialize(d).map(|Text(t)| t)
}

/// `raw` parsed with `FromStr` (surrounding space ignored), or "expected
/// `expected`, got `raw`".
fn parse<T: FromStr, E: de::Error>(raw: &str, expected: &str) -> Result<T, E> {
    raw.trim()
        .parse()
        .map_err(|_| E::custom(format!("expected {expected}, got {raw:?}")))
}

/// A comma-separated (or JSON array) list.
fn split(raw: &str) -> Vec<String> {
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

pub fn plain<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    text(d)
}

pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    text(d).map(Some)
}

pub fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    text(d).map(|t| Some(Secret::from(t)))
}

pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    text(d).map(|t| split(&t))
}

pub fn secret_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Secret>, D::Error> {
    text(d).map(|t| split(&t).into_iter().map(Secret::from).collect())
}

/// Trailing slashes removed (`FRONTEND_HOST`).
pub fn origin<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    text(d).map(|t| t.trim_end_matches('/').to_owned())
}

pub fn ip_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpAddr>, D::Error> {
    split(&text(d)?)
        .iter()
        .map(|s| {
            s.parse()
                .map_err(|_| de::Error::custom(format!("expected IP addresses, got {s:?}")))
        })
        .collect()
}

/// `true/false/1/0/yes/no/on/off`, any case.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = text(d)?.trim().to_ascii_lowercase();
    match v.as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(de::Error::custom(format!(
            "expected true or false, got {v:?}"
        ))),
    }
}

pub fn optional_flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    flag(d).map(Some)
}

/// A positive number of seconds (fractions allowed).
pub fn secs<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v: f64 = parse(&text(d)?, "a number of seconds")?;
    if !(v > 0.0 && v.is_finite()) {
        return Err(de::Error::custom("must be a positive number of seconds"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// A number of seconds that may be zero.
pub fn optional_secs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let raw = text(d)?;
    match raw.trim().parse::<f64>() {
        Ok(v) if v >= 0.0 && v.is_finite() => Ok(Some(Duration::from_secs_f64(v))),
        _ => Err(de::Error::custom(format!(
            "expected a number of seconds (0 or more), got {raw:?}"
        ))),
    }
}

/// A whole number of at least 1.
pub fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let v: usize = parse(&text(d)?, "a positive whole number")?;
    if v == 0 {
        return Err(de::Error::custom("must be at least 1"));
    }
    Ok(v)
}

pub fn optional_positive<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    positive(d).map(Some)
}

/// A positive whole number that fits 32 bits (pool size, rate limits).
pub fn positive_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    Ok(positive(d)? as u32)
}

pub fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    parse(&text(d)?, "a port number")
}

pub fn bytes<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    parse(&text(d)?, "a number of bytes")
}

pub fn whole_number<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    parse(&text(d)?, "a whole number")
}

/// A positive, finite number (a rate).
pub fn positive_number<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v: f64 = parse(&text(d)?, "a number")?;
    if !(v > 0.0 && v.is_finite()) {
        return Err(de::Error::custom("must be a positive number"));
    }
    Ok(v)
}

pub fn ratio<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let r: f64 = parse(&text(d)?, "a ratio between 0 and 1")?;
    if !(0.0..=1.0).contains(&r) {
        return Err(de::Error::custom(format!(
            "expected a ratio between 0 and 1, got {r}"
        )));
    }
    Ok(Some(r))
}

pub fn listen_address<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    parse(&text(d)?, "an address like 0.0.0.0:8000").map(Some)
}

pub fn admin_address<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    parse(&text(d)?, "a socket address such as 0.0.0.0:9464").map(Some)
}
